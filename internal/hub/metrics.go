package hub

import (
	"sync/atomic"

	"github.com/sockudo-go/sockudo/internal/protocol"
)

// Channel types, by the names of Sockudo's channel_type metric label.
const (
	chanPublic = iota
	chanPrivate
	chanPresence
	chanEncrypted
	chanCache
	numChanTypes
)

// ChannelTypes are the channel_type label values, in index order.
var ChannelTypes = [numChanTypes]string{"public", "private", "presence", "private_encrypted", "cache"}

// chanType maps a channel's kind to its metric type; cache channels are
// "cache" whatever their access type, as in Sockudo.
func chanType(k protocol.Channel) int {
	switch {
	case k.Cache:
		return chanCache
	case k.Kind == protocol.Private:
		return chanPrivate
	case k.Kind == protocol.Presence:
		return chanPresence
	case k.Kind == protocol.Encrypted:
		return chanEncrypted
	}
	return chanPublic
}

// Connection error types, by the names of Sockudo's error_type label
// where Sockudo has the same error.
const (
	errAppNotFound = iota
	errAppLookup
	errBadProtocol
	errAppDisabled
	errOrigin
	errOverCapacity
	errOverQuota
	errRefused
	errInvalidMessage
	errTooLarge
	errAuth
	errTooManyErrors
	numErrTypes
)

// NumPreAppErrors is the number of ErrorTypes, first in the list, that
// happen before the app is known and that Errors counts.
const NumPreAppErrors = errBadProtocol + 1

// ErrorTypes are the error_type label values, in index order.
var ErrorTypes = [numErrTypes]string{
	"app_not_found", "app_validation_failed", "unsupported_protocol",
	"app_disabled", "origin_not_allowed", "over_capacity", "over_quota", "connection_refused",
	"invalid_message_format", "message_too_large", "authentication_failed", "too_many_errors",
}

// Per-socket rate limiters, by the names of Sockudo's limiter_type label.
const (
	limitMessages = iota // the inbound frame and byte budget
	limitClientEvents
	limitSubscribe
	numLimiters
)

// Limiters are the limiter_type label values of the per-socket limits.
var Limiters = [numLimiters]string{"messages", "client_events", "subscribe"}

// appMetrics are an app's counters beyond those of appState: plain
// atomics added to once per frame, batch or event.
type appMetrics struct {
	bytesIn, bytesOut, framesOut atomic.Uint64
	subs, unsubs                 [numChanTypes]atomic.Uint64
	active                       [numChanTypes]atomic.Int64 // occupied channels
	errs                         [numErrTypes]atomic.Uint64
	checks, limited              [numLimiters]atomic.Uint64
	apiCalls, apiIn, apiOut      atomic.Uint64
}

// Metrics are one app's counters by label, indexed as ChannelTypes,
// ErrorTypes and Limiters.
type Metrics struct {
	BytesReceived, BytesSent, FramesSent uint64
	Subscriptions, Unsubscriptions       [numChanTypes]uint64
	ActiveChannels                       [numChanTypes]int
	Errors                               [numErrTypes]uint64
	RateLimitChecks, RateLimited         [numLimiters]uint64
	APICalls, APIBytesIn, APIBytesOut    uint64
}

func (m *appMetrics) snapshot() Metrics {
	out := Metrics{
		BytesReceived: m.bytesIn.Load(), BytesSent: m.bytesOut.Load(), FramesSent: m.framesOut.Load(),
		APICalls: m.apiCalls.Load(), APIBytesIn: m.apiIn.Load(), APIBytesOut: m.apiOut.Load(),
	}
	for i := range numChanTypes {
		out.Subscriptions[i], out.Unsubscriptions[i] = m.subs[i].Load(), m.unsubs[i].Load()
		out.ActiveChannels[i] = int(m.active[i].Load())
	}
	for i := range numErrTypes {
		out.Errors[i] = m.errs[i].Load()
	}
	for i := range numLimiters {
		out.RateLimitChecks[i], out.RateLimited[i] = m.checks[i].Load(), m.limited[i].Load()
	}
	return out
}

// AppMetrics returns the labelled counters of the app with the given id.
func (h *Hub) AppMetrics(appID string) Metrics {
	a := h.lookupApp(appID)
	if a == nil {
		return Metrics{}
	}
	return a.m.snapshot()
}

// Errors returns the connection errors that happened before the app was
// known (unknown key, app store failure, bad protocol), by ErrorTypes.
func (h *Hub) Errors() [numErrTypes]uint64 {
	var out [numErrTypes]uint64
	for i := range numErrTypes {
		out[i] = h.errs[i].Load()
	}
	return out
}

// CountAPICall records an authenticated HTTP API call of the app: body
// bytes read and response bytes written.
func (h *Hub) CountAPICall(appID string, in, out int) {
	m := &h.app(appID).m
	m.apiCalls.Add(1)
	m.apiIn.Add(uint64(in))
	m.apiOut.Add(uint64(out))
}

// checkLimit counts a decision of a per-socket limiter.
func (c *Conn) checkLimit(limiter int, allowed bool) bool {
	c.state.m.checks[limiter].Add(1)
	if !allowed {
		c.state.m.limited[limiter].Add(1)
	}
	return allowed
}

// countError counts a connection error of the socket's app.
func (c *Conn) countError(typ int) { c.state.m.errs[typ].Add(1) }

// countSent counts frames and bytes the writer wrote, once per batch.
func (c *Conn) countSent(frames, bytes int) {
	if frames > 0 {
		c.state.m.framesOut.Add(uint64(frames))
		c.state.m.bytesOut.Add(uint64(bytes))
	}
}

package sockudo

import "github.com/sockudo-go/sockudo/internal/hub"

// Stats is a snapshot of a server's counters and gauges, cheap to take:
// the server keeps them as atomics and a metrics exporter reads them at
// scrape time.
type Stats struct {
	// Connections is the number of open sockets.
	Connections int
	// Apps holds per-app figures for every app that has had a socket, a
	// refused connection or an HTTP API call.
	Apps map[string]AppStats
	// RateLimiterErrors counts rate limit decisions the limiter's backend
	// could not make, answered by the fail-open or fail-closed policy.
	RateLimiterErrors uint64
	// ConnectionErrors counts, by error type, connections refused before
	// their app was known: "app_not_found", "app_validation_failed" (the
	// app store failed) and "unsupported_protocol". Every known type is
	// present, zeros included.
	ConnectionErrors map[string]uint64
	// RateLimitChecks and RateLimitTriggered count the decisions and the
	// refusals of the per-IP limits (WithAPIRateLimit, WithWSRateLimit):
	// limiters "api_rate_limit" (context "http_api") and
	// "websocket_rate_limit" (context "websocket_upgrade").
	RateLimitChecks, RateLimitTriggered map[Limiter]uint64
}

// Limiter names a rate limit in Stats: Sockudo's limiter_type and
// request_context metric labels.
type Limiter struct {
	Type, Context string
}

// AppStats are one app's figures on this server.
type AppStats struct {
	// Connections, Channels and Users are gauges: open sockets, occupied
	// channels and signed-in users.
	Connections, Channels, Users int
	// The rest are counters since the server started: sockets opened and
	// closed, client messages received, messages queued to sockets, and
	// events published through the HTTP or Go API.
	Connected, Disconnected, MessagesReceived, MessagesDelivered, EventsPublished uint64
	// MessagesDropped counts messages refused by full outbound queues
	// (DropMessages policy); SlowConsumersClosed counts sockets closed
	// with 4100 for a full queue (CloseSlowConsumer policy).
	MessagesDropped, SlowConsumersClosed uint64

	// BytesReceived counts the payload bytes of the WebSocket messages
	// read from clients. MessagesSent and BytesSent count the messages
	// (every one: replies, errors, broadcasts) and their payload bytes
	// written to clients.
	BytesReceived, MessagesSent, BytesSent uint64
	// ChannelsByType splits Channels by Sockudo's channel types: "public",
	// "private", "presence", "private_encrypted" and "cache" (any cache
	// channel). Subscriptions and Unsubscriptions count sockets joining
	// and leaving channels (a disconnect leaves each of its channels), by
	// the same types; resubscribes are not counted. Every type is present.
	ChannelsByType                 map[string]int
	Subscriptions, Unsubscriptions map[string]uint64
	// ConnectionErrors counts refused connections and protocol errors of
	// the app by type (Sockudo's error_type label); every type is present.
	ConnectionErrors map[string]uint64
	// RateLimitChecks and RateLimitTriggered count the decisions and the
	// refusals of the per-socket limits: "messages" (the inbound budget,
	// when set), "client_events" and "subscribe", context "websocket".
	RateLimitChecks, RateLimitTriggered map[Limiter]uint64
	// APICalls counts the HTTP API calls whose signature checked, and
	// APIBytesReceived and APIBytesSent their body and response bytes.
	APICalls, APIBytesReceived, APIBytesSent uint64
}

// Stats returns a snapshot of the server's figures.
func (s *Server) Stats() Stats {
	st := Stats{Connections: s.hub.Connections(), Apps: make(map[string]AppStats)}
	st.RateLimiterErrors = s.limiter.Stats().Errors
	st.ConnectionErrors = make(map[string]uint64)
	errs := s.hub.Errors()
	for i, t := range hub.ErrorTypes[:hub.NumPreAppErrors] {
		st.ConnectionErrors[t] = errs[i]
	}
	st.RateLimitChecks, st.RateLimitTriggered = s.ruleStats()
	for _, id := range s.hub.AppIDs() {
		a := s.hub.AppStats(id)
		m := s.hub.AppMetrics(id)
		as := AppStats{
			Connections: a.Connections, Channels: a.Channels, Users: a.Users,
			Connected: a.Connected, Disconnected: a.Disconnected,
			MessagesReceived: a.Received, MessagesDelivered: a.Delivered, EventsPublished: a.Published,
			MessagesDropped: a.Dropped, SlowConsumersClosed: a.SlowClosed,

			BytesReceived: m.BytesReceived, MessagesSent: m.FramesSent, BytesSent: m.BytesSent,
			ChannelsByType: make(map[string]int, len(hub.ChannelTypes)),
			Subscriptions:  make(map[string]uint64, len(hub.ChannelTypes)), Unsubscriptions: make(map[string]uint64, len(hub.ChannelTypes)),
			ConnectionErrors: make(map[string]uint64, len(hub.ErrorTypes)),
			RateLimitChecks:  make(map[Limiter]uint64, len(hub.Limiters)), RateLimitTriggered: make(map[Limiter]uint64, len(hub.Limiters)),
			APICalls: m.APICalls, APIBytesReceived: m.APIBytesIn, APIBytesSent: m.APIBytesOut,
		}
		for i, t := range hub.ChannelTypes {
			as.ChannelsByType[t] = m.ActiveChannels[i]
			as.Subscriptions[t], as.Unsubscriptions[t] = m.Subscriptions[i], m.Unsubscriptions[i]
		}
		for i, t := range hub.ErrorTypes {
			as.ConnectionErrors[t] = m.Errors[i]
		}
		for i, t := range hub.Limiters {
			k := Limiter{Type: t, Context: "websocket"}
			as.RateLimitChecks[k], as.RateLimitTriggered[k] = m.RateLimitChecks[i], m.RateLimited[i]
		}
		st.Apps[id] = as
	}
	return st
}

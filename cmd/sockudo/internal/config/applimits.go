package config

import (
	"fmt"
	"log/slog"
	"strconv"

	"github.com/sockudo-go/sockudo/appmanager"
)

// HTTPAPI is the "http_api" section.
type HTTPAPI struct {
	// RequestLimitInMB bounds an HTTP API request body, in MiB: the
	// server-wide cap that also bounds the event payloads, channel lists and
	// batches that an app leaves unchecked (see EffectiveApp).
	RequestLimitInMB int `json:"request_limit_in_mb"`
}

func defaultHTTPAPIConfig() HTTPAPI { return HTTPAPI{RequestLimitInMB: 10} } // Sockudo's

// MaxBodyBytes is the HTTP API body cap in bytes.
func (c *Config) MaxBodyBytes() int64 { return int64(c.HTTPAPI.RequestLimitInMB) << 20 }

// MaxMessageBytes is the WebSocket message cap in bytes
// (websocket_max_payload_kb).
func (c *Config) MaxMessageBytes() int { return c.WebsocketMaxPayloadKB << 10 }

// The library's own defaults for limits an app leaves unset, which this
// server keeps because an unbounded value would let one client hurt others
// or which equal Sockudo's (see sockudo's internal/protocol limits).
const (
	defaultChannelNameLength = 200 // Sockudo's and Pusher's
	defaultEventNameLength   = 200 // Sockudo's and Pusher's
	defaultMemberSizeInKB    = 2   // a presence member's JSON; Sockudo leaves it unchecked
)

// EffectiveApp returns a copy of a with the limits that Sockudo leaves
// unchecked when unset (null in a table, absent in JSON, 0 here) opened up
// as Sockudo has them: presence members per channel, channels per event
// and batch size become appmanager.MaxLimit, and the event payload becomes
// the larger of the HTTP body and WebSocket message caps, which bound it
// anyway. The library would otherwise apply Pusher's limits (100 members,
// 100 channels, batches of 10, 10 KB payloads).
//
// Limits where an unset value would let one client hurt others keep the
// server's safe defaults: client events per second
// (event_limits.max_client_events_per_second), a presence member's
// user_info (2 KB) and channels per connection
// (channel_limits.max_channels_per_connection). Channel and event name
// lengths keep 200, which is also Sockudo's default.
func (c *Config) EffectiveApp(a *appmanager.App) *appmanager.App {
	e := a.Clone()
	open := func(v *int, to int) {
		if *v == 0 {
			*v = to
		}
	}
	open(&e.MaxPresenceMembersPerChannel, appmanager.MaxLimit)
	open(&e.MaxEventChannelsAtOnce, appmanager.MaxLimit)
	open(&e.MaxEventBatchSize, appmanager.MaxLimit)
	open(&e.MaxEventPayloadInKB, c.uncheckedPayloadKB())
	return e
}

func (c *Config) uncheckedPayloadKB() int {
	kb := c.HTTPAPI.RequestLimitInMB << 10
	if c.WebsocketMaxPayloadKB > kb {
		kb = c.WebsocketMaxPayloadKB
	}
	if kb > appmanager.MaxLimit {
		kb = appmanager.MaxLimit
	}
	return kb
}

// LimitAttrs describes the limits the server applies to a (as given, before
// EffectiveApp) for the startup log: a number, "unlimited", or "unchecked"
// with the server-wide cap that still applies.
func (c *Config) LimitAttrs(a *appmanager.App) []slog.Attr {
	n := strconv.Itoa
	or := func(v int, unset string) string {
		if v > 0 {
			return n(v)
		}
		return unset
	}
	clientEvents := "unlimited"
	if r := c.EventLimits.MaxClientEventsPerSecond; r > 0 {
		clientEvents = n(r) + " (event_limits default)"
	}
	body := "unchecked (HTTP body <= " + n(c.HTTPAPI.RequestLimitInMB) + " MB, WebSocket message <= " + n(c.WebsocketMaxPayloadKB) + " KB)"
	return []slog.Attr{
		slog.String("app_id", a.ID),
		slog.Bool("enabled", a.Enabled),
		slog.String("max_connections", or(a.MaxConnections, "unlimited")),
		slog.String("max_client_events_per_second", or(a.MaxClientEventsPerSecond, clientEvents)),
		slog.String("max_presence_members_per_channel", or(a.MaxPresenceMembersPerChannel, "unchecked")),
		slog.String("max_presence_member_size_in_kb", or(a.MaxPresenceMemberSizeInKB, n(defaultMemberSizeInKB)+" (default)")),
		slog.String("max_channel_name_length", or(a.MaxChannelNameLength, n(defaultChannelNameLength))),
		slog.String("max_event_name_length", or(a.MaxEventNameLength, n(defaultEventNameLength))),
		slog.String("max_event_channels_at_once", or(a.MaxEventChannelsAtOnce, "unchecked")),
		slog.String("max_event_payload_in_kb", or(a.MaxEventPayloadInKB, body)),
		slog.String("max_event_batch_size", or(a.MaxEventBatchSize, "unchecked")),
		slog.Int("max_channels_per_connection", c.ChannelLimits.MaxChannelsPerConnection),
	}
}

// validateLimits checks the server-wide caps.
func (c *Config) validateLimits() error {
	switch {
	case c.HTTPAPI.RequestLimitInMB < 1:
		return errNotPositive("http_api.request_limit_in_mb", c.HTTPAPI.RequestLimitInMB)
	case c.WebsocketMaxPayloadKB < 1:
		return errNotPositive("websocket_max_payload_kb (WEBSOCKET_MAX_PAYLOAD_KB)", c.WebsocketMaxPayloadKB)
	}
	return nil
}

func errNotPositive(name string, v int) error {
	return fmt.Errorf("%s %d is not positive", name, v)
}

package config

import "github.com/sockudo-go/sockudo"

// ChannelLimits is the "channel_limits" section's caps on what one
// connection may hold and what a listing may return. Sockudo's own keys of
// the section (max_name_length, cache_ttl) are per app here.
type ChannelLimits struct {
	// MaxChannelsPerConnection bounds one socket's subscriptions.
	MaxChannelsPerConnection int `json:"max_channels_per_connection"`
	// MaxSubscriptionsPerSecond is the subscribes per second one socket
	// may sustain (its burst is MaxChannelsPerConnection).
	MaxSubscriptionsPerSecond int `json:"max_subscriptions_per_second"`
	// MaxChannelsListed bounds GET /apps/{id}/channels.
	MaxChannelsListed int `json:"max_channels_listed"`
}

// EventLimits is the "event_limits" section's server-wide defaults.
// Sockudo's own keys of the section are per app here.
type EventLimits struct {
	// MaxClientEventsPerSecond applies per socket to apps whose
	// max_client_events_per_second is 0; 0 here means unlimited.
	MaxClientEventsPerSecond int `json:"max_client_events_per_second"`
}

// The library's defaults (see sockudo.WithMaxChannelsPerConnection and the
// options after it).
func defaultChannelLimits() ChannelLimits {
	return ChannelLimits{
		MaxChannelsPerConnection:  sockudo.DefaultMaxChannelsPerConnection,
		MaxSubscriptionsPerSecond: sockudo.DefaultSubscribeRate,
		MaxChannelsListed:         sockudo.DefaultMaxChannelsListed,
	}
}

func defaultEventLimits() EventLimits {
	return EventLimits{MaxClientEventsPerSecond: sockudo.DefaultClientEventRate}
}

func (c *ChannelLimits) applyEnv(e env) error {
	for _, f := range []struct {
		dst  *int
		name string
	}{
		{&c.MaxChannelsPerConnection, "CHANNEL_LIMITS_MAX_CHANNELS_PER_CONNECTION"},
		{&c.MaxSubscriptionsPerSecond, "CHANNEL_LIMITS_MAX_SUBSCRIPTIONS_PER_SECOND"},
		{&c.MaxChannelsListed, "CHANNEL_LIMITS_MAX_CHANNELS_LISTED"},
	} {
		if err := e.integer(f.dst, f.name); err != nil {
			return err
		}
	}
	return nil
}

func (c *EventLimits) applyEnv(e env) error {
	return e.integer(&c.MaxClientEventsPerSecond, "EVENT_LIMITS_MAX_CLIENT_EVENTS_PER_SECOND")
}

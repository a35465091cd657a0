package config

import "testing"

func TestLimitsDefaults(t *testing.T) {
	c := Default()
	if c.ChannelLimits != (ChannelLimits{MaxChannelsPerConnection: 200, MaxSubscriptionsPerSecond: 20, MaxChannelsListed: 10000}) {
		t.Errorf("channel_limits %+v", c.ChannelLimits)
	}
	if c.EventLimits.MaxClientEventsPerSecond != 10 {
		t.Errorf("event_limits.max_client_events_per_second %d, want 10 (Pusher's)", c.EventLimits.MaxClientEventsPerSecond)
	}
	if kb := c.AppManager.DefaultApp.MaxPresenceMemberSizeInKB; kb != 2 {
		t.Errorf("default app max_presence_member_size_in_kb %d, want 2", kb)
	}
}

func TestLimitsFromFileAndEnvironment(t *testing.T) {
	p := writeConfig(t, `{"channel_limits":{"max_channels_per_connection":50,"max_subscriptions_per_second":5,"max_channels_listed":100},
		"event_limits":{"max_client_events_per_second":0}}`)
	c, unknown, err := Load(p, mapEnv(map[string]string{"CHANNEL_LIMITS_MAX_CHANNELS_LISTED": "300"}))
	if err != nil || len(unknown) != 0 {
		t.Fatalf("Load: %v, unknown %v", err, unknown)
	}
	if c.ChannelLimits != (ChannelLimits{MaxChannelsPerConnection: 50, MaxSubscriptionsPerSecond: 5, MaxChannelsListed: 300}) {
		t.Errorf("channel_limits %+v", c.ChannelLimits)
	}
	if c.EventLimits.MaxClientEventsPerSecond != 0 {
		t.Errorf("event_limits.max_client_events_per_second %d, want 0 (unlimited) from the file", c.EventLimits.MaxClientEventsPerSecond)
	}
	c, _, err = Load("", mapEnv(map[string]string{"EVENT_LIMITS_MAX_CLIENT_EVENTS_PER_SECOND": "25"}))
	if err != nil || c.EventLimits.MaxClientEventsPerSecond != 25 {
		t.Errorf("EVENT_LIMITS_MAX_CLIENT_EVENTS_PER_SECOND=25: %d, %v", c.EventLimits.MaxClientEventsPerSecond, err)
	}
	if _, _, err = Load("", mapEnv(map[string]string{"CHANNEL_LIMITS_MAX_CHANNELS_PER_CONNECTION": "x"})); err == nil {
		t.Fatal("a non-integer CHANNEL_LIMITS_MAX_CHANNELS_PER_CONNECTION was accepted")
	}
}

package appmanager

import (
	"context"
	"errors"
	"fmt"
)

// ErrNotFound is returned (possibly wrapped) by a Manager when no app has the
// requested id or key.
var ErrNotFound = errors.New("appmanager: app not found")

// Manager finds applications by id or key. Implementations must be safe for
// concurrent use. A lookup for an absent app returns an error that matches
// ErrNotFound with errors.Is; any other error means the backend could not
// answer and the caller should treat the app as temporarily unavailable.
type Manager interface {
	// FindByID returns the app with the given id.
	FindByID(ctx context.Context, id string) (*App, error)
	// FindByKey returns the app with the given key.
	FindByKey(ctx context.Context, key string) (*App, error)
}

// App holds an application's credentials and per-app settings. The JSON
// names are Sockudo's flat app fields. A zero numeric limit means "use the
// server default" (or "unlimited" where the server has no default).
type App struct {
	ID      string `json:"id"`
	Key     string `json:"key"`
	Secret  string `json:"secret"`
	Enabled bool   `json:"enabled"`

	// Limits.
	MaxConnections               int `json:"max_connections"`
	MaxBackendEventsPerSecond    int `json:"max_backend_events_per_second,omitempty"`
	MaxClientEventsPerSecond     int `json:"max_client_events_per_second"`
	MaxReadRequestsPerSecond     int `json:"max_read_requests_per_second,omitempty"`
	MaxPresenceMembersPerChannel int `json:"max_presence_members_per_channel,omitempty"`
	MaxPresenceMemberSizeInKB    int `json:"max_presence_member_size_in_kb,omitempty"`
	MaxChannelNameLength         int `json:"max_channel_name_length,omitempty"`
	MaxEventChannelsAtOnce       int `json:"max_event_channels_at_once,omitempty"`
	MaxEventNameLength           int `json:"max_event_name_length,omitempty"`
	MaxEventPayloadInKB          int `json:"max_event_payload_in_kb,omitempty"`
	MaxEventBatchSize            int `json:"max_event_batch_size,omitempty"`

	// Features.
	EnableClientMessages     bool `json:"enable_client_messages"`
	EnableUserAuthentication bool `json:"enable_user_authentication,omitempty"`
	EnableWatchlistEvents    bool `json:"enable_watchlist_events,omitempty"`
	// EnableSubscriptionCountEvents turns on pusher_internal:subscription_count
	// messages to the subscribers of non-presence channels.
	EnableSubscriptionCountEvents bool `json:"enable_subscription_count_events,omitempty"`

	// AllowedOrigins restricts WebSocket connections to these origins:
	// exact values, "*", or a single-wildcard pattern such as
	// "*.example.com". Empty allows every origin.
	AllowedOrigins []string `json:"allowed_origins,omitempty"`

	// Webhooks lists the app's webhook targets.
	Webhooks []Webhook `json:"webhooks,omitempty"`
}

// Webhook is one webhook target of an app.
type Webhook struct {
	// URL receives signed POST requests.
	URL string `json:"url,omitempty"`
	// LambdaFunction names an AWS Lambda target (Sockudo's field); this
	// server stores it but delivers only to URLs.
	LambdaFunction string `json:"lambda_function,omitempty"`
	// EventTypes limits the target to these event names (channel_occupied,
	// member_added, ...). Empty means every event.
	EventTypes []string `json:"event_types,omitempty"`
	// Filter limits the target to matching channels.
	Filter *WebhookFilter `json:"filter,omitempty"`
	// Headers are added to every request to the target.
	Headers map[string]string `json:"headers,omitempty"`
}

// WebhookFilter selects channels by name.
type WebhookFilter struct {
	ChannelPrefix  string `json:"channel_prefix,omitempty"`
	ChannelSuffix  string `json:"channel_suffix,omitempty"`
	ChannelPattern string `json:"channel_pattern,omitempty"`
}

// Validate reports the first field of a that makes it unusable, naming the
// app and the field.
func (a *App) Validate() error {
	switch {
	case a.ID == "":
		return errors.New("appmanager: app has an empty id")
	case a.Key == "":
		return fmt.Errorf("appmanager: app %q: empty key", a.ID)
	case a.Secret == "":
		return fmt.Errorf("appmanager: app %q: empty secret", a.ID)
	}
	limits := []struct {
		name string
		v    int
	}{
		{"max_connections", a.MaxConnections},
		{"max_backend_events_per_second", a.MaxBackendEventsPerSecond},
		{"max_client_events_per_second", a.MaxClientEventsPerSecond},
		{"max_read_requests_per_second", a.MaxReadRequestsPerSecond},
		{"max_presence_members_per_channel", a.MaxPresenceMembersPerChannel},
		{"max_presence_member_size_in_kb", a.MaxPresenceMemberSizeInKB},
		{"max_channel_name_length", a.MaxChannelNameLength},
		{"max_event_channels_at_once", a.MaxEventChannelsAtOnce},
		{"max_event_name_length", a.MaxEventNameLength},
		{"max_event_payload_in_kb", a.MaxEventPayloadInKB},
		{"max_event_batch_size", a.MaxEventBatchSize},
	}
	for _, l := range limits {
		if l.v < 0 {
			return fmt.Errorf("appmanager: app %q: %s is negative (%d)", a.ID, l.name, l.v)
		}
	}
	for i, w := range a.Webhooks {
		if w.URL == "" && w.LambdaFunction == "" {
			return fmt.Errorf("appmanager: app %q: webhooks[%d] has neither url nor lambda_function", a.ID, i)
		}
	}
	return nil
}

// Clone returns a deep copy of a, so callers may keep or modify it freely.
func (a *App) Clone() *App {
	c := *a
	c.AllowedOrigins = append([]string(nil), a.AllowedOrigins...)
	if a.Webhooks != nil {
		c.Webhooks = make([]Webhook, len(a.Webhooks))
		for i, w := range a.Webhooks {
			w.EventTypes = append([]string(nil), w.EventTypes...)
			if w.Filter != nil {
				f := *w.Filter
				w.Filter = &f
			}
			if w.Headers != nil {
				h := make(map[string]string, len(w.Headers))
				for k, v := range w.Headers {
					h[k] = v
				}
				w.Headers = h
			}
			c.Webhooks[i] = w
		}
	}
	return &c
}

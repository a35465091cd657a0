package appmanager

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
)

// ErrNotFound is returned (possibly wrapped) by a Manager when no app has the
// requested id or key, and by a Writer updating or deleting an absent app.
var ErrNotFound = errors.New("appmanager: app not found")

// ErrExists is returned (possibly wrapped) by Writer.CreateApp when another
// app already has the id or the key, and by Writer.UpdateApp when the new
// key belongs to another app.
var ErrExists = errors.New("appmanager: app already exists")

// ErrInvalidApp is matched (with errors.Is) by every error that reports an
// unusable app: a malformed stored row or JSON document, a negative or
// out-of-range limit, a missing credential. It is never ErrNotFound: the app
// exists but cannot be served until it is fixed.
var ErrInvalidApp = errors.New("appmanager: invalid app")

// MaxLimit is the largest value a numeric limit may hold. It is the range of
// the INTEGER columns of Sockudo's PostgreSQL schema.
const MaxLimit = math.MaxInt32

// InvalidAppError reports an unusable app, naming the app and the field.
// It matches ErrInvalidApp with errors.Is.
type InvalidAppError struct {
	// AppID is the app's id; it may be empty when the id itself is missing.
	AppID string
	// Field is the JSON or column name of the bad value, such as
	// "max_connections", "webhooks" or "policy.limits.max_connections".
	Field string
	// Err describes the problem.
	Err error
}

// Error returns "appmanager: app "ID": FIELD: problem".
func (e *InvalidAppError) Error() string {
	var b strings.Builder
	b.WriteString("appmanager: app ")
	b.WriteString(strconv.Quote(e.AppID))
	if e.Field != "" {
		b.WriteString(": ")
		b.WriteString(e.Field)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *InvalidAppError) Unwrap() error { return e.Err }

// Is reports whether target is ErrInvalidApp.
func (e *InvalidAppError) Is(target error) bool { return target == ErrInvalidApp }

func invalid(id, field, format string, args ...any) error {
	return &InvalidAppError{AppID: id, Field: field, Err: fmt.Errorf(format, args...)}
}

// Manager finds applications by id or key. Implementations must be safe for
// concurrent use. A lookup for an absent app returns an error that matches
// ErrNotFound with errors.Is; any other error means the backend could not
// answer and the caller should treat the app as temporarily unavailable.
// A driver returns a new *App on every call, for the caller to keep or
// modify.
type Manager interface {
	// FindByID returns the app with the given id.
	FindByID(ctx context.Context, id string) (*App, error)
	// FindByKey returns the app with the given key. Keys compare exactly
	// (case-sensitively), whatever the backend's collation.
	FindByKey(ctx context.Context, key string) (*App, error)
}

// Lister is implemented by a Manager that can enumerate its apps. A host
// finds it with a type assertion.
type Lister interface {
	// ListApps returns every app, enabled or not, sorted by id.
	ListApps(ctx context.Context) ([]App, error)
}

// Writer is implemented by a Manager whose apps can be managed from Go. A
// host finds it with a type assertion. Each method validates the app first
// (see App.Validate). A server that caches apps sees a change once its cache
// entry expires or is invalidated.
type Writer interface {
	// CreateApp stores a new app. It fails with ErrExists when another app
	// has the same id or key.
	CreateApp(ctx context.Context, app App) error
	// UpdateApp replaces the app with app.ID. It fails with ErrNotFound when
	// there is none and with ErrExists when app.Key belongs to another app.
	UpdateApp(ctx context.Context, app App) error
	// DeleteApp removes the app with the id. It fails with ErrNotFound when
	// there is none.
	DeleteApp(ctx context.Context, id string) error
}

// Creator is implemented by a Manager that can store an app only when no
// app has its id yet, in one step that a concurrent start cannot race. A
// host finds it with a type assertion; the standalone server uses it to seed
// a database with the apps of its configuration without overwriting rows an
// operator has edited.
type Creator interface {
	// CreateIfAbsent stores app unless an app with app.ID exists. It
	// reports whether it stored it; an existing app is left as it is and is
	// not an error. It fails with ErrExists when app.ID is free but another
	// app has app.Key, and with ErrInvalidApp when app does not validate.
	CreateIfAbsent(ctx context.Context, app App) (created bool, err error)
}

// App holds an application's credentials and per-app settings. The JSON
// names are Sockudo's flat app fields. A zero numeric limit means "use the
// server default" (or "unlimited" where the server has no default).
//
// App decodes from JSON in both of Sockudo's shapes (see UnmarshalJSON)
// and encodes in the flat one.
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
	// Per-socket caps of this server (not in Sockudo's schema, so stored
	// in the policy document only): zero means the server's
	// WithMaxChannelsPerConnection and WithSubscribeRate.
	MaxChannelsPerConnection  int `json:"max_channels_per_connection,omitempty"`
	MaxSubscriptionsPerSecond int `json:"max_subscriptions_per_second,omitempty"`

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
	// It is always encoded, as [] when empty, because Sockudo requires it.
	EventTypes []string `json:"event_types"`
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

// MaxIDLength bounds an app's id and key, as the VARCHAR(255) columns of
// Sockudo's tables do. Lookups for longer ones are answered not found
// without asking the store.
const MaxIDLength = 255

// Validate reports the first field of a that makes it unusable as an
// *InvalidAppError naming the app and the field: an empty id, key or secret,
// an id or key longer than MaxIDLength,
// a limit below zero or above MaxLimit, a webhook with neither url nor
// lambda_function, or a webhook url that is not an absolute http or https
// URL (the error does not quote the URL, which may hold a secret).
func (a *App) Validate() error {
	switch {
	case a.ID == "":
		return invalid("", "id", "empty")
	case a.Key == "":
		return invalid(a.ID, "key", "empty")
	case a.Secret == "":
		return invalid(a.ID, "secret", "empty")
	case len(a.ID) > MaxIDLength:
		return invalid("", "id", "longer than %d bytes", MaxIDLength)
	case len(a.Key) > MaxIDLength:
		return invalid(a.ID, "key", "longer than %d bytes", MaxIDLength)
	}
	for _, l := range a.limits() {
		if *l.v < 0 {
			return invalid(a.ID, l.name, "negative (%d)", *l.v)
		}
		if *l.v > MaxLimit {
			return invalid(a.ID, l.name, "%d is above the maximum %d", *l.v, MaxLimit)
		}
	}
	for i, w := range a.Webhooks {
		if w.URL == "" && w.LambdaFunction == "" {
			return invalid(a.ID, fmt.Sprintf("webhooks[%d]", i), "neither url nor lambda_function")
		}
		if w.URL != "" {
			if reason := badWebhookURL(w.URL); reason != "" {
				return invalid(a.ID, fmt.Sprintf("webhooks[%d].url", i), "%s", reason)
			}
		}
	}
	return nil
}

// badWebhookURL says why raw cannot receive webhooks, or "" when it can.
// The reason never quotes raw: a URL can carry a password or a token.
func badWebhookURL(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "not a valid URL"
	case u.Scheme != "http" && u.Scheme != "https":
		return "scheme must be http or https"
	case u.Host == "":
		return "no host"
	}
	return ""
}

type limitField struct {
	name string
	v    *int
}

// limits lists the numeric limits of a with their JSON names, Sockudo's
// flat columns first, in the order of Record's fields.
func (a *App) limits() [13]limitField {
	return [13]limitField{
		{"max_connections", &a.MaxConnections},
		{"max_backend_events_per_second", &a.MaxBackendEventsPerSecond},
		{"max_client_events_per_second", &a.MaxClientEventsPerSecond},
		{"max_read_requests_per_second", &a.MaxReadRequestsPerSecond},
		{"max_presence_members_per_channel", &a.MaxPresenceMembersPerChannel},
		{"max_presence_member_size_in_kb", &a.MaxPresenceMemberSizeInKB},
		{"max_channel_name_length", &a.MaxChannelNameLength},
		{"max_event_channels_at_once", &a.MaxEventChannelsAtOnce},
		{"max_event_name_length", &a.MaxEventNameLength},
		{"max_event_payload_in_kb", &a.MaxEventPayloadInKB},
		{"max_event_batch_size", &a.MaxEventBatchSize},
		// Not Sockudo's, so not flat columns of a Record: keep them last.
		{"max_channels_per_connection", &a.MaxChannelsPerConnection},
		{"max_subscriptions_per_second", &a.MaxSubscriptionsPerSecond},
	}
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

package appmanager

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// limitsJSON holds the numeric limits by name (see App.limits) as raw
// JSON, so that numbers written as strings ("100") are accepted and a bad
// value is reported with its name.
type limitsJSON map[string]json.RawMessage

type featuresJSON struct {
	EnableClientMessages          bool `json:"enable_client_messages"`
	EnableUserAuthentication      bool `json:"enable_user_authentication"`
	EnableWatchlistEvents         bool `json:"enable_watchlist_events"`
	EnableSubscriptionCountEvents bool `json:"enable_subscription_count_events"`
}

type channelsJSON struct {
	AllowedOrigins []string `json:"allowed_origins"`
}

// policyJSON is Sockudo's nested "policy" object. Members this server does
// not use (idempotency, history, channel namespaces...) are ignored.
type policyJSON struct {
	Limits   limitsJSON   `json:"limits"`
	Features featuresJSON `json:"features"`
	Channels channelsJSON `json:"channels"`
	Webhooks []Webhook    `json:"webhooks"`
}

// appJSON accepts both shapes: the flat fields and an optional "policy".
type appJSON struct {
	ID      string      `json:"id"`
	Key     string      `json:"key"`
	Secret  string      `json:"secret"`
	Enabled bool        `json:"enabled"`
	Policy  *policyJSON `json:"policy"`
	featuresJSON
	AllowedOrigins []string  `json:"allowed_origins"`
	Webhooks       []Webhook `json:"webhooks"`
}

// UnmarshalJSON decodes an app in either of Sockudo's shapes: flat
// ({"id", "key", "secret", "enabled", "max_connections", ...,
// "enable_client_messages", ..., "allowed_origins", "webhooks"}) or nested
// ({"id", "key", "secret", "enabled", "policy": {"limits": {...},
// "features": {...}, "channels": {"allowed_origins": [...]},
// "webhooks": [...]}}). When "policy" is present (and not null) its settings
// win and the flat ones are ignored. Numeric limits may be JSON numbers or
// numeric strings ("100"); null means zero. A malformed value gives an
// *InvalidAppError naming the app and the field. Unknown fields are ignored,
// as Sockudo does.
func (a *App) UnmarshalJSON(data []byte) error {
	var w appJSON
	if err := json.Unmarshal(data, &w); err != nil {
		return decodeError(w.ID, "", err)
	}
	// The flat shape's limits sit among the other fields.
	var flat limitsJSON
	if w.Policy == nil {
		if err := json.Unmarshal(data, &flat); err != nil {
			return decodeError(w.ID, "", err)
		}
	}
	app := App{ID: w.ID, Key: w.Key, Secret: w.Secret, Enabled: w.Enabled}
	if w.Policy != nil {
		if err := app.setPolicy(w.Policy, "policy."); err != nil {
			return err
		}
	} else {
		if err := app.setLimits(flat, ""); err != nil {
			return err
		}
		app.setFeatures(&w.featuresJSON)
		app.AllowedOrigins = w.AllowedOrigins
		app.Webhooks = w.Webhooks
	}
	*a = app
	return nil
}

// UnmarshalPolicy sets a's limits, features, allowed origins and webhooks
// from data, a Sockudo "policy" JSON object (as stored in the policy column
// of Sockudo's tables), leaving the id, key, secret and Enabled as they
// are. A malformed value gives an *InvalidAppError naming a.ID and the field
// ("policy.limits.max_connections").
func (a *App) UnmarshalPolicy(data []byte) error {
	var p policyJSON
	if err := json.Unmarshal(data, &p); err != nil {
		return decodeError(a.ID, "policy", err)
	}
	return a.setPolicy(&p, "policy.")
}

// MarshalPolicy encodes a's settings as a Sockudo "policy" JSON object, the
// form that Sockudo reads from its tables. Zero optional limits are
// omitted, which Sockudo reads as unset.
func (a *App) MarshalPolicy() ([]byte, error) {
	limits := make(map[string]int, len(a.limits()))
	for _, f := range a.limits() {
		if *f.v != 0 || f.name == "max_connections" || f.name == "max_client_events_per_second" {
			limits[f.name] = *f.v
		}
	}
	type features struct {
		EnableClientMessages          bool `json:"enable_client_messages"`
		EnableUserAuthentication      bool `json:"enable_user_authentication"`
		EnableWatchlistEvents         bool `json:"enable_watchlist_events"`
		EnableSubscriptionCountEvents bool `json:"enable_subscription_count_events,omitempty"`
	}
	type channels struct {
		AllowedOrigins []string `json:"allowed_origins,omitempty"`
	}
	type policy struct {
		Limits   map[string]int `json:"limits"`
		Features features       `json:"features"`
		Channels channels       `json:"channels"`
		Webhooks []Webhook      `json:"webhooks,omitempty"`
	}
	return json.Marshal(policy{
		Limits: limits,
		Features: features{
			EnableClientMessages:          a.EnableClientMessages,
			EnableUserAuthentication:      a.EnableUserAuthentication,
			EnableWatchlistEvents:         a.EnableWatchlistEvents,
			EnableSubscriptionCountEvents: a.EnableSubscriptionCountEvents,
		},
		Channels: channels{AllowedOrigins: a.AllowedOrigins},
		Webhooks: a.Webhooks,
	})
}

func (a *App) setPolicy(p *policyJSON, prefix string) error {
	if err := a.setLimits(p.Limits, prefix+"limits."); err != nil {
		return err
	}
	a.setFeatures(&p.Features)
	a.AllowedOrigins = p.Channels.AllowedOrigins
	a.Webhooks = p.Webhooks
	return nil
}

func (a *App) setFeatures(f *featuresJSON) {
	a.EnableClientMessages = f.EnableClientMessages
	a.EnableUserAuthentication = f.EnableUserAuthentication
	a.EnableWatchlistEvents = f.EnableWatchlistEvents
	a.EnableSubscriptionCountEvents = f.EnableSubscriptionCountEvents
}

func (a *App) setLimits(l limitsJSON, prefix string) error {
	for _, f := range a.limits() {
		v, err := parseLimit(l[f.name])
		if err != nil {
			return &InvalidAppError{AppID: a.ID, Field: prefix + f.name, Err: err}
		}
		*f.v = v
	}
	return nil
}

// parseLimit reads a limit given as a JSON number, a numeric string or null.
func parseLimit(raw json.RawMessage) (int, error) {
	s := bytes.TrimSpace(raw)
	if len(s) == 0 || string(s) == "null" {
		return 0, nil
	}
	text := string(s)
	if s[0] == '"' {
		if err := json.Unmarshal(s, &text); err != nil {
			return 0, err
		}
		text = strings.TrimSpace(text)
	}
	n, err := strconv.ParseInt(text, 10, 64)
	switch {
	case err != nil && errors.Is(err, strconv.ErrRange):
		return 0, fmt.Errorf("%s is above the maximum %d", text, MaxLimit)
	case err != nil:
		return 0, fmt.Errorf("%s is not a whole number", s)
	case n < 0:
		return 0, fmt.Errorf("negative (%d)", n)
	case n > MaxLimit:
		return 0, fmt.Errorf("%d is above the maximum %d", n, MaxLimit)
	}
	return int(n), nil
}

// decodeError turns a json error into an *InvalidAppError naming the field.
func decodeError(id, field string, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		name := te.Field
		if field != "" && name != "" {
			name = field + "." + name
		} else if name == "" {
			name = field
		}
		return &InvalidAppError{AppID: id, Field: name, Err: fmt.Errorf("JSON %s where %s was expected", te.Value, te.Type)}
	}
	return &InvalidAppError{AppID: id, Field: field, Err: err}
}

// MarshalJSON encodes w with "event_types" always present (as [] when
// empty), as Sockudo requires.
func (w Webhook) MarshalJSON() ([]byte, error) {
	type plain Webhook
	p := plain(w)
	if p.EventTypes == nil {
		p.EventTypes = []string{}
	}
	return json.Marshal(p)
}

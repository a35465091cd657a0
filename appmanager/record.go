package appmanager

import (
	"bytes"
	"encoding/json"
)

// Record is an app in the storage form of Sockudo's tables (the SQL
// "applications" table, the DynamoDB and CQL layouts): flat columns plus
// JSON documents. Storage drivers scan a row into a Record and call App, and
// build the values they write with NewRecord, so every driver reads and
// writes the same way as Sockudo does.
//
// A NULL column reads as the zero value; a JSON column that is NULL, empty
// or the JSON literal null is absent.
type Record struct {
	ID      string
	Key     string
	Secret  string
	Enabled bool

	MaxConnections               int64
	MaxBackendEventsPerSecond    int64
	MaxClientEventsPerSecond     int64
	MaxReadRequestsPerSecond     int64
	MaxPresenceMembersPerChannel int64
	MaxPresenceMemberSizeInKB    int64
	MaxChannelNameLength         int64
	MaxEventChannelsAtOnce       int64
	MaxEventNameLength           int64
	MaxEventPayloadInKB          int64
	MaxEventBatchSize            int64

	EnableClientMessages     bool
	EnableUserAuthentication bool
	EnableWatchlistEvents    bool

	// Policy is the "policy" JSON document. When present it wins over the
	// flat columns, Webhooks and AllowedOrigins.
	Policy []byte
	// Webhooks is the "webhooks" JSON array.
	Webhooks []byte
	// AllowedOrigins is the "allowed_origins" JSON array of strings.
	AllowedOrigins []byte
}

// App builds the app that r describes and validates it. A malformed JSON
// document or an impossible number gives an *InvalidAppError naming the app
// and the column; it never matches ErrNotFound.
func (r *Record) App() (*App, error) {
	a := &App{ID: r.ID, Key: r.Key, Secret: r.Secret, Enabled: r.Enabled}
	if present(r.Policy) {
		if err := a.UnmarshalPolicy(r.Policy); err != nil {
			return nil, err
		}
	} else {
		nums := [11]int64{
			r.MaxConnections, r.MaxBackendEventsPerSecond, r.MaxClientEventsPerSecond,
			r.MaxReadRequestsPerSecond, r.MaxPresenceMembersPerChannel, r.MaxPresenceMemberSizeInKB,
			r.MaxChannelNameLength, r.MaxEventChannelsAtOnce, r.MaxEventNameLength,
			r.MaxEventPayloadInKB, r.MaxEventBatchSize,
		}
		lims := a.limits() // the flat columns are its first entries
		for i, n := range nums {
			l := lims[i]
			if n < 0 {
				return nil, invalid(a.ID, l.name, "negative (%d)", n)
			}
			if n > MaxLimit {
				return nil, invalid(a.ID, l.name, "%d is above the maximum %d", n, MaxLimit)
			}
			*l.v = int(n)
		}
		a.EnableClientMessages = r.EnableClientMessages
		a.EnableUserAuthentication = r.EnableUserAuthentication
		a.EnableWatchlistEvents = r.EnableWatchlistEvents
		if present(r.Webhooks) {
			if err := json.Unmarshal(r.Webhooks, &a.Webhooks); err != nil {
				return nil, decodeError(a.ID, "webhooks", err)
			}
		}
		if present(r.AllowedOrigins) {
			if err := json.Unmarshal(r.AllowedOrigins, &a.AllowedOrigins); err != nil {
				return nil, decodeError(a.ID, "allowed_origins", err)
			}
		}
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return a, nil
}

// NewRecord validates a and returns the values to store for it: the flat
// columns, and the policy, webhooks and allowed_origins documents (nil when
// there are no webhooks or origins). Sockudo writes the same.
func NewRecord(a *App) (*Record, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	policy, err := a.MarshalPolicy()
	if err != nil {
		return nil, &InvalidAppError{AppID: a.ID, Field: "policy", Err: err}
	}
	r := &Record{
		ID: a.ID, Key: a.Key, Secret: a.Secret, Enabled: a.Enabled,
		MaxConnections:               int64(a.MaxConnections),
		MaxBackendEventsPerSecond:    int64(a.MaxBackendEventsPerSecond),
		MaxClientEventsPerSecond:     int64(a.MaxClientEventsPerSecond),
		MaxReadRequestsPerSecond:     int64(a.MaxReadRequestsPerSecond),
		MaxPresenceMembersPerChannel: int64(a.MaxPresenceMembersPerChannel),
		MaxPresenceMemberSizeInKB:    int64(a.MaxPresenceMemberSizeInKB),
		MaxChannelNameLength:         int64(a.MaxChannelNameLength),
		MaxEventChannelsAtOnce:       int64(a.MaxEventChannelsAtOnce),
		MaxEventNameLength:           int64(a.MaxEventNameLength),
		MaxEventPayloadInKB:          int64(a.MaxEventPayloadInKB),
		MaxEventBatchSize:            int64(a.MaxEventBatchSize),
		EnableClientMessages:         a.EnableClientMessages,
		EnableUserAuthentication:     a.EnableUserAuthentication,
		EnableWatchlistEvents:        a.EnableWatchlistEvents,
		Policy:                       policy,
	}
	if len(a.Webhooks) > 0 {
		if r.Webhooks, err = json.Marshal(a.Webhooks); err != nil {
			return nil, &InvalidAppError{AppID: a.ID, Field: "webhooks", Err: err}
		}
	}
	if len(a.AllowedOrigins) > 0 {
		if r.AllowedOrigins, err = json.Marshal(a.AllowedOrigins); err != nil {
			return nil, &InvalidAppError{AppID: a.ID, Field: "allowed_origins", Err: err}
		}
	}
	return r, nil
}

// present reports whether a JSON column holds a document.
func present(doc []byte) bool {
	doc = bytes.TrimSpace(doc)
	return len(doc) > 0 && !bytes.Equal(doc, []byte("null"))
}

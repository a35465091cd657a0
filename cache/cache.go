package cache

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned (possibly wrapped) by Get when the key is absent or
// has expired.
var ErrNotFound = errors.New("cache: key not found")

// Cache is a key-value store with per-entry expiry. Implementations must be
// safe for concurrent use and must treat values as opaque bytes: any byte
// sequence, including an empty one, is a valid value.
//
// A cache does not keep the value slice passed to Set or Add, and the Value
// that Get returns belongs to the caller. Every method fails with an error
// wrapping ctx.Err() when ctx is already done.
type Cache interface {
	// Get returns the entry stored under key, or an error matching
	// ErrNotFound when there is none or it has expired.
	Get(ctx context.Context, key string) (Entry, error)
	// Set stores value under key, replacing any previous entry and its
	// expiry. A ttl of zero or less uses the driver's default expiry (which
	// may be none).
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Add stores value under key only if no live entry exists, and reports
	// whether it did. It is atomic: of many concurrent callers (across
	// processes for shared drivers), exactly one gets true. An expired entry
	// counts as absent. The ttl is treated as in Set.
	Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
	// Delete removes key. Deleting an absent key is not an error.
	Delete(ctx context.Context, key string) error
}

// Entry is a cached value with its expiry.
type Entry struct {
	Value []byte
	// ExpiresAt is when the entry expires; the zero time means never.
	ExpiresAt time.Time
}

// TTL returns the time left before e expires, measured from now, or zero
// when e never expires.
func (e Entry) TTL(now time.Time) time.Duration {
	if e.ExpiresAt.IsZero() {
		return 0
	}
	if d := e.ExpiresAt.Sub(now); d > 0 {
		return d
	}
	return 0
}

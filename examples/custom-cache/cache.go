package main

import (
	"context"
	"sync"
	"time"

	"github.com/sockudo-go/sockudo/cache"
)

// mapCache is a cache.Cache in process memory. Entries stored with a ttl
// of zero or less expire after defaultTTL; a defaultTTL of zero keeps them
// until they are deleted.
type mapCache struct {
	defaultTTL time.Duration

	mu      sync.Mutex
	entries map[string]cache.Entry
}

func newMapCache(defaultTTL time.Duration) *mapCache {
	return &mapCache{defaultTTL: defaultTTL, entries: make(map[string]cache.Entry)}
}

// Get implements cache.Cache.
func (c *mapCache) Get(ctx context.Context, key string) (cache.Entry, error) {
	if err := ctx.Err(); err != nil {
		return cache.Entry{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.live(key, time.Now())
	if !ok {
		return cache.Entry{}, cache.ErrNotFound
	}
	e.Value = clone(e.Value) // the caller owns what Get returns
	return e, nil
}

// Set implements cache.Cache.
func (c *mapCache) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[key] = c.entry(value, ttl, time.Now())
	return nil
}

// Add implements cache.Cache: the mutex makes the check and the store one
// step, so of concurrent callers exactly one gets true.
func (c *mapCache) Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.live(key, now); ok {
		return false, nil
	}
	c.entries[key] = c.entry(value, ttl, now)
	return true, nil
}

// Delete implements cache.Cache.
func (c *mapCache) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, key)
	return nil
}

// Sweep drops the entries that expired before now. Entries are also
// dropped when a read finds them expired; Sweep frees those never read
// again.
func (c *mapCache) Sweep(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		if expired(e, now) {
			delete(c.entries, k)
		}
	}
}

// live returns the entry under key unless it has expired. c.mu is held.
func (c *mapCache) live(key string, now time.Time) (cache.Entry, bool) {
	e, ok := c.entries[key]
	if ok && expired(e, now) {
		delete(c.entries, key)
		return cache.Entry{}, false
	}
	return e, ok
}

// entry builds what Set and Add store: a copy of value (the caller may
// reuse its slice) and the expiry that ttl gives.
func (c *mapCache) entry(value []byte, ttl time.Duration, now time.Time) cache.Entry {
	if ttl <= 0 {
		ttl = c.defaultTTL
	}
	e := cache.Entry{Value: clone(value)}
	if ttl > 0 {
		e.ExpiresAt = now.Add(ttl)
	}
	return e
}

func expired(e cache.Entry, now time.Time) bool {
	return !e.ExpiresAt.IsZero() && !now.Before(e.ExpiresAt)
}

// clone copies b, keeping an empty value non-nil: an empty value is a
// value, not an absence.
func clone(b []byte) []byte { return append(make([]byte, 0, len(b)), b...) }

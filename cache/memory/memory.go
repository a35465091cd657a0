package memory

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/sockudo-go/sockudo/cache"
)

// Defaults for the zero Options.
const (
	DefaultMaxItems        = 10000
	DefaultCleanupInterval = 60 * time.Second
)

// sweepBatch is how many entries the sweep examines per lock hold, so a
// large cache never blocks callers for long.
const sweepBatch = 1024

// Options configure a Cache. The zero value (or a nil *Options) gives the
// defaults.
type Options struct {
	// MaxItems bounds the number of entries; when it is reached the least
	// recently used entry is evicted. Zero or less means DefaultMaxItems.
	MaxItems int
	// DefaultTTL is the expiry of entries stored with a ttl of zero or
	// less. Zero or less means such entries never expire.
	DefaultTTL time.Duration
	// CleanupInterval is how often a background goroutine removes expired
	// entries. Zero means DefaultCleanupInterval; less than zero turns the
	// sweep off (expired entries are still never returned, and are dropped
	// when read or evicted).
	CleanupInterval time.Duration
}

// Cache is an in-process cache.Cache. It is safe for concurrent use. Call
// Close to stop its background sweep.
type Cache struct {
	defaultTTL time.Duration

	mu  sync.Mutex
	lru *simplelru.LRU[string, entry]

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

type entry struct {
	value     []byte
	expiresAt time.Time // zero: never
}

func (e entry) expired(now time.Time) bool {
	return !e.expiresAt.IsZero() && !now.Before(e.expiresAt)
}

var _ cache.Cache = (*Cache)(nil)

// New returns an empty Cache configured by opts, which may be nil, and
// starts its background sweep.
func New(opts *Options) *Cache {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.MaxItems <= 0 {
		o.MaxItems = DefaultMaxItems
	}
	if o.CleanupInterval == 0 {
		o.CleanupInterval = DefaultCleanupInterval
	}
	// NewLRU fails only for a size below one, which was ruled out above.
	l, _ := simplelru.NewLRU[string, entry](o.MaxItems, nil)
	c := &Cache{
		defaultTTL: max(o.DefaultTTL, 0),
		lru:        l,
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
	}
	if o.CleanupInterval > 0 {
		go c.sweepLoop(o.CleanupInterval)
	} else {
		close(c.done)
	}
	return c
}

// Get returns the live entry under key, or an error matching
// cache.ErrNotFound. It marks the entry as recently used.
func (c *Cache) Get(ctx context.Context, key string) (cache.Entry, error) {
	if err := ctx.Err(); err != nil {
		return cache.Entry{}, fmt.Errorf("memory cache: get: %w", err)
	}
	now := time.Now()
	c.mu.Lock()
	e, ok := c.lru.Get(key)
	if ok && e.expired(now) {
		c.lru.Remove(key)
		ok = false
	}
	c.mu.Unlock()
	if !ok {
		return cache.Entry{}, fmt.Errorf("memory cache: get %q: %w", key, cache.ErrNotFound)
	}
	return cache.Entry{Value: bytes.Clone(e.value), ExpiresAt: e.expiresAt}, nil
}

// Set stores a copy of value under key, evicting the least recently used
// entry if the cache is full.
func (c *Cache) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory cache: set: %w", err)
	}
	e := c.entry(value, ttl)
	c.mu.Lock()
	c.lru.Add(key, e.entry)
	c.mu.Unlock()
	return nil
}

// Add stores a copy of value under key unless a live entry is there, and
// reports whether it did.
func (c *Cache) Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("memory cache: add: %w", err)
	}
	e := c.entry(value, ttl)
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.lru.Peek(key); ok && !old.expired(e.now) {
		return false, nil
	}
	c.lru.Add(key, e.entry)
	return true, nil
}

// Delete removes key.
func (c *Cache) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory cache: delete: %w", err)
	}
	c.mu.Lock()
	c.lru.Remove(key)
	c.mu.Unlock()
	return nil
}

// Len reports how many entries the cache holds, counting expired entries
// that have not been removed yet.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// Close stops the background sweep and waits for it to finish. The cache
// stays usable. Close is safe to call more than once.
func (c *Cache) Close() error {
	c.closeOnce.Do(func() { close(c.stop) })
	<-c.done
	return nil
}

// timedEntry is an entry with the time it was made, so Add can judge the
// old entry by the same clock reading.
type timedEntry struct {
	entry
	now time.Time
}

func (c *Cache) entry(value []byte, ttl time.Duration) timedEntry {
	now := time.Now()
	if ttl <= 0 {
		ttl = c.defaultTTL
	}
	e := entry{value: bytes.Clone(value)}
	if e.value == nil {
		e.value = []byte{}
	}
	if ttl > 0 {
		e.expiresAt = now.Add(ttl)
	}
	return timedEntry{entry: e, now: now}
}

func (c *Cache) sweepLoop(every time.Duration) {
	defer close(c.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.sweep()
		}
	}
}

// sweep removes expired entries, a batch at a time.
func (c *Cache) sweep() {
	c.mu.Lock()
	keys := c.lru.Keys()
	c.mu.Unlock()
	now := time.Now()
	for len(keys) > 0 {
		batch := keys[:min(sweepBatch, len(keys))]
		keys = keys[len(batch):]
		c.mu.Lock()
		for _, k := range batch {
			if e, ok := c.lru.Peek(k); ok && e.expired(now) {
				c.lru.Remove(k)
			}
		}
		c.mu.Unlock()
		select {
		case <-c.stop:
			return
		default:
		}
	}
}

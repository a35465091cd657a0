package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"github.com/redis/rueidis"

	"github.com/sockudo-go/sockudo/cache"
)

// Defaults for the zero Options.
const (
	DefaultPrefix  = "sockudo_cache:"
	DefaultTimeout = 2 * time.Second
)

// fenceSize bounds how many recently written keys a Cache with client-side
// caching remembers in order to read its own writes.
const fenceSize = 10000

// getScript returns the value of KEYS[1] and its remaining TTL in
// milliseconds, read atomically, or nil when the key does not exist.
const getScript = `local v = redis.call('GET', KEYS[1])
if not v then return false end
return {v, redis.call('PTTL', KEYS[1])}`

// Options configure a Cache. The zero value (or a nil *Options) gives the
// defaults.
type Options struct {
	// Prefix is put before every key; empty means DefaultPrefix. Caches
	// with different prefixes on one Redis do not see each other's keys.
	Prefix string
	// DefaultTTL is the expiry of entries stored with a ttl of zero or
	// less. Zero means such entries never expire.
	DefaultTTL time.Duration
	// ClientSideTTL, when above zero, turns on server-assisted client-side
	// caching for Get and is the longest a local copy is kept (see the
	// package documentation).
	ClientSideTTL time.Duration
	// Timeout bounds each call when the caller's context allows longer;
	// zero means DefaultTimeout.
	Timeout time.Duration
	// Logger receives a warning when Redis becomes unreachable and a
	// message when it is back; nil means slog.Default().
	Logger *slog.Logger
}

// Cache is a cache.Cache on Redis. It is safe for concurrent use. It does
// not own its client: the host closes the client when done.
type Cache struct {
	client     rueidis.Client
	prefix     string
	defaultTTL time.Duration
	localTTL   time.Duration
	timeout    time.Duration
	logger     *slog.Logger
	get        *rueidis.Lua
	failing    atomic.Bool

	// With client-side caching, a local copy can predate a write made
	// through this Cache until Redis's invalidation message arrives. The
	// fence records, per key, the sequence number of the last write here;
	// Get bypasses local copies of a fenced key until it has read the key
	// from Redis after that write.
	writes  atomic.Uint64
	fenceMu sync.Mutex
	fence   *simplelru.LRU[string, uint64]
}

var _ cache.Cache = (*Cache)(nil)

// New returns a Cache that stores its entries through client, configured
// by opts, which may be nil. It fails if client is nil or an option is out
// of range. It does not contact Redis.
func New(client rueidis.Client, opts *Options) (*Cache, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	switch {
	case o.DefaultTTL < 0:
		return nil, fmt.Errorf("redis cache: Options.DefaultTTL %v is negative", o.DefaultTTL)
	case o.ClientSideTTL < 0:
		return nil, fmt.Errorf("redis cache: Options.ClientSideTTL %v is negative", o.ClientSideTTL)
	case o.Timeout < 0:
		return nil, fmt.Errorf("redis cache: Options.Timeout %v is negative", o.Timeout)
	case client == nil:
		return nil, errors.New("redis cache: client is nil")
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	c := &Cache{
		client:     client,
		prefix:     o.Prefix,
		defaultTTL: o.DefaultTTL,
		localTTL:   o.ClientSideTTL,
		timeout:    o.Timeout,
		logger:     o.Logger,
		// The script only reads, so rueidis may retry it after a dropped
		// connection, within the call's deadline.
		get: rueidis.NewLuaScriptRetryable(getScript),
	}
	if c.localTTL > 0 {
		// NewLRU fails only for a size below one.
		c.fence, _ = simplelru.NewLRU[string, uint64](fenceSize, nil)
	}
	return c, nil
}

// Get returns the entry under key, or an error matching cache.ErrNotFound.
func (c *Cache) Get(ctx context.Context, key string) (cache.Entry, error) {
	if err := ctx.Err(); err != nil {
		return cache.Entry{}, fmt.Errorf("redis cache: get: %w", err)
	}
	octx, cancel := c.bound(ctx)
	defer cancel()
	k := c.prefix + key
	var (
		e   cache.Entry
		err error
	)
	if c.localTTL > 0 {
		e, err = c.getLocal(octx, k)
	} else {
		e, err = c.getRemote(octx, k)
	}
	c.observe(ctx, err)
	switch {
	case rueidis.IsRedisNil(err):
		return cache.Entry{}, fmt.Errorf("redis cache: get %q: %w", key, cache.ErrNotFound)
	case err != nil:
		return cache.Entry{}, fmt.Errorf("redis cache: get %q: %w", key, err)
	}
	return e, nil
}

// getRemote reads k and its TTL from Redis. A missing key is rueidis.Nil.
func (c *Cache) getRemote(ctx context.Context, k string) (cache.Entry, error) {
	res := c.get.Exec(ctx, c.client, []string{k}, nil)
	vals, err := res.ToArray()
	if err != nil {
		return cache.Entry{}, err
	}
	if len(vals) != 2 {
		return cache.Entry{}, fmt.Errorf("unexpected reply of %d elements", len(vals))
	}
	v, err := vals[0].ToString()
	if err != nil {
		return cache.Entry{}, err
	}
	pttl, err := vals[1].AsInt64()
	if err != nil {
		return cache.Entry{}, err
	}
	e := cache.Entry{Value: []byte(v)}
	if pttl >= 0 {
		e.ExpiresAt = time.Now().Add(time.Duration(pttl) * time.Millisecond)
	}
	return e, nil
}

// getLocal reads k through the client-side cache, falling back to
// getRemote while a local copy may predate this Cache's own last write.
func (c *Cache) getLocal(ctx context.Context, k string) (cache.Entry, error) {
	start := c.writes.Load()
	rs := c.client.DoMultiCache(ctx,
		rueidis.CT(c.client.B().Get().Key(k).Cache(), c.localTTL),
		rueidis.CT(c.client.B().Pexpiretime().Key(k).Cache(), c.localTTL))
	hit := rs[0].IsCacheHit() || rs[1].IsCacheHit()
	if c.fenced(k, start, hit) {
		return c.getRemote(ctx, k)
	}
	v, err := rs[0].ToString()
	if err != nil {
		return cache.Entry{}, err
	}
	at, err := rs[1].AsInt64()
	switch {
	case err != nil:
		return cache.Entry{}, err
	case at == -2: // deleted between the two reads
		return cache.Entry{}, rueidis.Nil
	}
	// The cached string is shared: give the caller its own copy.
	e := cache.Entry{Value: []byte(v)}
	if at >= 0 {
		e.ExpiresAt = time.UnixMilli(at)
	}
	return e, nil
}

// fenced reports whether a read of k that started when the write counter
// was start, and was served from a local copy if hit, must be redone from
// Redis. A fresh read clears the fence.
func (c *Cache) fenced(k string, start uint64, hit bool) bool {
	c.fenceMu.Lock()
	defer c.fenceMu.Unlock()
	w, ok := c.fence.Peek(k)
	switch {
	case !ok:
		return false
	case hit:
		return true
	case w <= start:
		c.fence.Remove(k)
	}
	return false
}

// wrote records a write to k for the fence; it runs after the write
// returns, successful or not.
func (c *Cache) wrote(k string) {
	if c.fence == nil {
		return
	}
	seq := c.writes.Add(1)
	c.fenceMu.Lock()
	c.fence.Add(k, seq)
	c.fenceMu.Unlock()
}

// Set stores value under key with SET, replacing any entry and its expiry.
func (c *Cache) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redis cache: set: %w", err)
	}
	octx, cancel := c.bound(ctx)
	defer cancel()
	k := c.prefix + key
	// string(value) copies, so the caller may reuse value even if a
	// deadline returns this call before the command is written.
	b := c.client.B().Set().Key(k).Value(string(value))
	var cmd rueidis.Completed
	if ms := c.millis(ttl); ms > 0 {
		cmd = b.PxMilliseconds(ms).Build()
	} else {
		cmd = b.Build()
	}
	err := c.client.Do(octx, cmd).Error()
	c.wrote(k)
	c.observe(ctx, err)
	if err != nil {
		return fmt.Errorf("redis cache: set %q: %w", key, err)
	}
	return nil
}

// Add stores value under key with SET NX unless the key exists, and reports
// whether it did.
func (c *Cache) Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("redis cache: add: %w", err)
	}
	octx, cancel := c.bound(ctx)
	defer cancel()
	k := c.prefix + key
	b := c.client.B().Set().Key(k).Value(string(value)).Nx()
	var cmd rueidis.Completed
	if ms := c.millis(ttl); ms > 0 {
		cmd = b.PxMilliseconds(ms).Build()
	} else {
		cmd = b.Build()
	}
	err := c.client.Do(octx, cmd).Error()
	c.wrote(k)
	c.observe(ctx, err)
	switch {
	case rueidis.IsRedisNil(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("redis cache: add %q: %w", key, err)
	}
	return true, nil
}

// Delete removes key with DEL.
func (c *Cache) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redis cache: delete: %w", err)
	}
	octx, cancel := c.bound(ctx)
	defer cancel()
	k := c.prefix + key
	err := c.client.Do(octx, c.client.B().Del().Key(k).Build()).Error()
	c.wrote(k)
	c.observe(ctx, err)
	if err != nil {
		return fmt.Errorf("redis cache: delete %q: %w", key, err)
	}
	return nil
}

// millis converts a ttl to whole milliseconds, rounding up, after applying
// the default; zero means no expiry.
func (c *Cache) millis(ttl time.Duration) int64 {
	if ttl <= 0 {
		ttl = c.defaultTTL
	}
	if ttl <= 0 {
		return 0
	}
	return int64((ttl + time.Millisecond - 1) / time.Millisecond)
}

func noop() {}

// bound applies the Timeout unless ctx already ends sooner.
func (c *Cache) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= c.timeout {
		return ctx, noop
	}
	return context.WithTimeout(ctx, c.timeout)
}

// observe logs when calls start failing for a reason other than the
// caller's own context or a Redis error reply, and when they work again.
func (c *Cache) observe(ctx context.Context, err error) {
	if err == nil || rueidis.IsRedisNil(err) {
		if c.failing.Load() && c.failing.CompareAndSwap(true, false) {
			c.log().LogAttrs(ctx, slog.LevelInfo, "redis cache: Redis is reachable again")
		}
		return
	}
	if ctx.Err() != nil {
		return
	}
	if _, ok := rueidis.IsRedisErr(err); ok {
		return
	}
	if c.failing.CompareAndSwap(false, true) {
		c.log().LogAttrs(ctx, slog.LevelWarn, "redis cache: Redis is unreachable; calls fail until it is back",
			slog.String("error", err.Error()))
	}
}

func (c *Cache) log() *slog.Logger {
	if c.logger != nil {
		return c.logger
	}
	return slog.Default()
}

package appcache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/sockudo-go/sockudo/appmanager"
)

// Defaults used by DefaultOptions and for zero Options fields where noted.
const (
	// DefaultTTL is how long a found app is served from memory (Sockudo's
	// app_manager.cache.ttl).
	DefaultTTL = 300 * time.Second
	// DefaultNegativeTTL is how long an unknown id or key is remembered.
	DefaultNegativeTTL = 5 * time.Second
	// DefaultMaxEntries bounds each of the by-id and by-key indexes.
	DefaultMaxEntries = 10000
	// DefaultLoadTimeout bounds one backend lookup.
	DefaultLoadTimeout = 10 * time.Second
	// DefaultMaxNegativeEntries bounds each index of unknown ids and keys.
	DefaultMaxNegativeEntries = 1000
	// DefaultMaxConcurrentLoads bounds the backend lookups under way.
	DefaultMaxConcurrentLoads = 64
)

// ErrOverloaded is returned when a lookup would start while
// MaxConcurrentLoads lookups are already under way: a flood of unknown
// keys must not queue unbounded work on the app store. Callers answer it as
// "unavailable, retry later".
var ErrOverloaded = errors.New("appcache: too many app lookups under way")

// errTooLong answers a lookup for an id or key no app can have.
var errTooLong = fmt.Errorf("appcache: %w: id or key longer than %d bytes", appmanager.ErrNotFound, appmanager.MaxIDLength)

// Options configures a Cache. The zero value caches nothing; start from
// DefaultOptions.
type Options struct {
	// TTL is how long a found app is served from memory. Zero disables
	// caching: every call goes to the Manager.
	TTL time.Duration
	// NegativeTTL is how long an ErrNotFound answer is remembered. Zero
	// disables negative caching.
	NegativeTTL time.Duration
	// MaxEntries bounds the number of entries of each index (by id, by
	// key); the least recently used go first. Zero means
	// DefaultMaxEntries.
	MaxEntries int
	// LoadTimeout bounds a backend lookup that is shared by concurrent
	// callers; each caller still stops waiting when its own context ends.
	// Zero means DefaultLoadTimeout.
	LoadTimeout time.Duration
	// MaxNegativeEntries bounds each index of remembered unknown ids and
	// keys. They are kept apart from the apps, so a flood of unknown keys
	// cannot evict a real app. Zero means DefaultMaxNegativeEntries.
	MaxNegativeEntries int
	// MaxConcurrentLoads bounds the backend lookups under way at once
	// (lookups joined by concurrent callers count once); beyond it a new
	// lookup fails with ErrOverloaded. Zero means DefaultMaxConcurrentLoads.
	MaxConcurrentLoads int
}

// DefaultOptions returns Sockudo's defaults: TTL 300 s, NegativeTTL 5 s,
// and the Default bounds above.
func DefaultOptions() Options {
	return Options{TTL: DefaultTTL, NegativeTTL: DefaultNegativeTTL, MaxEntries: DefaultMaxEntries,
		LoadTimeout: DefaultLoadTimeout, MaxNegativeEntries: DefaultMaxNegativeEntries, MaxConcurrentLoads: DefaultMaxConcurrentLoads}
}

// entry is one cached answer: an app (stored under its id and its key, the
// same *entry in both indexes) or, with app nil and in the negative
// indexes, an ErrNotFound error.
type entry struct {
	app     *appmanager.App
	err     error
	expires time.Time
}

type callKey struct {
	byKey bool
	v     string
}

// call is one backend lookup shared by concurrent callers.
type call struct {
	done chan struct{}
	app  *appmanager.App
	err  error
}

// Cache is an appmanager.Manager that caches another Manager's answers. It
// is safe for concurrent use. The apps it returns are shared: treat them as
// read-only.
type Cache struct {
	m    appmanager.Manager
	opts Options

	byID  *lru.Cache[string, *entry]
	byKey *lru.Cache[string, *entry]
	// negByID and negByKey remember unknown ids and keys.
	negByID  *lru.Cache[string, *entry]
	negByKey *lru.Cache[string, *entry]

	mu      sync.Mutex
	gen     uint64 // bumped by Invalidate and Purge: older loads are not stored
	calls   map[callKey]*call
	loading int // loads under way, at most MaxConcurrentLoads

	// testHookWait, when set by a test, is called by every caller that
	// joins a lookup already under way.
	testHookWait func()
}

var _ appmanager.Manager = (*Cache)(nil)

// New returns a Cache in front of m.
func New(m appmanager.Manager, opts Options) *Cache {
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	if opts.LoadTimeout <= 0 {
		opts.LoadTimeout = DefaultLoadTimeout
	}
	if opts.MaxNegativeEntries <= 0 {
		opts.MaxNegativeEntries = DefaultMaxNegativeEntries
	}
	if opts.MaxConcurrentLoads <= 0 {
		opts.MaxConcurrentLoads = DefaultMaxConcurrentLoads
	}
	c := &Cache{m: m, opts: opts, calls: make(map[callKey]*call)}
	c.negByID, _ = lru.New[string, *entry](opts.MaxNegativeEntries)
	c.negByKey, _ = lru.New[string, *entry](opts.MaxNegativeEntries)
	// An app lives in both indexes; when one index drops it, so does the
	// other, so that Invalidate(id) always finds the key.
	c.byID, _ = lru.NewWithEvict(opts.MaxEntries, func(_ string, e *entry) {
		if e.app != nil {
			removeIf(c.byKey, e.app.Key, e)
		}
	})
	c.byKey, _ = lru.NewWithEvict(opts.MaxEntries, func(_ string, e *entry) {
		if e.app != nil {
			removeIf(c.byID, e.app.ID, e)
		}
	})
	return c
}

// removeIf removes k from idx if it still holds e.
func removeIf(idx *lru.Cache[string, *entry], k string, e *entry) {
	if cur, ok := idx.Peek(k); ok && cur == e {
		idx.Remove(k)
	}
}

// FindByID returns the app with the id, from memory when it can. The
// result is shared: do not modify it.
func (c *Cache) FindByID(ctx context.Context, id string) (*appmanager.App, error) {
	return c.find(ctx, callKey{v: id})
}

// FindByKey returns the app with the key, from memory when it can. The
// result is shared: do not modify it.
func (c *Cache) FindByKey(ctx context.Context, key string) (*appmanager.App, error) {
	return c.find(ctx, callKey{byKey: true, v: key})
}

func (c *Cache) index(k callKey) *lru.Cache[string, *entry] {
	if k.byKey {
		return c.byKey
	}
	return c.byID
}

func (c *Cache) negIndex(k callKey) *lru.Cache[string, *entry] {
	if k.byKey {
		return c.negByKey
	}
	return c.negByID
}

// cached returns a live cached answer for k.
func (c *Cache) cached(k callKey) (*entry, bool) {
	now := time.Now()
	if e, ok := c.index(k).Get(k.v); ok && now.Before(e.expires) {
		return e, true
	}
	if e, ok := c.negIndex(k).Get(k.v); ok && now.Before(e.expires) {
		return e, true
	}
	return nil, false
}

func (c *Cache) fetch(ctx context.Context, k callKey) (*appmanager.App, error) {
	if k.byKey {
		return c.m.FindByKey(ctx, k.v)
	}
	return c.m.FindByID(ctx, k.v)
}

func (c *Cache) find(ctx context.Context, k callKey) (*appmanager.App, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(k.v) > appmanager.MaxIDLength {
		// No app can have it (App.Validate), and remembering it would let
		// a client fill the negative cache with header-sized keys.
		return nil, errTooLong
	}
	if c.opts.TTL <= 0 {
		return c.fetch(ctx, k)
	}
	if e, ok := c.cached(k); ok {
		return e.app, e.err
	}

	c.mu.Lock()
	cl, ok := c.calls[k]
	if !ok {
		if c.loading >= c.opts.MaxConcurrentLoads {
			c.mu.Unlock()
			return nil, ErrOverloaded
		}
		c.loading++
		cl = &call{done: make(chan struct{})}
		c.calls[k] = cl
		go c.load(context.WithoutCancel(ctx), k, cl, c.gen)
	}
	c.mu.Unlock()
	if ok && c.testHookWait != nil {
		c.testHookWait()
	}

	select {
	case <-cl.done:
		return cl.app, cl.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// load asks the Manager on behalf of every caller waiting on cl and caches
// the answer, unless the cache was invalidated meanwhile.
func (c *Cache) load(ctx context.Context, k callKey, cl *call, gen uint64) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.LoadTimeout)
	app, err := c.fetch(ctx, k)
	cancel()
	cl.app, cl.err = app, err

	c.mu.Lock()
	c.loading--
	if c.calls[k] == cl {
		delete(c.calls, k)
	}
	if gen == c.gen {
		now := time.Now()
		switch {
		case err == nil && app != nil:
			c.storeApp(app, now.Add(c.opts.TTL))
		case errors.Is(err, appmanager.ErrNotFound) && c.opts.NegativeTTL > 0:
			c.negIndex(k).Add(k.v, &entry{err: err, expires: now.Add(c.opts.NegativeTTL)})
		}
	}
	c.mu.Unlock()
	close(cl.done)
}

// storeApp caches app under its id and its key. Called with c.mu held.
func (c *Cache) storeApp(app *appmanager.App, expires time.Time) {
	e := &entry{app: app, expires: expires}
	if old, ok := c.byID.Peek(app.ID); ok && old.app != nil && old.app.Key != app.Key {
		removeIf(c.byKey, old.app.Key, old) // the key changed
	}
	if old, ok := c.byKey.Peek(app.Key); ok && old.app != nil && old.app.ID != app.ID {
		removeIf(c.byID, old.app.ID, old) // the key moved to another app
	}
	c.byID.Add(app.ID, e)
	c.byKey.Add(app.Key, e)
	c.negByID.Remove(app.ID)
	c.negByKey.Remove(app.Key)
}

// Invalidate forgets the app with the id, under its id and its key, and any
// remembered ErrNotFound for the id. Lookups already under way when it is
// called are not cached. Remembered ErrNotFound answers for keys expire
// after NegativeTTL.
func (c *Cache) Invalidate(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.calls)
	c.negByID.Remove(id)
	if e, ok := c.byID.Peek(id); ok {
		c.byID.Remove(id) // the eviction callback removes the key entry
		if e.app != nil {
			removeIf(c.byKey, e.app.Key, e)
		}
	}
}

// Purge forgets everything.
func (c *Cache) Purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.calls)
	c.byID.Purge()
	c.byKey.Purge()
	c.negByID.Purge()
	c.negByKey.Purge()
}

// Len returns the number of entries in the by-id and by-key indexes
// together (an app counts twice), unknown ids and keys included.
func (c *Cache) Len() int {
	return c.byID.Len() + c.byKey.Len() + c.negByID.Len() + c.negByKey.Len()
}

package memory

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/sockudo-go/sockudo/ratelimit"
)

// DefaultMaxKeys is the number of keys a Limiter tracks when
// Options.MaxKeys is zero.
const DefaultMaxKeys = 100_000

// maxShards is the number of shards for large limiters; fewer are used when
// MaxKeys is small, so that no shard is empty.
const maxShards = 32

// Options configures a Limiter. The zero value is usable.
type Options struct {
	// MaxKeys bounds the number of keys tracked at once; zero means
	// DefaultMaxKeys. See the package documentation for what happens when
	// it is reached.
	MaxKeys int
}

// Limiter is an in-process ratelimit.Limiter. It is safe for concurrent use.
type Limiter struct {
	seed   maphash.Seed
	shards []shard
}

type shard struct {
	mu      sync.Mutex
	size    int // capacity of windows
	windows *simplelru.LRU[string, *window]
}

// window is one key's open (or ended) fixed window.
type window struct {
	end  time.Time
	used int
}

var _ ratelimit.Limiter = (*Limiter)(nil)

// New returns a Limiter configured by opts, which may be nil. It fails if
// MaxKeys is negative.
func New(opts *Options) (*Limiter, error) {
	if opts == nil {
		opts = &Options{}
	}
	maxKeys := opts.MaxKeys
	switch {
	case maxKeys < 0:
		return nil, fmt.Errorf("memory: Options.MaxKeys is %d, want 0 (default) or more", maxKeys)
	case maxKeys == 0:
		maxKeys = DefaultMaxKeys
	}
	n := min(maxShards, maxKeys)
	l := &Limiter{seed: maphash.MakeSeed(), shards: make([]shard, n)}
	for i := range l.shards {
		// The first maxKeys%n shards take one extra key so the total is
		// exactly maxKeys.
		size := maxKeys / n
		if i < maxKeys%n {
			size++
		}
		lru, err := simplelru.NewLRU[string, *window](size, nil)
		if err != nil {
			return nil, fmt.Errorf("memory: %w", err)
		}
		l.shards[i].size, l.shards[i].windows = size, lru
	}
	return l, nil
}

// Allow consumes cost units of key's budget under lim; see package
// ratelimit for the rules.
func (l *Limiter) Allow(ctx context.Context, key string, lim ratelimit.Limit, cost int) (ratelimit.Result, error) {
	if err := ctx.Err(); err != nil {
		return ratelimit.Result{}, err
	}
	if err := ratelimit.Check(lim, cost); err != nil {
		return ratelimit.Result{}, fmt.Errorf("memory: %w", err)
	}
	now := time.Now()
	sh := &l.shards[maphash.String(l.seed, key)%uint64(len(l.shards))]

	sh.mu.Lock()
	defer sh.mu.Unlock()
	w, ok := sh.windows.Get(key)
	open := ok && now.Before(w.end)
	used := 0
	if open {
		used = w.used
	}
	if cost > lim.Max-used {
		res := ratelimit.Result{Limit: lim.Max, Remaining: max(0, lim.Max-used), ResetAt: now, RetryAfter: lim.Window}
		if open {
			res.ResetAt = w.end
			res.RetryAfter = w.end.Sub(now)
		}
		return res, nil
	}
	switch {
	case open:
		w.used += cost
	case ok: // reuse the ended window's entry
		w.end, w.used = now.Add(lim.Window), cost
	default:
		// At capacity, recycle the least recently used window.
		if sh.windows.Len() >= sh.size {
			_, w, _ = sh.windows.RemoveOldest()
		} else {
			w = new(window)
		}
		w.end, w.used = now.Add(lim.Window), cost
		sh.windows.Add(key, w)
	}
	return ratelimit.Result{Allowed: true, Limit: lim.Max, Remaining: lim.Max - w.used, ResetAt: w.end}, nil
}

// Len returns the number of keys currently tracked, open or ended; it is
// at most Options.MaxKeys.
func (l *Limiter) Len() int {
	n := 0
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		n += sh.windows.Len()
		sh.mu.Unlock()
	}
	return n
}

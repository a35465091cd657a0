package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/rueidis"

	"github.com/sockudo-go/sockudo/ratelimit"
)

// DefaultPrefix is the key prefix when Options.Prefix is empty; it is
// Sockudo's.
const DefaultPrefix = "sockudo_rl:"

// DefaultTimeout bounds each decision when Options.Timeout is zero.
const DefaultTimeout = time.Second

// Options configures a Limiter. The zero value is usable.
type Options struct {
	// Prefix is prepended to every key; empty means DefaultPrefix.
	Prefix string
	// Timeout bounds each Allow call; zero means DefaultTimeout and a
	// negative value leaves only the caller's context.
	Timeout time.Duration
}

// Limiter is a ratelimit.Limiter on Redis. It is safe for concurrent use.
type Limiter struct {
	client  rueidis.Client
	prefix  string
	timeout time.Duration
}

var _ ratelimit.Limiter = (*Limiter)(nil)

// allowScript makes one fixed-window decision on KEYS[1], which holds the
// units used in the open window and expires when it ends.
// ARGV: max, window in milliseconds, cost.
// Returns {allowed (1 or 0), units used, milliseconds left in the window
// (0 or less when no window is open)}.
var allowScript = rueidis.NewLuaScript(`
local max = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local ttl = redis.call('PTTL', KEYS[1])
local used = 0
if ttl > 0 then
  used = tonumber(redis.call('GET', KEYS[1])) or 0
end
if cost > max - used then
  return {0, used, ttl}
end
if ttl > 0 then
  used = redis.call('INCRBY', KEYS[1], cost)
else
  redis.call('SET', KEYS[1], cost, 'PX', window)
  used = cost
  ttl = window
end
return {1, used, ttl}
`)

// New returns a Limiter on client, which may be a standalone, Sentinel or
// Cluster client and may be shared with other drivers. opts may be nil.
func New(client rueidis.Client, opts *Options) (*Limiter, error) {
	if client == nil {
		return nil, errors.New("redis: nil client")
	}
	if opts == nil {
		opts = &Options{}
	}
	l := &Limiter{client: client, prefix: opts.Prefix, timeout: opts.Timeout}
	if l.prefix == "" {
		l.prefix = DefaultPrefix
	}
	if l.timeout == 0 {
		l.timeout = DefaultTimeout
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
		return ratelimit.Result{}, fmt.Errorf("redis: %w", err)
	}
	if l.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, l.timeout)
		defer cancel()
	}
	reply, err := allowScript.Exec(ctx, l.client, []string{l.prefix + key}, []string{
		strconv.Itoa(lim.Max), strconv.FormatInt(lim.Window.Milliseconds(), 10), strconv.Itoa(cost),
	}).AsIntSlice()
	if err == nil && len(reply) != 3 {
		err = fmt.Errorf("unexpected reply %v", reply)
	}
	if err != nil {
		return ratelimit.Result{}, fmt.Errorf("redis: rate limit %q: %w", key, err)
	}
	now := time.Now()
	allowed, used, left := reply[0] == 1, int(reply[1]), time.Duration(reply[2])*time.Millisecond
	res := ratelimit.Result{Allowed: allowed, Limit: lim.Max, Remaining: max(0, lim.Max-used), ResetAt: now}
	switch {
	case left > 0:
		res.ResetAt = now.Add(left)
		if !allowed {
			res.RetryAfter = left
		}
	case !allowed:
		res.RetryAfter = lim.Window
	}
	return res, nil
}

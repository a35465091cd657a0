package ratelimit

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"
)

// GuardOptions configures a Guard. A nil *GuardOptions fails open and logs
// to slog.Default().
type GuardOptions struct {
	// FailClosed denies calls while the limiter fails. By default they are
	// allowed (fail open): an outage of the limiter's backend should not
	// take the service down with it.
	FailClosed bool
	// RetryAfter is the RetryAfter of a call denied by FailClosed; zero
	// means one second.
	RetryAfter time.Duration
	// Logger receives a warning when the limiter starts failing and a
	// message when it recovers; nil means slog.Default().
	Logger *slog.Logger
}

// GuardStats are a Guard's counters.
type GuardStats struct {
	// Errors counts the calls the limiter failed and the Guard answered by
	// its policy.
	Errors uint64
	// Failing reports whether the latest decision failed.
	Failing bool
}

// Guard is a Limiter that answers by policy when the Limiter it wraps
// fails, so a backend outage turns into allowed (or denied) calls instead
// of errors. It is safe for concurrent use.
//
// Allow still returns an error in two cases that are not outages: when the
// caller's ctx is done, and for arguments matching ErrInvalid.
type Guard struct {
	l          Limiter
	failClosed bool
	retryAfter time.Duration
	log        *slog.Logger

	errors      atomic.Uint64
	failing     atomic.Bool
	outageStart atomic.Uint64 // errors when the current outage began
}

var _ Limiter = (*Guard)(nil)

// NewGuard wraps l with the failure policy in opts, which may be nil.
func NewGuard(l Limiter, opts *GuardOptions) *Guard {
	if opts == nil {
		opts = &GuardOptions{}
	}
	g := &Guard{l: l, failClosed: opts.FailClosed, retryAfter: opts.RetryAfter, log: opts.Logger}
	if g.retryAfter <= 0 {
		g.retryAfter = time.Second
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	return g
}

// Allow asks the wrapped limiter and, if it fails, answers by policy: the
// Result a fresh window would give (fail open; a cost above l.Max is still
// denied), or a denied Result with Remaining 0 and the configured
// RetryAfter (fail closed).
func (g *Guard) Allow(ctx context.Context, key string, l Limit, cost int) (Result, error) {
	res, err := g.l.Allow(ctx, key, l, cost)
	if err == nil {
		if g.failing.Load() && g.failing.CompareAndSwap(true, false) {
			g.log.LogAttrs(ctx, slog.LevelInfo, "ratelimit: limiter recovered",
				slog.Uint64("failed_calls", g.errors.Load()-g.outageStart.Load()))
		}
		return res, nil
	}
	if ctx.Err() != nil || errors.Is(err, ErrInvalid) {
		return Result{}, err
	}
	n := g.errors.Add(1)
	if g.failing.CompareAndSwap(false, true) {
		g.outageStart.Store(n - 1)
		policy := "fail open: allowing"
		if g.failClosed {
			policy = "fail closed: denying"
		}
		g.log.LogAttrs(ctx, slog.LevelWarn, "ratelimit: limiter failing, "+policy+" until it recovers",
			slog.String("error", err.Error()))
	}
	now := time.Now()
	if g.failClosed {
		return Result{Limit: l.Max, ResetAt: now.Add(g.retryAfter), RetryAfter: g.retryAfter}, nil
	}
	if cost > l.Max {
		return Result{Limit: l.Max, Remaining: l.Max, ResetAt: now, RetryAfter: l.Window}, nil
	}
	return Result{Allowed: true, Limit: l.Max, Remaining: l.Max - cost, ResetAt: now.Add(l.Window)}, nil
}

// Stats returns the Guard's counters.
func (g *Guard) Stats() GuardStats {
	return GuardStats{Errors: g.errors.Load(), Failing: g.failing.Load()}
}

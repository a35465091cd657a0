package ratelimit

import (
	"context"
	"time"
)

// Limiter decides whether an action under a key is allowed by a limit.
// Implementations must be safe for concurrent use, and shared
// implementations must make each decision atomically across processes.
type Limiter interface {
	// Allow consumes cost units of key's budget under limit l and reports
	// the outcome. A denied call consumes nothing.
	Allow(ctx context.Context, key string, l Limit, cost int) (Result, error)
}

// Limit is a budget of Max units per Window.
type Limit struct {
	Max    int
	Window time.Duration
}

// Result is the outcome of one Allow call.
type Result struct {
	// Allowed reports whether the action may proceed.
	Allowed bool
	// Limit is the budget's Max.
	Limit int
	// Remaining is what is left of the budget after this call.
	Remaining int
	// ResetAt is when the budget is next fully or partly restored.
	ResetAt time.Time
	// RetryAfter is how long a denied caller should wait; zero if allowed.
	RetryAfter time.Duration
}

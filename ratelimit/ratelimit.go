package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrInvalid is returned (wrapped) by Allow when the Limit or the cost is
// unusable: Max below 1, Window below one millisecond, or cost below 1.
var ErrInvalid = errors.New("ratelimit: invalid limit or cost")

// Limiter decides whether an action under a key is allowed by a limit.
// Implementations must be safe for concurrent use, and shared
// implementations must make each decision atomically across processes.
//
// Every implementation follows the fixed-window rules in the package
// documentation, so that the server's headers mean the same thing whatever
// the driver; ratelimittest checks them.
type Limiter interface {
	// Allow consumes cost units of key's budget under limit l and reports
	// the outcome. A denied call consumes nothing. Allow returns an error
	// matching ErrInvalid for a bad l or cost, the context's error when ctx
	// is done, and a wrapped backend error when the decision could not be
	// made.
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
	// ResetAt is when the current window ends and the full budget is
	// available again; it is the time of the call when no window is open.
	ResetAt time.Time
	// RetryAfter is how long a denied caller should wait; zero if allowed.
	RetryAfter time.Duration
}

// Check reports whether l and cost are valid arguments to Allow. Drivers
// call it first; its error wraps ErrInvalid.
func Check(l Limit, cost int) error {
	switch {
	case l.Max < 1:
		return fmt.Errorf("%w: Max is %d, want at least 1", ErrInvalid, l.Max)
	case l.Window < time.Millisecond:
		return fmt.Errorf("%w: Window is %v, want at least 1ms", ErrInvalid, l.Window)
	case cost < 1:
		return fmt.Errorf("%w: cost is %d, want at least 1", ErrInvalid, cost)
	}
	return nil
}

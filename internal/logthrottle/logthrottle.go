package logthrottle

import (
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Throttle lets through a burst of lines, then a steady rate. It is safe
// for concurrent use; the zero value is not usable, use New.
type Throttle struct {
	limit      *rate.Limiter
	suppressed atomic.Int64
}

// New returns a Throttle that lets burst lines through at once and then
// one every interval.
func New(interval time.Duration, burst int) *Throttle {
	return &Throttle{limit: rate.NewLimiter(rate.Every(interval), burst)}
}

// Allow reports whether a line may be written now and, when it may, how
// many were held back since the last one let through (for a
// "suppressed" attribute).
func (t *Throttle) Allow() (ok bool, suppressed int64) {
	if !t.limit.Allow() {
		t.suppressed.Add(1)
		return false, 0
	}
	return true, t.suppressed.Swap(0)
}

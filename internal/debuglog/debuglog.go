// Package debuglog writes debug lines of one kind (connect, subscribe,
// HTTP API refusals, ...) through a slog.Logger, capped by a token bucket
// so that a flood of events cannot fill the disk. Lines over the cap are
// counted and reported in one "debug lines suppressed" line before the
// next line of that kind that gets through.
package debuglog

import (
	"context"
	"log/slog"
	"time"

	"github.com/sockudo-go/sockudo/internal/logthrottle"
)

// Default cap: bursts of 50 lines per kind, then 5 a second.
const (
	DefaultBurst = 50
	DefaultRate  = 5
)

// Sampler writes one kind of debug line. Its methods are safe for
// concurrent use; a nil *Sampler writes nothing.
type Sampler struct {
	log      *slog.Logger
	kind     string
	throttle *logthrottle.Throttle
}

// New returns a Sampler of the given kind writing to log, capped at
// DefaultBurst lines then DefaultRate a second.
func New(log *slog.Logger, kind string) *Sampler {
	return NewWithRate(log, kind, DefaultBurst, time.Second/DefaultRate)
}

// NewWithRate returns a Sampler with its own cap: burst lines at once,
// then one every interval.
func NewWithRate(log *slog.Logger, kind string, burst int, every time.Duration) *Sampler {
	return &Sampler{log: log, kind: kind, throttle: logthrottle.New(every, burst)}
}

// Enabled reports whether debug lines are written at all; callers check
// it before building attributes, so the cost is one level check when
// debug logging is off.
func (s *Sampler) Enabled(ctx context.Context) bool {
	return s != nil && s.log.Enabled(ctx, slog.LevelDebug)
}

// Log writes a debug line unless the kind is over its cap.
func (s *Sampler) Log(ctx context.Context, msg string, attrs ...slog.Attr) {
	if !s.Enabled(ctx) {
		return
	}
	ok, dropped := s.throttle.Allow()
	if !ok {
		return
	}
	if dropped > 0 {
		s.log.LogAttrs(ctx, slog.LevelDebug, "debug lines suppressed",
			slog.String("kind", s.kind), slog.Int64("count", dropped))
	}
	s.log.LogAttrs(ctx, slog.LevelDebug, msg, attrs...)
}

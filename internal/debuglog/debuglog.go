// Package debuglog writes debug lines of one kind (connect, subscribe,
// HTTP API refusals, ...) through a slog.Logger, capped by a token bucket
// so that a flood of events cannot fill the disk. Lines over the cap are
// counted and reported in one "debug lines suppressed" line before the
// next line of that kind that gets through.
package debuglog

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Default cap: bursts of 50 lines per kind, then 5 a second.
const (
	DefaultBurst = 50
	DefaultRate  = 5
)

// Sampler writes one kind of debug line. Its methods are safe for
// concurrent use; a nil *Sampler writes nothing.
type Sampler struct {
	log   *slog.Logger
	kind  string
	burst float64
	rate  float64 // tokens per second
	now   func() time.Time

	mu         sync.Mutex
	tokens     float64
	last       time.Time
	suppressed int
}

// New returns a Sampler of the given kind writing to log, capped at
// DefaultBurst lines then DefaultRate a second.
func New(log *slog.Logger, kind string) *Sampler {
	return NewWithRate(log, kind, DefaultBurst, DefaultRate, time.Now)
}

// NewWithRate returns a Sampler with its own cap: burst lines at once,
// refilled at perSecond; now is the clock (time.Now in production).
func NewWithRate(log *slog.Logger, kind string, burst int, perSecond float64, now func() time.Time) *Sampler {
	return &Sampler{log: log, kind: kind, burst: float64(burst), rate: perSecond, now: now, tokens: float64(burst), last: now()}
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
	ok, dropped := s.take()
	if !ok {
		return
	}
	if dropped > 0 {
		s.log.LogAttrs(ctx, slog.LevelDebug, "debug lines suppressed",
			slog.String("kind", s.kind), slog.Int("count", dropped))
	}
	s.log.LogAttrs(ctx, slog.LevelDebug, msg, attrs...)
}

// take takes a token, returning whether one was there and, if so, how
// many lines were suppressed since the last one that was written.
func (s *Sampler) take() (bool, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if d := now.Sub(s.last); d > 0 {
		s.tokens = min(s.burst, s.tokens+d.Seconds()*s.rate)
		s.last = now
	}
	if s.tokens < 1 {
		s.suppressed++
		return false, 0
	}
	s.tokens--
	n := s.suppressed
	s.suppressed = 0
	return true, n
}

package queue

import (
	"sync"
	"sync/atomic"
	"time"
)

// Meter keeps the per-process figures of Stats for a driver: jobs in
// handlers, handler outcomes, and a moving average of the time from
// enqueue to a successful handler return. The zero value is ready; it is
// safe for concurrent use.
type Meter struct {
	inFlight          atomic.Int64
	processed, failed atomic.Uint64

	mu  sync.Mutex
	avg time.Duration
}

// Begin records a job handed to a handler.
func (m *Meter) Begin() { m.inFlight.Add(1) }

// End records that a handler returned, whatever its outcome.
func (m *Meter) End() { m.inFlight.Add(-1) }

// Succeeded counts a handled job and folds its enqueue-to-done latency into
// the average (weight 1/16, so the figure follows recent jobs).
func (m *Meter) Succeeded(enqueuedAt time.Time) {
	m.processed.Add(1)
	d := time.Since(enqueuedAt)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.avg == 0 {
		m.avg = d
		return
	}
	m.avg += (d - m.avg) / 16
}

// Failed counts a handler error.
func (m *Meter) Failed() { m.failed.Add(1) }

// InFlight returns the number of jobs in handlers now.
func (m *Meter) InFlight() int { return int(m.inFlight.Load()) }

// Stats returns the figures with the backlog depth the driver measured.
func (m *Meter) Stats(depth int) Stats {
	m.mu.Lock()
	avg := m.avg
	m.mu.Unlock()
	return Stats{
		Depth:      depth,
		InFlight:   m.InFlight(),
		Processed:  m.processed.Load(),
		Failed:     m.failed.Load(),
		AvgLatency: avg,
	}
}

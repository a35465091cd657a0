package queue

import (
	"sync"
	"sync/atomic"
	"time"
)

// meter keeps the per-process figures of Stats: jobs in handlers, handler
// outcomes, and a moving average of the time from enqueue to a successful
// handler return. The zero value is ready; it is safe for concurrent use.
type meter struct {
	inFlight          atomic.Int64
	processed, failed atomic.Uint64

	mu  sync.Mutex
	avg time.Duration
}

// begin records a job handed to a handler.
func (m *meter) begin() { m.inFlight.Add(1) }

// end records that a job left its handler and was settled.
func (m *meter) end() { m.inFlight.Add(-1) }

// succeeded counts a handled job and folds its enqueue-to-done latency into
// the average (weight 1/16, so the figure follows recent jobs).
func (m *meter) succeeded(enqueuedAt time.Time) {
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

// failedOne counts a handler error.
func (m *meter) failedOne() { m.failed.Add(1) }

// stats returns the figures, given the number of jobs the driver reports
// as not yet acknowledged; the jobs in this process's handlers are taken
// out of it for Depth.
func (m *meter) stats(pending int) Stats {
	inFlight := int(m.inFlight.Load())
	m.mu.Lock()
	avg := m.avg
	m.mu.Unlock()
	return Stats{
		Depth:      max(0, pending-inFlight),
		InFlight:   inFlight,
		Processed:  m.processed.Load(),
		Failed:     m.failed.Load(),
		AvgLatency: avg,
	}
}

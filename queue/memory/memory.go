package memory

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/sockudo-go/sockudo/queue"
)

// ErrFull is returned (wrapped) by Enqueue when the queue already holds
// Options.Capacity unacknowledged jobs.
var ErrFull = errors.New("memory queue: full")

// Options configures a Queue. The zero value of each field selects its
// default.
type Options struct {
	// Capacity is the most unacknowledged jobs the queue holds (default
	// 100000).
	Capacity int
	// Options configures the consumer loop: concurrency and back-off.
	queue.Options
}

// Queue is an in-process queue.Queue: the portable consumer loop over
// jobs kept in memory. Create it with New.
type Queue struct {
	*queue.Portable
}

// New returns an empty queue. opts may be nil.
func New(opts *Options) (*Queue, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Capacity < 0 {
		return nil, fmt.Errorf("memory queue: Options.Capacity is negative (%d)", o.Capacity)
	}
	if o.Capacity == 0 {
		o.Capacity = 100000
	}
	p, err := queue.New(&store{capacity: o.Capacity, wake: make(chan struct{})}, &o.Options)
	if err != nil {
		return nil, err
	}
	return &Queue{p}, nil
}

// store is the queue.Driver of a Queue.
type store struct {
	capacity int

	mu      sync.Mutex
	closed  bool
	ready   fifo
	delayed dueHeap
	held    int           // unacknowledged jobs: ready, delayed and claimed
	wake    chan struct{} // closed when a job becomes ready or the store closes
	waiting bool          // a Receive holds wake
	seq     uint64
}

// entry is a job waiting in the store.
type entry struct {
	job queue.Job
	due time.Time
}

// Send stores a copy of payload; it fails with ErrFull at capacity.
func (s *store) Send(_ context.Context, payload []byte) error {
	p := append([]byte(nil), payload...)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return queue.ErrClosed
	}
	if s.held >= s.capacity {
		return fmt.Errorf("%w (capacity %d)", ErrFull, s.capacity)
	}
	s.seq++
	s.held++
	s.ready.push(&entry{job: queue.Job{ID: strconv.FormatUint(s.seq, 10), Payload: p, EnqueuedAt: time.Now()}})
	s.broadcast()
	return nil
}

// Receive waits for due jobs and claims up to max of them.
func (s *store) Receive(ctx context.Context, max int) ([]*queue.Delivery, error) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, queue.ErrClosed
		}
		now := time.Now()
		for len(s.delayed) > 0 && !s.delayed[0].due.After(now) {
			s.ready.push(heap.Pop(&s.delayed).(*entry))
		}
		if s.ready.len() > 0 {
			ds := make([]*queue.Delivery, 0, min(max, s.ready.len()))
			for len(ds) < max && s.ready.len() > 0 {
				e := s.ready.pop()
				e.job.Attempt++
				ds = append(ds, &queue.Delivery{Job: e.job})
			}
			s.mu.Unlock()
			return ds, nil
		}
		wake := s.wake
		s.waiting = true
		var due <-chan time.Time
		if len(s.delayed) > 0 {
			d := s.delayed[0].due.Sub(now)
			if timer == nil {
				timer = time.NewTimer(d)
			} else {
				timer.Reset(d)
			}
			due = timer.C
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-wake:
		case <-due:
		}
	}
}

// Ack forgets a claimed job.
func (s *store) Ack(context.Context, *queue.Delivery) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return queue.ErrClosed
	}
	s.held--
	return nil
}

// Retry puts a claimed job back, ready after delay.
func (s *store) Retry(_ context.Context, d *queue.Delivery, delay time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return queue.ErrClosed
	}
	e := &entry{job: d.Job}
	if delay <= 0 {
		s.ready.push(e)
	} else {
		e.due = time.Now().Add(delay)
		heap.Push(&s.delayed, e)
	}
	s.broadcast()
	return nil
}

// Pending returns the number of unacknowledged jobs.
func (s *store) Pending(context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held, nil
}

// Close drops every job.
func (s *store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.ready = fifo{}
	s.delayed = nil
	s.held = 0
	s.waiting = true
	s.broadcast()
	return nil
}

// broadcast wakes every Receive waiting for a job. s.mu must be held.
func (s *store) broadcast() {
	if !s.waiting {
		return
	}
	close(s.wake)
	s.wake = make(chan struct{})
	s.waiting = false
}

// fifo is a first-in, first-out list of entries.
type fifo struct {
	items []*entry
	head  int
}

func (f *fifo) len() int { return len(f.items) - f.head }

func (f *fifo) push(e *entry) { f.items = append(f.items, e) }

func (f *fifo) pop() *entry {
	if f.head == len(f.items) {
		return nil
	}
	e := f.items[f.head]
	f.items[f.head] = nil
	f.head++
	switch {
	case f.head == len(f.items):
		f.items, f.head = f.items[:0], 0
	case f.head > 1024 && f.head*2 > len(f.items):
		n := copy(f.items, f.items[f.head:])
		clear(f.items[n:])
		f.items, f.head = f.items[:n], 0
	}
	return e
}

// dueHeap orders delayed entries by due time.
type dueHeap []*entry

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h dueHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)        { *h = append(*h, x.(*entry)) }
func (h *dueHeap) Pop() any {
	old := *h
	n := len(old)
	e := old[n-1]
	old[n-1] = nil
	*h = old[:n-1]
	return e
}

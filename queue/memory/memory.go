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
	// Concurrency is the number of handlers each Consume call runs at once
	// (default 5).
	Concurrency int
	// RetryBase and RetryMax bound the exponential back-off after a
	// handler error without a RetryAfter delay (defaults 1 s and 60 s).
	RetryBase, RetryMax time.Duration
}

func (o *Options) setDefaults() error {
	if o.Capacity < 0 {
		return fmt.Errorf("memory queue: Options.Capacity is negative (%d)", o.Capacity)
	}
	if o.Concurrency < 0 {
		return fmt.Errorf("memory queue: Options.Concurrency is negative (%d)", o.Concurrency)
	}
	if o.RetryBase < 0 || o.RetryMax < 0 {
		return fmt.Errorf("memory queue: Options.RetryBase (%v) and RetryMax (%v) must not be negative", o.RetryBase, o.RetryMax)
	}
	if o.Capacity == 0 {
		o.Capacity = 100000
	}
	if o.Concurrency == 0 {
		o.Concurrency = 5
	}
	if o.RetryBase == 0 {
		o.RetryBase = time.Second
	}
	if o.RetryMax == 0 {
		o.RetryMax = time.Minute
	}
	if o.RetryMax < o.RetryBase {
		return fmt.Errorf("memory queue: Options.RetryMax (%v) is less than RetryBase (%v)", o.RetryMax, o.RetryBase)
	}
	return nil
}

// Queue is an in-process queue.Queue. Create it with New.
type Queue struct {
	opts Options
	done chan struct{} // closed by Close

	mu       sync.Mutex
	closed   bool
	ready    fifo
	delayed  dueHeap
	held     int           // unacknowledged jobs: ready, delayed and in flight
	inFlight int           // jobs handed to handlers
	wake     chan struct{} // closed when a job becomes ready or the queue closes
	waiting  bool          // someone holds wake
	seq      uint64

	// meter counts outcomes and latency; in-flight jobs are counted above,
	// under mu, because Close resets them.
	meter queue.Meter
}

var (
	_ queue.Queue         = (*Queue)(nil)
	_ queue.StatsReporter = (*Queue)(nil)
)

// New returns an empty queue. opts may be nil.
func New(opts *Options) (*Queue, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if err := o.setDefaults(); err != nil {
		return nil, err
	}
	return &Queue{opts: o, done: make(chan struct{}), wake: make(chan struct{})}, nil
}

// entry is a job held by the queue.
type entry struct {
	job queue.Job
	due time.Time
}

// Enqueue adds a copy of payload. It returns an error matching ErrFull when
// the queue is at capacity and queue.ErrClosed after Close.
func (q *Queue) Enqueue(ctx context.Context, payload []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p := append([]byte(nil), payload...)
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return queue.ErrClosed
	}
	if q.held >= q.opts.Capacity {
		return fmt.Errorf("%w (capacity %d)", ErrFull, q.opts.Capacity)
	}
	q.seq++
	q.held++
	q.ready.push(&entry{job: queue.Job{
		ID:         strconv.FormatUint(q.seq, 10),
		Payload:    p,
		EnqueuedAt: time.Now(),
	}})
	q.broadcast()
	return nil
}

// Consume runs h on jobs, up to Options.Concurrency at once, until ctx is
// cancelled or the queue is closed.
func (q *Queue) Consume(ctx context.Context, h queue.Handler) error {
	q.mu.Lock()
	closed := q.closed
	q.mu.Unlock()
	if closed {
		return queue.ErrClosed
	}
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-q.done:
			cancel()
		case <-hctx.Done():
		}
	}()

	sem := make(chan struct{}, q.opts.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case sem <- struct{}{}:
		case <-hctx.Done():
			return q.exitErr(ctx)
		}
		e := q.next(hctx)
		if e == nil {
			<-sem
			return q.exitErr(ctx)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			job := e.job
			q.finish(e, h(hctx, &job))
		}()
	}
}

func (q *Queue) exitErr(ctx context.Context) error {
	select {
	case <-q.done:
		return queue.ErrClosed
	default:
		return ctx.Err()
	}
}

// next waits for a job that is due and marks it in flight; it returns nil
// when ctx is done or the queue closes.
func (q *Queue) next(ctx context.Context) *entry {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		q.mu.Lock()
		if q.closed {
			q.mu.Unlock()
			return nil
		}
		now := time.Now()
		for len(q.delayed) > 0 && !q.delayed[0].due.After(now) {
			q.ready.push(heap.Pop(&q.delayed).(*entry))
		}
		if e := q.ready.pop(); e != nil {
			e.job.Attempt++
			q.inFlight++
			q.mu.Unlock()
			return e
		}
		wake := q.wake
		q.waiting = true
		var wait <-chan time.Time
		if len(q.delayed) > 0 {
			d := q.delayed[0].due.Sub(now)
			if timer == nil {
				timer = time.NewTimer(d)
			} else {
				timer.Reset(d)
			}
			wait = timer.C
		}
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-wait:
		}
	}
}

// finish records a handler's outcome for e.
func (q *Queue) finish(e *entry, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	q.inFlight--
	if err == nil {
		q.held--
		q.meter.Succeeded(e.job.EnqueuedAt)
		return
	}
	q.meter.Failed()
	delay, drop := queue.RetryDelay(err, e.job.Attempt, q.opts.RetryBase, q.opts.RetryMax)
	if drop {
		q.held--
		return
	}
	if delay <= 0 {
		q.ready.push(e)
	} else {
		e.due = time.Now().Add(delay)
		heap.Push(&q.delayed, e)
	}
	q.broadcast()
}

// broadcast wakes every consumer waiting in next. q.mu must be held.
func (q *Queue) broadcast() {
	if !q.waiting {
		return
	}
	close(q.wake)
	q.wake = make(chan struct{})
	q.waiting = false
}

// Stats reports the queue's backlog and this process's handler outcomes.
func (q *Queue) Stats(context.Context) (queue.Stats, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	st := q.meter.Stats(q.ready.len() + len(q.delayed))
	st.InFlight = q.inFlight
	return st, nil
}

// Close drops every job and stops consumers. Handlers still running are
// not waited for; their outcome is ignored.
func (q *Queue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil
	}
	q.closed = true
	q.ready = fifo{}
	q.delayed = nil
	q.held, q.inFlight = 0, 0
	close(q.done)
	q.waiting = true
	q.broadcast()
	return nil
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

package queuetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sockudo-go/sockudo/queue"
)

// Harness tells Run how to open queues of the driver under test. New
// fields are added as capability flags, so existing harnesses keep
// compiling.
type Harness struct {
	// Open prepares fresh storage that no other test uses (a unique queue
	// name or key prefix, for example derived from t.Name()) and returns a
	// function that opens queues on it. Clean the storage up with
	// t.Cleanup. The driver's retry back-off for plain handler errors
	// should be short (tens of milliseconds) so the suite runs quickly.
	Open func(t *testing.T) Opener
	// MultiInstance reports that the Opener may be called more than once
	// per storage and that the queues it returns share their jobs, as
	// separate processes on one backend do. It enables the tests of
	// competing queue instances and of a queue closed under a running
	// handler.
	MultiInstance bool
	// Lease bounds the time the driver takes to hand a job to another
	// consumer after the consumer holding it stopped without acknowledging
	// it (a lease or visibility timeout). Zero means two seconds.
	Lease time.Duration
	// Sequential reports that the backend hands out one job at a time
	// whatever the concurrency (an SQS FIFO queue with one message group);
	// the concurrency test is then skipped.
	Sequential bool
	// ApproximateStats reports that the backend's counts lag behind (SQS
	// on AWS): the suite then checks only that Stats settle at zero, not
	// that Depth and InFlight stay above zero while jobs remain.
	ApproximateStats bool
}

// Opener opens a queue on the storage prepared by Harness.Open. Each of
// its Consume calls runs up to concurrency handlers at once. The Opener
// closes the queue with t.Cleanup.
type Opener func(t *testing.T, concurrency int) queue.Queue

// Run runs the conformance suite against the driver that h opens. Its
// subtests run in parallel.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.Open == nil {
		t.Fatal("queuetest: Harness.Open is nil")
	}
	s := &suite{h: h, lease: h.Lease}
	if s.lease <= 0 {
		s.lease = 2 * time.Second
	}
	tests := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"EnqueueConsume", s.testEnqueueConsume},
		{"BinaryPayloads", s.testBinaryPayloads},
		{"CompetingConsumers", s.testCompetingConsumers},
		{"RetryOnError", s.testRetryOnError},
		{"RetryAfter", s.testRetryAfter},
		{"AckAndPermanentAreFinal", s.testAckAndPermanentAreFinal},
		{"CancelMidHandler", s.testCancelMidHandler},
		{"ClosedUnderRunningHandler", s.testClosedUnderRunningHandler},
		{"LongHandlerKeepsItsJob", s.testLongHandlerKeepsItsJob},
		{"Concurrency", s.testConcurrency},
		{"Closed", s.testClosed},
		{"StatsWhileDraining", s.testStatsWhileDraining},
		{"EnqueueDoneContext", s.testEnqueueDoneContext},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t)
		})
	}
}

type suite struct {
	h     Harness
	lease time.Duration
}

// patience is how long the suite waits for something that should happen.
func (s *suite) patience() time.Duration { return 10*time.Second + 3*s.lease }

func (s *suite) testEnqueueConsume(t *testing.T) {
	q := s.h.Open(t)(t, 2)
	before := time.Now()
	const n = 10
	for i := range n {
		enqueue(t, q, fmt.Sprintf("job-%d", i))
	}
	after := time.Now()

	rec := &recorder{}
	c := startConsumer(t, q, rec.handler(nil))
	waitFor(t, s.patience(), "10 jobs handled", func() bool { return rec.len() >= n })
	if err := c.stop(t); !errors.Is(err, context.Canceled) {
		t.Errorf("Consume after cancel = %v, want context.Canceled", err)
	}

	ids := make(map[string]bool)
	seen := make(map[string]int)
	for _, d := range rec.all() {
		seen[string(d.job.Payload)]++
		if d.job.ID == "" {
			t.Errorf("job %q has an empty ID", d.job.Payload)
		}
		if ids[d.job.ID] {
			t.Errorf("ID %q given to two jobs", d.job.ID)
		}
		ids[d.job.ID] = true
		if d.job.Attempt != 1 {
			t.Errorf("job %q: Attempt = %d on first delivery, want 1", d.job.Payload, d.job.Attempt)
		}
		const slack = 2 * time.Second // clocks of a remote backend
		if d.job.EnqueuedAt.Before(before.Add(-slack)) || d.job.EnqueuedAt.After(after.Add(slack)) {
			t.Errorf("job %q: EnqueuedAt = %v, want between %v and %v", d.job.Payload, d.job.EnqueuedAt, before, after)
		}
	}
	for i := range n {
		p := fmt.Sprintf("job-%d", i)
		if seen[p] != 1 {
			t.Errorf("job %q handled %d times, want 1", p, seen[p])
		}
	}
}

func (s *suite) testBinaryPayloads(t *testing.T) {
	q := s.h.Open(t)(t, 2)
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	big := make([]byte, 64<<10)
	for i := range big {
		big[i] = byte(i*7 + i>>8)
	}
	payloads := [][]byte{
		{},
		all,
		[]byte("\xff\xfe invalid UTF-8 \xc3\x28 and NUL \x00 bytes"),
		[]byte(`{"time_ms":1,"events":[{"name":"channel_occupied","channel":"a"}]}`),
		big,
	}
	for _, p := range payloads {
		buf := append([]byte(nil), p...)
		if err := q.Enqueue(context.Background(), buf); err != nil {
			t.Fatalf("Enqueue(%d bytes): %v", len(p), err)
		}
		// The queue must not keep the caller's slice.
		for i := range buf {
			buf[i] = '!'
		}
	}
	rec := &recorder{}
	startConsumer(t, q, rec.handler(nil))
	waitFor(t, s.patience(), "binary jobs handled", func() bool { return rec.len() >= len(payloads) })
	got := rec.all()
	for i, p := range payloads {
		n := 0
		for _, d := range got {
			if bytes.Equal(d.job.Payload, p) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("payload %d (%d bytes) delivered intact %d times, want 1", i, len(p), n)
		}
	}
}

func (s *suite) testCompetingConsumers(t *testing.T) {
	open := s.h.Open(t)
	queues := []queue.Queue{open(t, 2)}
	if s.h.MultiInstance {
		queues = append(queues, open(t, 2))
	}
	rec := &recorder{}
	for _, q := range queues {
		startConsumer(t, q, rec.handler(nil))
		startConsumer(t, q, rec.handler(nil))
	}
	const n = 30
	for i := range n {
		enqueue(t, queues[i%len(queues)], fmt.Sprintf("job-%d", i))
	}
	waitFor(t, s.patience(), "30 jobs handled", func() bool { return rec.distinct() >= n })
	counts := make(map[string]int)
	for _, d := range rec.all() {
		counts[string(d.job.Payload)]++
	}
	for p, c := range counts {
		if c != 1 {
			t.Errorf("job %q handled %d times by competing consumers, want 1", p, c)
		}
	}
}

func (s *suite) testRetryOnError(t *testing.T) {
	q := s.h.Open(t)(t, 1)
	rec := &recorder{}
	startConsumer(t, q, rec.handler(func(j *queue.Job) error {
		if j.Attempt == 1 {
			return errors.New("queuetest: first attempt fails")
		}
		return nil
	}))
	enqueue(t, q, "flaky")
	waitFor(t, s.patience(), "redelivery after a handler error", func() bool { return rec.len() >= 2 })
	got := rec.all()
	first, second := got[0].job, got[1].job
	if first.Attempt != 1 || second.Attempt <= first.Attempt {
		t.Errorf("deliveries had Attempt %d then %d, want 1 then more", first.Attempt, second.Attempt)
	}
	if second.ID != first.ID {
		t.Errorf("redelivered job ID = %q, want %q", second.ID, first.ID)
	}
	if string(second.Payload) != "flaky" {
		t.Errorf("redelivered payload = %q, want %q", second.Payload, "flaky")
	}
	if !second.EnqueuedAt.Equal(first.EnqueuedAt) {
		t.Errorf("redelivered EnqueuedAt = %v, want %v (the first enqueue)", second.EnqueuedAt, first.EnqueuedAt)
	}
}

func (s *suite) testRetryAfter(t *testing.T) {
	q := s.h.Open(t)(t, 1)
	const delay = 800 * time.Millisecond
	var failedAt atomic.Int64
	rec := &recorder{}
	startConsumer(t, q, rec.handler(func(j *queue.Job) error {
		if j.Attempt == 1 {
			failedAt.CompareAndSwap(0, time.Now().UnixNano())
			return queue.RetryAfter(errors.New("queuetest: not yet"), delay)
		}
		return nil
	}))
	enqueue(t, q, "later")
	waitFor(t, s.patience(), "redelivery after RetryAfter", func() bool { return rec.len() >= 2 })
	second := rec.all()[1]
	// A backend clock with millisecond resolution may round a little.
	if gap := second.at.Sub(time.Unix(0, failedAt.Load())); gap < delay-5*time.Millisecond {
		t.Errorf("redelivered %v after RetryAfter(%v), want no sooner", gap, delay)
	}
	if second.job.Attempt < 2 {
		t.Errorf("redelivered with Attempt %d, want more than 1", second.job.Attempt)
	}
}

func (s *suite) testAckAndPermanentAreFinal(t *testing.T) {
	q := s.h.Open(t)(t, 2)
	rec := &recorder{}
	startConsumer(t, q, rec.handler(func(j *queue.Job) error {
		if string(j.Payload) == "drop" {
			return queue.Permanent(errors.New("queuetest: cannot succeed"))
		}
		return nil
	}))
	enqueue(t, q, "ack")
	enqueue(t, q, "drop")
	waitFor(t, s.patience(), "both jobs handled", func() bool { return rec.len() >= 2 })
	// Nothing can signal that a job will never come back: watch for a
	// while longer than a lease and a few back-offs.
	time.Sleep(s.lease + time.Second)
	for _, d := range rec.all() {
		if d.job.Attempt != 1 {
			t.Errorf("job %q redelivered (Attempt %d) after it was acknowledged or dropped", d.job.Payload, d.job.Attempt)
		}
	}
	if n := rec.len(); n != 2 {
		t.Errorf("%d deliveries, want 2", n)
	}
	sr, ok := q.(queue.StatsReporter)
	if !ok {
		return
	}
	var st queue.Stats
	waitFor(t, s.patience(), "Stats to show an empty queue", func() bool {
		var err error
		st, err = sr.Stats(context.Background())
		return err == nil && st.Depth == 0 && st.InFlight == 0
	})
	if st.Processed < 1 || st.Failed < 1 {
		t.Errorf("Stats = %+v, want Processed >= 1 and Failed >= 1", st)
	}
}

func (s *suite) testCancelMidHandler(t *testing.T) {
	open := s.h.Open(t)
	q := open(t, 1)
	started := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	c := startConsumer(t, q, func(ctx context.Context, j *queue.Job) error {
		once.Do(func() { close(started) })
		<-ctx.Done()
		<-release
		return ctx.Err()
	})
	enqueue(t, q, "interrupted")
	waitChan(t, started, s.patience(), "handler to start")
	c.cancel()
	select {
	case err := <-c.done:
		c.record(err)
		t.Fatalf("Consume returned (%v) while its handler was still running", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if err := c.stop(t); !errors.Is(err, context.Canceled) {
		t.Errorf("Consume after cancel = %v, want context.Canceled", err)
	}

	next := q
	if s.h.MultiInstance {
		next = open(t, 1)
	}
	rec := &recorder{}
	startConsumer(t, next, rec.handler(nil))
	waitFor(t, s.patience(), "redelivery of the interrupted job", func() bool { return rec.len() >= 1 })
	if j := rec.all()[0].job; string(j.Payload) != "interrupted" || j.Attempt < 2 {
		t.Errorf("redelivered %q with Attempt %d, want %q with Attempt 2 or more", j.Payload, j.Attempt, "interrupted")
	}
}

func (s *suite) testClosedUnderRunningHandler(t *testing.T) {
	if !s.h.MultiInstance {
		t.Skip("harness opens one instance per storage")
	}
	open := s.h.Open(t)
	dead := open(t, 1)
	started := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	c := startConsumer(t, dead, func(ctx context.Context, j *queue.Job) error {
		once.Do(func() { close(started) })
		<-release // a hung handler: it ignores ctx
		return nil
	})
	t.Cleanup(func() { closeOnce(release) })
	enqueue(t, dead, "orphan")
	waitChan(t, started, s.patience(), "handler to start")

	closed := make(chan error, 1)
	go func() { closed <- dead.Close() }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close blocked on a running handler")
	}

	rec := &recorder{}
	startConsumer(t, open(t, 1), rec.handler(nil))
	waitFor(t, s.patience(), "another instance to take the orphaned job", func() bool { return rec.len() >= 1 })
	if j := rec.all()[0].job; string(j.Payload) != "orphan" || j.Attempt < 2 {
		t.Errorf("got %q with Attempt %d, want %q with Attempt 2 or more", j.Payload, j.Attempt, "orphan")
	}

	closeOnce(release)
	if err := c.stop(t); !errors.Is(err, queue.ErrClosed) {
		t.Errorf("Consume on a closed queue = %v, want queue.ErrClosed", err)
	}
}

func (s *suite) testLongHandlerKeepsItsJob(t *testing.T) {
	open := s.h.Open(t)
	first := open(t, 1)
	started := make(chan struct{})
	var once sync.Once
	hold := 2 * s.lease
	startConsumer(t, first, func(ctx context.Context, j *queue.Job) error {
		once.Do(func() { close(started) })
		select { // a slow but healthy handler: its lease must be kept alive
		case <-time.After(hold):
		case <-ctx.Done():
		}
		return nil
	})
	enqueue(t, first, "slow")
	waitChan(t, started, s.patience(), "handler to start")
	other := first
	if s.h.MultiInstance {
		other = open(t, 1)
	}
	rec := &recorder{}
	startConsumer(t, other, rec.handler(nil))
	time.Sleep(hold + time.Second)
	if n := rec.len(); n != 0 {
		t.Errorf("job handed to another consumer %d times while its handler was still running", n)
	}
}

func (s *suite) testConcurrency(t *testing.T) {
	if s.h.Sequential {
		t.Skip("backend hands out one job at a time")
	}
	const n = 3
	q := s.h.Open(t)(t, n)
	var running, peak, handled atomic.Int32
	release := make(chan struct{})
	t.Cleanup(func() { closeOnce(release) })
	startConsumer(t, q, func(ctx context.Context, j *queue.Job) error {
		cur := running.Add(1)
		for {
			p := peak.Load()
			if cur <= p || peak.CompareAndSwap(p, cur) {
				break
			}
		}
		select {
		case <-release:
		case <-ctx.Done():
		}
		running.Add(-1)
		handled.Add(1)
		return nil
	})
	for i := range 2 * n {
		enqueue(t, q, fmt.Sprintf("job-%d", i))
	}
	waitFor(t, s.patience(), fmt.Sprintf("%d handlers running at once", n), func() bool { return running.Load() == n })
	// Give a consumer that ignores its limit the chance to start more.
	time.Sleep(100 * time.Millisecond)
	if p := peak.Load(); p > n {
		t.Errorf("%d handlers ran at once, want at most %d", p, n)
	}
	close(release)
	waitFor(t, s.patience(), "all jobs handled", func() bool { return handled.Load() == 2*n })
	if p := peak.Load(); p != n {
		t.Errorf("peak concurrency %d, want %d", p, n)
	}
}

func (s *suite) testClosed(t *testing.T) {
	q := s.h.Open(t)(t, 1)
	c := startConsumer(t, q, func(context.Context, *queue.Job) error { return nil })
	if err := q.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-c.done:
		c.record(err)
		if !errors.Is(err, queue.ErrClosed) {
			t.Errorf("running Consume after Close = %v, want queue.ErrClosed", err)
		}
	case <-time.After(s.patience()):
		t.Fatal("running Consume did not return after Close")
	}
	if err := q.Enqueue(context.Background(), []byte("late")); !errors.Is(err, queue.ErrClosed) {
		t.Errorf("Enqueue after Close = %v, want queue.ErrClosed", err)
	}
	done := make(chan error, 1)
	go func() {
		done <- q.Consume(context.Background(), func(context.Context, *queue.Job) error { return nil })
	}()
	select {
	case err := <-done:
		if !errors.Is(err, queue.ErrClosed) {
			t.Errorf("Consume after Close = %v, want queue.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Consume after Close blocked")
	}
	_ = q.Close() // idempotent: must not panic
}

// testStatsWhileDraining checks what a host relies on to drain a queue
// before closing it: Depth and InFlight count the jobs that wait and run,
// are never both zero while a job remains, and reach zero when all are
// handled.
func (s *suite) testStatsWhileDraining(t *testing.T) {
	const conc, n = 2, 6
	q := s.h.Open(t)(t, conc)
	sr, ok := q.(queue.StatsReporter)
	if !ok {
		t.Skip("queue does not report Stats")
	}
	stats := func() queue.Stats {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		st, err := sr.Stats(ctx)
		if err != nil {
			t.Fatalf("Stats: %v", err)
		}
		return st
	}
	for i := range n {
		enqueue(t, q, fmt.Sprintf("job-%d", i))
	}
	waitFor(t, s.patience(), "Stats to count the enqueued jobs", func() bool {
		st := stats()
		return st.Depth >= n && st.InFlight == 0
	})

	var running, returned atomic.Int32
	release := make(chan struct{})
	t.Cleanup(func() { closeOnce(release) })
	startConsumer(t, q, func(ctx context.Context, j *queue.Job) error {
		running.Add(1)
		defer returned.Add(1)
		select {
		case <-release:
		case <-ctx.Done():
			return ctx.Err()
		}
		return nil
	})
	waitFor(t, s.patience(), fmt.Sprintf("%d handlers running", conc), func() bool { return running.Load() == conc })
	if st := stats(); st.InFlight != conc {
		t.Errorf("Stats with %d handlers running = %+v, want InFlight %d", conc, st, conc)
	}
	if !s.h.ApproximateStats {
		waitFor(t, s.patience(), "Depth to count the waiting jobs", func() bool { return stats().Depth == n-conc })
	}

	// Sample as fast as possible while the rest are handled: a sample
	// taken before the last handler returned must not be all zero.
	sampled := make(chan int, 1)
	go func() {
		early := 0
		for returned.Load() < n {
			st := stats()
			if st.Depth+st.InFlight == 0 && returned.Load() < n {
				early++
			}
		}
		sampled <- early
	}()
	close(release)
	waitFor(t, s.patience(), "all jobs handled", func() bool { return returned.Load() == n })
	if early := <-sampled; early > 0 && !s.h.ApproximateStats {
		t.Errorf("Stats showed an empty queue %d times while jobs remained", early)
	}
	var st queue.Stats
	waitFor(t, s.patience(), "Stats to show a drained queue", func() bool {
		st = stats()
		return st.Depth == 0 && st.InFlight == 0
	})
	if st.Processed < n {
		t.Errorf("Stats = %+v after %d jobs, want Processed >= %d", st, n, n)
	}
}

// testEnqueueDoneContext: Enqueue with a context that is already done
// returns its error and stores nothing, so a caller that gave up (a
// shutdown deadline) does not leave a job it believes lost.
func (s *suite) testEnqueueDoneContext(t *testing.T) {
	q := s.h.Open(t)(t, 1)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := q.Enqueue(cancelled, []byte("cancelled")); !errors.Is(err, context.Canceled) {
		t.Errorf("Enqueue with a cancelled context = %v, want context.Canceled", err)
	}
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	if err := q.Enqueue(expired, []byte("expired")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Enqueue with an expired context = %v, want context.DeadlineExceeded", err)
	}
	enqueue(t, q, "marker")
	rec := &recorder{}
	startConsumer(t, q, rec.handler(nil))
	waitFor(t, s.patience(), "the marker job", func() bool { return rec.len() >= 1 })
	if sr, ok := q.(queue.StatsReporter); ok {
		waitFor(t, s.patience(), "Stats to show a drained queue", func() bool {
			st, err := sr.Stats(context.Background())
			return err == nil && st.Depth == 0 && st.InFlight == 0
		})
	}
	time.Sleep(200 * time.Millisecond) // a stray job would be handled by now
	for _, d := range rec.all() {
		if p := string(d.job.Payload); p != "marker" {
			t.Errorf("job %q was stored although its Enqueue context was done", p)
		}
	}
}

// delivery is one handler call as the suite saw it.
type delivery struct {
	job queue.Job
	at  time.Time
}

// recorder collects deliveries from any number of handlers.
type recorder struct {
	mu  sync.Mutex
	got []delivery
}

// handler returns a Handler that records each job and then returns
// result(job), or nil when result is nil.
func (r *recorder) handler(result func(*queue.Job) error) queue.Handler {
	return func(_ context.Context, j *queue.Job) error {
		c := *j
		c.Payload = append([]byte(nil), j.Payload...)
		r.mu.Lock()
		r.got = append(r.got, delivery{job: c, at: time.Now()})
		r.mu.Unlock()
		if result == nil {
			return nil
		}
		return result(j)
	}
}

func (r *recorder) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

func (r *recorder) distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := make(map[string]bool)
	for _, d := range r.got {
		seen[string(d.job.Payload)] = true
	}
	return len(seen)
}

func (r *recorder) all() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

// consumer is a Consume call running in its own goroutine.
type consumer struct {
	cancel context.CancelFunc
	done   chan error

	once sync.Once
	err  error
}

// startConsumer runs q.Consume(h) until the test ends or stop is called.
func startConsumer(t *testing.T, q queue.Queue, h queue.Handler) *consumer {
	ctx, cancel := context.WithCancel(context.Background())
	c := &consumer{cancel: cancel, done: make(chan error, 1)}
	go func() { c.done <- q.Consume(ctx, h) }()
	t.Cleanup(func() { c.stop(t) })
	return c
}

func (c *consumer) record(err error) { c.once.Do(func() { c.err = err }) }

// stop cancels the Consume call and returns its result.
func (c *consumer) stop(t *testing.T) error {
	t.Helper()
	c.cancel()
	c.once.Do(func() {
		select {
		case c.err = <-c.done:
		case <-time.After(20 * time.Second):
			t.Error("Consume did not return within 20s of its context being cancelled")
			c.err = errors.New("queuetest: Consume did not return")
		}
	})
	return c.err
}

func enqueue(t *testing.T, q queue.Queue, payload string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := q.Enqueue(ctx, []byte(payload)); err != nil {
		t.Fatalf("Enqueue(%q): %v", payload, err)
	}
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func waitChan(t *testing.T, ch <-chan struct{}, timeout time.Duration, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(timeout):
		t.Fatalf("timed out after %v waiting for %s", timeout, what)
	}
}

func closeOnce(ch chan struct{}) {
	select {
	case <-ch:
	default:
		close(ch)
	}
}

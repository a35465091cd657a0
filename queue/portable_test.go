package queue_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sockudo-go/sockudo/queue"
)

// The tests of the consumer loop run in synctest bubbles: time is fake,
// and synctest.Wait returns once every goroutine of the test is blocked,
// so "nothing else happens" can be checked without sleeping.

// call is one driver call the loop made.
type call struct {
	op    string // send, ack, retry, extend, close
	ids   []string
	delay time.Duration
	at    time.Time
}

// fakeDriver is a queue.Driver whose Receive runs receive (by default it
// waits for batches on deliveries) and which records every other call.
type fakeDriver struct {
	deliveries chan []*queue.Delivery
	receive    func(ctx context.Context, max int) ([]*queue.Delivery, error)
	pending    atomic.Int64

	mu    sync.Mutex
	calls []call
	maxes []int // the max of each Receive
}

func newFake() *fakeDriver { return &fakeDriver{deliveries: make(chan []*queue.Delivery)} }

func (f *fakeDriver) record(op string, ds []*queue.Delivery, delay time.Duration) {
	c := call{op: op, delay: delay, at: time.Now()}
	for _, d := range ds {
		c.ids = append(c.ids, d.Job.ID)
	}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.mu.Unlock()
}

// recorded returns the calls of the given operations, in order.
func (f *fakeDriver) recorded(ops ...string) []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []call
	for _, c := range f.calls {
		if slices.Contains(ops, c.op) {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeDriver) Send(_ context.Context, payload []byte) error {
	f.record("send", []*queue.Delivery{{Job: queue.Job{ID: string(payload)}}}, 0)
	return nil
}

func (f *fakeDriver) Receive(ctx context.Context, max int) ([]*queue.Delivery, error) {
	f.mu.Lock()
	f.maxes = append(f.maxes, max)
	f.mu.Unlock()
	if f.receive != nil {
		return f.receive(ctx, max)
	}
	select {
	case ds := <-f.deliveries:
		return ds, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (f *fakeDriver) Ack(_ context.Context, d *queue.Delivery) error {
	f.record("ack", []*queue.Delivery{d}, 0)
	return nil
}

func (f *fakeDriver) Retry(_ context.Context, d *queue.Delivery, delay time.Duration) error {
	f.record("retry", []*queue.Delivery{d}, delay)
	return nil
}

func (f *fakeDriver) Pending(context.Context) (int, error) { return int(f.pending.Load()), nil }

func (f *fakeDriver) Close() error {
	f.record("close", nil, 0)
	return nil
}

// leasingDriver adds leases of a fixed length to a fakeDriver; extend,
// when set, runs inside each Extend call.
type leasingDriver struct {
	*fakeDriver
	lease  time.Duration
	extend func(ds []*queue.Delivery)
}

func (l *leasingDriver) Lease() time.Duration { return l.lease }

func (l *leasingDriver) Extend(_ context.Context, ds []*queue.Delivery) error {
	l.record("extend", ds, 0)
	if l.extend != nil {
		l.extend(ds)
	}
	return nil
}

func delivery(id string, attempt int) *queue.Delivery {
	return &queue.Delivery{Job: queue.Job{ID: id, Attempt: attempt, EnqueuedAt: time.Now()}}
}

func newPortable(t *testing.T, d queue.Driver, o queue.Options) *queue.Portable {
	t.Helper()
	o.Logger = slog.New(slog.DiscardHandler)
	q, err := queue.New(d, &o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

// consumer runs q.Consume(h) in a goroutine.
type consumer struct {
	cancel context.CancelFunc
	done   chan error
}

func consume(q queue.Queue, h queue.Handler) *consumer {
	ctx, cancel := context.WithCancel(context.Background())
	c := &consumer{cancel: cancel, done: make(chan error, 1)}
	go func() { c.done <- q.Consume(ctx, h) }()
	return c
}

// stop cancels the Consume call and returns its result.
func (c *consumer) stop() error {
	c.cancel()
	return <-c.done
}

// returned reports whether Consume has returned, and with what.
func (c *consumer) returned() (error, bool) {
	select {
	case err := <-c.done:
		return err, true
	default:
		return nil, false
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	if _, err := queue.New(nil, nil); err == nil {
		t.Error("New(nil driver): no error")
	}
	for name, o := range map[string]queue.Options{
		"Concurrency": {Concurrency: -1},
		"RetryBase":   {RetryBase: -time.Second},
		"RetryMax":    {RetryBase: time.Minute, RetryMax: time.Second},
	} {
		if _, err := queue.New(newFake(), &o); err == nil {
			t.Errorf("New with bad %s: no error", name)
		}
	}
}

func TestConsumeHonoursConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		q := newPortable(t, f, queue.Options{Concurrency: 3})
		var running, peak atomic.Int32
		release := make(chan struct{})
		c := consume(q, func(ctx context.Context, j *queue.Job) error {
			n := running.Add(1)
			if n > peak.Load() {
				peak.Store(n)
			}
			<-release
			running.Add(-1)
			return nil
		})
		fed := make(chan struct{})
		go func() {
			defer close(fed)
			for i := range 5 {
				f.deliveries <- []*queue.Delivery{delivery(fmt.Sprint(i), 1)}
			}
		}()
		synctest.Wait()
		if n := running.Load(); n != 3 {
			t.Errorf("%d handlers running with 5 jobs offered, want 3", n)
		}
		f.mu.Lock()
		maxes := slices.Clone(f.maxes)
		f.mu.Unlock()
		if !slices.Equal(maxes, []int{3, 2, 1}) {
			t.Errorf("Receive asked for %v jobs, want [3 2 1]: what the free handlers can take", maxes)
		}
		close(release)
		<-fed
		synctest.Wait()
		if n := len(f.recorded("ack")); n != 5 {
			t.Errorf("%d jobs acknowledged, want 5", n)
		}
		if p := peak.Load(); p != 3 {
			t.Errorf("peak concurrency %d, want 3", p)
		}
		if err := c.stop(); !errors.Is(err, context.Canceled) {
			t.Errorf("Consume = %v, want context.Canceled", err)
		}
	})
}

func TestExtraJobsFromTheDriverAreHandedBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		q := newPortable(t, f, queue.Options{Concurrency: 2})
		var handled atomic.Int32
		c := consume(q, func(ctx context.Context, j *queue.Job) error {
			handled.Add(1)
			<-ctx.Done()
			return nil
		})
		f.deliveries <- []*queue.Delivery{delivery("a", 1), delivery("b", 1), delivery("c", 1)}
		synctest.Wait()
		if n := handled.Load(); n != 2 {
			t.Errorf("%d handlers started, want 2", n)
		}
		if r := f.recorded("retry"); len(r) != 1 || r[0].ids[0] != "c" || r[0].delay != 0 {
			t.Errorf("retries %+v, want job c handed back at once", r)
		}
		c.stop()
	})
}

func TestLeasesOfRunningHandlersAreRenewed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &leasingDriver{fakeDriver: newFake(), lease: 3 * time.Second}
		q := newPortable(t, f, queue.Options{})
		start := time.Now()
		c := consume(q, func(ctx context.Context, j *queue.Job) error {
			time.Sleep(10 * time.Second)
			return nil
		})
		f.deliveries <- []*queue.Delivery{delivery("slow", 1)}
		time.Sleep(20 * time.Second) // the handler returns, then nothing is held
		synctest.Wait()

		ext := f.recorded("extend")
		if len(ext) < 9 || len(ext) > 10 {
			t.Errorf("%d renewals in a 10s handler with a 3s lease, want one per second", len(ext))
		}
		for i, e := range ext {
			if want := start.Add(time.Duration(i+1) * time.Second); !e.at.Equal(want) || !slices.Equal(e.ids, []string{"slow"}) {
				t.Errorf("renewal %d: %v at %v, want [slow] at %v", i, e.ids, e.at.Sub(start), want.Sub(start))
			}
		}
		acks := f.recorded("ack")
		if len(acks) != 1 {
			t.Fatalf("acks %+v, want one", acks)
		}
		if last := ext[len(ext)-1]; last.at.After(acks[0].at) {
			t.Errorf("a renewal at %v followed the acknowledgement at %v", last.at.Sub(start), acks[0].at.Sub(start))
		}
		c.stop()
	})
}

func TestSettlementWaitsForTheRenewalUnderWay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		renewing := make(chan struct{})
		finishRenewal := make(chan struct{})
		var once sync.Once
		f := &leasingDriver{fakeDriver: newFake(), lease: 3 * time.Second}
		f.extend = func([]*queue.Delivery) {
			once.Do(func() {
				close(renewing)
				<-finishRenewal
			})
		}
		q := newPortable(t, f, queue.Options{})
		c := consume(q, func(ctx context.Context, j *queue.Job) error {
			<-renewing
			return queue.RetryAfter(errors.New("busy"), 0)
		})
		f.deliveries <- []*queue.Delivery{delivery("a", 1)}
		<-renewing
		synctest.Wait() // the handler returned during the renewal
		if r := f.recorded("retry"); len(r) != 0 {
			t.Fatalf("retry %+v while a renewal of its job was under way", r)
		}
		close(finishRenewal)
		synctest.Wait()
		calls := f.recorded("extend", "retry")
		if len(calls) != 2 || calls[0].op != "extend" || calls[1].op != "retry" {
			t.Errorf("calls %+v, want the renewal, then the retry", calls)
		}
		time.Sleep(5 * time.Second) // later renewal passes skip the settled job
		if n := len(f.recorded("extend")); n != 1 {
			t.Errorf("%d renewals, want 1: none after the settlement", n)
		}
		c.stop()
	})
}

func TestJobsClaimedAsTheConsumerStopsAreHandedBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		f.receive = func(ctx context.Context, max int) ([]*queue.Delivery, error) {
			<-ctx.Done() // claimed just as the consumer stopped
			return []*queue.Delivery{delivery("a", 1), delivery("b", 1)}, nil
		}
		q := newPortable(t, f, queue.Options{})
		var handled atomic.Int32
		c := consume(q, func(context.Context, *queue.Job) error {
			handled.Add(1)
			return nil
		})
		synctest.Wait()
		if err := c.stop(); !errors.Is(err, context.Canceled) {
			t.Errorf("Consume = %v, want context.Canceled", err)
		}
		if n := handled.Load(); n != 0 {
			t.Errorf("%d handlers ran after the consumer stopped", n)
		}
		r := f.recorded("retry")
		if len(r) != 2 || r[0].delay != 0 || r[1].delay != 0 {
			t.Errorf("retries %+v, want both jobs handed back at once", r)
		}
		if st, _ := q.Stats(context.Background()); st.Failed != 0 || st.InFlight != 0 {
			t.Errorf("Stats %+v, want no failure and nothing in flight", st)
		}
	})
}

func TestHandlerOutcomesSettleJobs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		q := newPortable(t, f, queue.Options{Concurrency: 10, RetryBase: time.Second, RetryMax: 10 * time.Second})
		outcomes := map[string]error{
			"ok":           nil,
			"plain":        errors.New("down"), // attempt 3: 1s doubled twice
			"plain-capped": errors.New("down"), // attempt 9: capped at RetryMax
			"after":        queue.RetryAfter(errors.New("busy"), 7*time.Second),
			"after-neg":    queue.RetryAfter(errors.New("busy"), -time.Second),
			"permanent":    queue.Permanent(errors.New("bad")),
		}
		attempts := map[string]int{"plain": 3, "plain-capped": 9}
		var ds []*queue.Delivery
		for id := range outcomes {
			ds = append(ds, delivery(id, max(1, attempts[id])))
		}
		c := consume(q, func(ctx context.Context, j *queue.Job) error { return outcomes[j.ID] })
		f.deliveries <- ds
		synctest.Wait()

		got := map[string]string{}
		for _, cl := range f.recorded("ack", "retry") {
			got[cl.ids[0]] = fmt.Sprintf("%s %v", cl.op, cl.delay)
		}
		want := map[string]string{
			"ok":           "ack 0s",
			"plain":        "retry 4s",
			"plain-capped": "retry 10s",
			"after":        "retry 7s",
			"after-neg":    "retry 0s",
			"permanent":    "ack 0s",
		}
		for id, w := range want {
			if got[id] != w {
				t.Errorf("job %s settled as %q, want %q", id, got[id], w)
			}
		}
		st, err := q.Stats(context.Background())
		if err != nil || st.Processed != 1 || st.Failed != 5 || st.InFlight != 0 {
			t.Errorf("Stats = %+v, %v; want Processed 1, Failed 5, InFlight 0", st, err)
		}
		c.stop()
	})
}

func TestStatsCountRunningHandlersOutOfDepth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		f.pending.Store(5)
		q := newPortable(t, f, queue.Options{})
		release := make(chan struct{})
		c := consume(q, func(ctx context.Context, j *queue.Job) error {
			<-release
			return nil
		})
		a, b := delivery("a", 1), delivery("b", 1)
		time.Sleep(2 * time.Second) // enqueued two seconds before delivery
		f.deliveries <- []*queue.Delivery{a, b}
		synctest.Wait()
		if st, _ := q.Stats(context.Background()); st.Depth != 3 || st.InFlight != 2 {
			t.Errorf("Stats with 5 pending and 2 running = %+v, want Depth 3 and InFlight 2", st)
		}
		close(release)
		synctest.Wait()
		f.pending.Store(0)
		st, _ := q.Stats(context.Background())
		if st.Depth != 0 || st.InFlight != 0 || st.Processed != 2 || st.AvgLatency != 2*time.Second {
			t.Errorf("Stats after both jobs = %+v, want empty, Processed 2 and AvgLatency 2s", st)
		}
		c.stop()
	})
}

func TestReceiveErrorsBackOffUntilTheBackendRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		var calls []time.Time
		f.receive = func(ctx context.Context, max int) ([]*queue.Delivery, error) {
			calls = append(calls, time.Now())
			switch {
			case len(calls) <= 3:
				return nil, errors.New("connection refused")
			case len(calls) == 4:
				return []*queue.Delivery{delivery("a", 1)}, nil
			}
			<-ctx.Done()
			return nil, ctx.Err()
		}
		q := newPortable(t, f, queue.Options{})
		c := consume(q, func(context.Context, *queue.Job) error { return nil })
		time.Sleep(time.Second)
		synctest.Wait()
		if _, ok := c.returned(); ok {
			t.Fatal("Consume returned while the backend failed")
		}
		var gaps []time.Duration
		for i := 1; i < len(calls); i++ {
			gaps = append(gaps, calls[i].Sub(calls[i-1]))
		}
		if want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 0}; !slices.Equal(gaps, want) {
			t.Errorf("Receive calls %v apart, want %v", gaps, want)
		}
		if n := len(f.recorded("ack")); n != 1 {
			t.Errorf("%d jobs acknowledged after the backend recovered, want 1", n)
		}
		c.stop()
	})
}

func TestConsumeStopsWhenTheDriverIsClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		f.receive = func(context.Context, int) ([]*queue.Delivery, error) { return nil, queue.ErrClosed }
		q := newPortable(t, f, queue.Options{})
		if err := q.Consume(context.Background(), func(context.Context, *queue.Job) error { return nil }); !errors.Is(err, queue.ErrClosed) {
			t.Errorf("Consume = %v, want queue.ErrClosed", err)
		}
	})
}

func TestCancelWaitsForRunningHandlers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		q := newPortable(t, f, queue.Options{})
		release := make(chan struct{})
		c := consume(q, func(ctx context.Context, j *queue.Job) error {
			<-ctx.Done()
			<-release
			return ctx.Err()
		})
		f.deliveries <- []*queue.Delivery{delivery("a", 1)}
		synctest.Wait()
		c.cancel()
		synctest.Wait()
		if err, ok := c.returned(); ok {
			t.Fatalf("Consume returned %v while its handler ran", err)
		}
		close(release)
		if err := <-c.done; !errors.Is(err, context.Canceled) {
			t.Errorf("Consume = %v, want context.Canceled", err)
		}
		// The handler's error is an outcome like any other.
		if r := f.recorded("retry"); len(r) != 1 || r[0].delay != time.Second {
			t.Errorf("retries %+v, want the job retried after the back-off", r)
		}
	})
}

func TestCloseDoesNotWaitAndRecordsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &leasingDriver{fakeDriver: newFake(), lease: 3 * time.Second}
		q := newPortable(t, f, queue.Options{})
		release := make(chan struct{})
		c := consume(q, func(ctx context.Context, j *queue.Job) error {
			<-release // hung: ignores ctx
			return nil
		})
		f.deliveries <- []*queue.Delivery{delivery("a", 1)}
		synctest.Wait()
		if err := q.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := q.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if err, ok := c.returned(); ok {
			t.Fatalf("Consume returned %v while its handler ran", err)
		}
		close(release)
		if err := <-c.done; !errors.Is(err, queue.ErrClosed) {
			t.Errorf("Consume = %v, want queue.ErrClosed", err)
		}
		if calls := f.recorded("ack", "retry", "extend"); len(calls) != 0 {
			t.Errorf("calls %+v after Close, want none: the job comes back after its lease", calls)
		}
		if n := len(f.recorded("close")); n != 1 {
			t.Errorf("driver closed %d times, want once", n)
		}
		if err := q.Enqueue(context.Background(), []byte("late")); !errors.Is(err, queue.ErrClosed) {
			t.Errorf("Enqueue after Close = %v, want queue.ErrClosed", err)
		}
		if err := q.Consume(context.Background(), func(context.Context, *queue.Job) error { return nil }); !errors.Is(err, queue.ErrClosed) {
			t.Errorf("Consume after Close = %v, want queue.ErrClosed", err)
		}
		if n := len(f.recorded("send")); n != 0 {
			t.Errorf("%d sends after Close", n)
		}
	})
}

func TestEnqueueWithADoneContextSendsNothing(t *testing.T) {
	f := newFake()
	q := newPortable(t, f, queue.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := q.Enqueue(ctx, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Enqueue with a cancelled context = %v, want context.Canceled", err)
	}
	if err := q.Enqueue(context.Background(), []byte("y")); err != nil {
		t.Fatal(err)
	}
	if s := f.recorded("send"); len(s) != 1 || s[0].ids[0] != "y" {
		t.Errorf("sends %+v, want only y", s)
	}
	if err := q.Consume(context.Background(), nil); err == nil {
		t.Error("Consume with a nil handler: no error")
	}
}

package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Options configures the consumer loop of a Portable. The zero value of
// each field selects its default.
type Options struct {
	// Concurrency is the number of handlers each Consume call runs at
	// once (default 5).
	Concurrency int
	// RetryBase and RetryMax bound the exponential back-off after a
	// handler error without a RetryAfter delay (defaults 1 s and 60 s).
	RetryBase, RetryMax time.Duration
	// Logger receives the consumer's errors: failed receives,
	// settlements and lease renewals (default slog.Default()).
	Logger *slog.Logger
}

func (o *Options) setDefaults() error {
	if o.Concurrency < 0 {
		return fmt.Errorf("queue: Options.Concurrency is negative (%d)", o.Concurrency)
	}
	if o.RetryBase < 0 || o.RetryMax < 0 {
		return fmt.Errorf("queue: Options.RetryBase (%v) and RetryMax (%v) must not be negative", o.RetryBase, o.RetryMax)
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
		return fmt.Errorf("queue: Options.RetryMax (%v) is less than RetryBase (%v)", o.RetryMax, o.RetryBase)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}

// opTimeout bounds each Ack, Retry and Extend. They run on contexts
// detached from the consumer's, so that stopping does not abandon a job
// halfway.
const opTimeout = 10 * time.Second

// The wait after a failed Receive doubles from minRetryReceive up to
// maxRetryReceive while the backend stays unreachable.
const (
	minRetryReceive = 100 * time.Millisecond
	maxRetryReceive = 5 * time.Second
)

// Portable is a Queue that runs the at-least-once consumer loop over a
// Driver: it bounds concurrency, renews the leases of running handlers
// (for a Leaser), settles each job by its handler's outcome (Ack, or
// Retry after the back-off, RetryAfter delay or Permanent drop), hands
// back jobs claimed as a consumer stops, keeps going while the backend is
// unreachable, and counts Stats. Create it with New.
type Portable struct {
	d          Driver
	leaser     Leaser        // nil when d's claims do not expire
	renewEvery time.Duration // a third of the lease
	opts       Options

	ctx       context.Context // cancelled by Close
	cancel    context.CancelFunc
	closeOnce sync.Once
	closeErr  error

	meter meter
}

var (
	_ Queue         = (*Portable)(nil)
	_ StatsReporter = (*Portable)(nil)
)

// New returns a Queue that consumes the jobs of d. opts may be nil. The
// Portable owns d: its Close closes d.
func New(d Driver, opts *Options) (*Portable, error) {
	if d == nil {
		return nil, errors.New("queue: driver is nil")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if err := o.setDefaults(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Portable{d: d, opts: o, ctx: ctx, cancel: cancel}
	if l, ok := d.(Leaser); ok && l.Lease() > 0 {
		p.leaser = l
		p.renewEvery = max(l.Lease()/3, time.Millisecond)
	}
	return p, nil
}

func (p *Portable) closed() bool { return p.ctx.Err() != nil }

// Enqueue adds a job carrying payload through the driver's Send. It
// returns ErrClosed after Close, and ctx.Err(), without storing anything,
// when ctx is already done.
func (p *Portable) Enqueue(ctx context.Context, payload []byte) error {
	if p.closed() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return p.d.Send(ctx, payload)
}

// Consume runs h on jobs, up to Options.Concurrency at once, until ctx is
// cancelled or the queue is closed, then waits for running handlers; see
// Queue. While the backend is unreachable it logs and retries.
func (p *Portable) Consume(ctx context.Context, h Handler) error {
	if p.closed() {
		return ErrClosed
	}
	if h == nil {
		return errors.New("queue: Consume with a nil handler")
	}
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(p.ctx, cancel)
	defer stop()

	c := &consumer{
		p:         p,
		ctx:       hctx,
		h:         h,
		sem:       make(chan struct{}, p.opts.Concurrency),
		held:      make(map[*Delivery]struct{}),
		extending: make(map[*Delivery]struct{}),
	}
	c.cond.L = &c.mu
	renewDone := make(chan struct{})
	stopRenew := make(chan struct{})
	if p.leaser != nil {
		go func() {
			defer close(renewDone)
			c.renewLoop(stopRenew)
		}()
	} else {
		close(renewDone)
	}
	err := c.run()
	cancel() // the driver may have stopped the consumer: stop its handlers too
	c.wg.Wait()
	close(stopRenew) // only now: running handlers keep their leases
	<-renewDone
	switch {
	case err != nil:
		return err
	case p.closed():
		return ErrClosed
	}
	return ctx.Err()
}

// Stats reports the driver's backlog less this process's running
// handlers, and this process's handler outcomes.
func (p *Portable) Stats(ctx context.Context) (Stats, error) {
	// Pending first: a job the driver no longer counts is either
	// acknowledged or already in the meter's in-flight figure, so Depth
	// and InFlight are never both zero while a job remains.
	n, err := p.d.Pending(ctx)
	if err != nil {
		return Stats{}, err
	}
	return p.meter.stats(n), nil
}

// Close stops consumers and renewals and closes the driver. It does not
// wait for running handlers: their outcome is not recorded, so their jobs
// come back like those of a consumer that died (or are lost with an
// in-process driver). Later calls return what the first returned.
func (p *Portable) Close() error {
	p.closeOnce.Do(func() {
		p.cancel()
		p.closeErr = p.d.Close()
	})
	return p.closeErr
}

// consumer is one Consume call.
type consumer struct {
	p   *Portable
	ctx context.Context // the handlers' context
	h   Handler
	sem chan struct{} // one token per running handler or claim in progress
	wg  sync.WaitGroup

	mu        sync.Mutex
	cond      sync.Cond              // signalled when a renewal ends
	held      map[*Delivery]struct{} // running handlers' jobs
	extending map[*Delivery]struct{} // the jobs of the renewal under way
}

// run claims jobs and starts their handlers until the consumer stops. It
// returns nil when c.ctx is done and ErrClosed when the driver says so.
func (c *consumer) run() error {
	var failing time.Duration // the back-off while Receive fails
	for {
		n, ok := c.acquire()
		if !ok {
			return nil
		}
		ds, err := c.p.d.Receive(c.ctx, n)
		if len(ds) > n {
			c.p.opts.Logger.LogAttrs(context.Background(), slog.LevelError,
				"queue driver returned more jobs than asked for; handing them back",
				slog.Int("asked", n), slog.Int("got", len(ds)))
			c.handBack(ds[n:])
			ds = ds[:n]
		}
		c.free(n - len(ds))
		if err == nil && c.ctx.Err() == nil {
			if failing > 0 {
				c.p.opts.Logger.LogAttrs(c.ctx, slog.LevelInfo, "queue consumer recovered")
				failing = 0
			}
			for _, d := range ds {
				c.start(d)
			}
			continue
		}
		// Claimed as the consumer stopped, or alongside an error.
		c.handBack(ds)
		c.free(len(ds))
		switch {
		case c.ctx.Err() != nil:
			return nil
		case errors.Is(err, ErrClosed):
			return ErrClosed
		}
		failing = min(max(2*failing, minRetryReceive), maxRetryReceive)
		c.p.opts.Logger.LogAttrs(c.ctx, slog.LevelWarn, "queue consumer cannot receive jobs; retrying",
			slog.Any("error", err), slog.Duration("retry_in", failing))
		if !sleep(c.ctx, failing) {
			return nil
		}
	}
}

// acquire waits for a free handler slot and takes every other free one,
// reporting how many it took; it reports false when the consumer stops.
func (c *consumer) acquire() (int, bool) {
	select {
	case c.sem <- struct{}{}:
	case <-c.ctx.Done():
		return 0, false
	}
	n := 1
	for n < cap(c.sem) {
		select {
		case c.sem <- struct{}{}:
			n++
		default:
			return n, true
		}
	}
	return n, true
}

// free returns n handler slots.
func (c *consumer) free(n int) {
	for range n {
		<-c.sem
	}
}

// start runs the handler of d in its own goroutine; d's slot is taken.
func (c *consumer) start(d *Delivery) {
	c.mu.Lock()
	c.held[d] = struct{}{}
	c.mu.Unlock()
	c.p.meter.begin()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer c.free(1)
		job := d.Job
		c.settle(d, c.h(c.ctx, &job))
	}()
}

// settle records a handler's outcome: Ack on success or a Permanent
// error, otherwise Retry after the back-off. After Close it records
// nothing.
func (c *consumer) settle(d *Delivery, herr error) {
	c.release(d)
	defer c.p.meter.end() // after the driver call, so the job is counted throughout
	if c.p.closed() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	var err error
	if herr == nil {
		c.p.meter.succeeded(d.Job.EnqueuedAt)
		err = c.p.d.Ack(ctx, d)
	} else {
		c.p.meter.failedOne()
		delay, drop := RetryDelay(herr, d.Job.Attempt, c.p.opts.RetryBase, c.p.opts.RetryMax)
		if drop {
			err = c.p.d.Ack(ctx, d)
		} else {
			err = c.p.d.Retry(ctx, d, max(delay, 0))
		}
	}
	if err != nil && !errors.Is(err, ErrClosed) {
		c.p.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "queue cannot record a job's outcome; it comes back after its lease",
			slog.String("job_id", d.Job.ID), slog.Any("error", err))
	}
}

// handBack makes jobs claimed but not handled ready again at once.
func (c *consumer) handBack(ds []*Delivery) {
	for _, d := range ds {
		if c.p.closed() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		err := c.p.d.Retry(ctx, d, 0)
		cancel()
		if err != nil && !errors.Is(err, ErrClosed) {
			c.p.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "queue cannot hand back a job; it comes back after its lease",
				slog.String("job_id", d.Job.ID), slog.Any("error", err))
		}
	}
}

// release takes d out of the renewals, waiting for one under way that
// includes it.
func (c *consumer) release(d *Delivery) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.held, d)
	for {
		if _, ok := c.extending[d]; !ok {
			return
		}
		c.cond.Wait()
	}
}

// renewLoop extends the leases of running handlers' jobs every third of a
// lease until stop is closed or the queue is.
func (c *consumer) renewLoop(stop <-chan struct{}) {
	t := time.NewTicker(c.p.renewEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-c.p.ctx.Done():
			return
		case <-t.C:
		}
		c.mu.Lock()
		batch := make([]*Delivery, 0, len(c.held))
		for d := range c.held {
			batch = append(batch, d)
			c.extending[d] = struct{}{}
		}
		c.mu.Unlock()
		if len(batch) == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		err := c.p.leaser.Extend(ctx, batch)
		cancel()
		c.mu.Lock()
		clear(c.extending)
		c.cond.Broadcast()
		c.mu.Unlock()
		if err != nil && !errors.Is(err, ErrClosed) {
			c.p.opts.Logger.LogAttrs(context.Background(), slog.LevelWarn, "queue cannot renew job leases",
				slog.Int("jobs", len(batch)), slog.Any("error", err))
		}
	}
}

// sleep waits for d or until ctx is done, reporting whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

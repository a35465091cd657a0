package redis

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/rueidis"

	"github.com/sockudo-go/sockudo/queue"
)

// Options configures a Queue. The zero value of each field selects its
// default.
type Options struct {
	// Prefix starts every key of the queue (default "sockudo_queue:").
	Prefix string
	// Name tells queues under one prefix apart (default "webhooks").
	Name string
	// Concurrency is the number of handlers each Consume call runs at once
	// (default 5).
	Concurrency int
	// Lease is how long a job stays with a consumer without a renewal;
	// the job of a consumer that died comes back after at most about this
	// long (default 30 s). Consumers renew every third of it.
	Lease time.Duration
	// PollInterval is how often an idle consumer looks for jobs enqueued
	// by other processes and for due retries (default 100 ms).
	PollInterval time.Duration
	// RetryBase and RetryMax bound the exponential back-off after a
	// handler error without a RetryAfter delay (defaults 1 s and 60 s).
	RetryBase, RetryMax time.Duration
	// Logger receives consumer errors (default slog.Default()).
	Logger *slog.Logger
}

func (o *Options) setDefaults() error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"Lease", o.Lease}, {"PollInterval", o.PollInterval}, {"RetryBase", o.RetryBase}, {"RetryMax", o.RetryMax}} {
		if d.v < 0 {
			return fmt.Errorf("redis queue: Options.%s is negative (%v)", d.name, d.v)
		}
	}
	if o.Concurrency < 0 {
		return fmt.Errorf("redis queue: Options.Concurrency is negative (%d)", o.Concurrency)
	}
	if o.Prefix == "" {
		o.Prefix = "sockudo_queue:"
	}
	if o.Name == "" {
		o.Name = "webhooks"
	}
	if o.Concurrency == 0 {
		o.Concurrency = 5
	}
	if o.Lease == 0 {
		o.Lease = 30 * time.Second
	}
	if o.PollInterval == 0 {
		o.PollInterval = 100 * time.Millisecond
	}
	if o.RetryBase == 0 {
		o.RetryBase = time.Second
	}
	if o.RetryMax == 0 {
		o.RetryMax = time.Minute
	}
	if o.RetryMax < o.RetryBase {
		return fmt.Errorf("redis queue: Options.RetryMax (%v) is less than RetryBase (%v)", o.RetryMax, o.RetryBase)
	}
	if o.Lease < 30*time.Millisecond {
		return fmt.Errorf("redis queue: Options.Lease (%v) is shorter than 30ms", o.Lease)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}

// opTimeout bounds each acknowledgement, renewal and take, which run on
// contexts detached from the consumer's so that shutting down does not
// abandon a job halfway.
const opTimeout = 5 * time.Second

// maxTake is the most jobs one take script leases.
const maxTake = 32

// Queue is a queue.Queue on Redis. Create it with New.
type Queue struct {
	client rueidis.Client
	opts   Options
	log    *slog.Logger

	// Keys, all in the slot of one hash tag.
	ready, delayed, leased, payload, attempts, enqueued string

	done      chan struct{}
	closeOnce sync.Once

	mu      sync.Mutex
	wake    chan struct{} // closed by Enqueue to wake idle consumers
	waiting bool

	meter queue.Meter
}

var (
	_ queue.Queue         = (*Queue)(nil)
	_ queue.StatsReporter = (*Queue)(nil)
)

// New returns a queue that stores its jobs through client. opts may be
// nil. Close does not close client.
func New(client rueidis.Client, opts *Options) (*Queue, error) {
	if client == nil {
		return nil, errors.New("redis queue: client is nil")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if err := o.setDefaults(); err != nil {
		return nil, err
	}
	tag := "{" + o.Prefix + o.Name + "}:"
	return &Queue{
		client:   client,
		opts:     o,
		log:      o.Logger.With("queue", o.Prefix+o.Name),
		ready:    tag + "ready",
		delayed:  tag + "delayed",
		leased:   tag + "leased",
		payload:  tag + "payload",
		attempts: tag + "attempts",
		enqueued: tag + "enqueued",
		done:     make(chan struct{}),
		wake:     make(chan struct{}),
	}, nil
}

// Keys returns the Redis keys that hold the queue's jobs, for inspection
// or cleanup.
func (q *Queue) Keys() []string {
	return []string{q.ready, q.delayed, q.leased, q.payload, q.attempts, q.enqueued}
}

func (q *Queue) closed() bool {
	select {
	case <-q.done:
		return true
	default:
		return false
	}
}

// Enqueue stores a job in Redis and makes it ready. It returns
// queue.ErrClosed after Close.
func (q *Queue) Enqueue(ctx context.Context, payload []byte) error {
	if q.closed() {
		return queue.ErrClosed
	}
	id := rand.Text()
	err := enqueueScript.Exec(ctx, q.client,
		[]string{q.ready, q.payload, q.enqueued},
		[]string{id, string(payload)}).Error()
	if err != nil {
		return fmt.Errorf("redis queue: enqueue: %w", err)
	}
	q.mu.Lock()
	if q.waiting {
		close(q.wake)
		q.wake = make(chan struct{})
		q.waiting = false
	}
	q.mu.Unlock()
	return nil
}

// Consume runs h on jobs, up to Options.Concurrency at once, until ctx is
// cancelled or the queue is closed. While Redis is unreachable it logs and
// retries.
func (q *Queue) Consume(ctx context.Context, h queue.Handler) error {
	if q.closed() {
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

	c := &consumer{q: q, held: make(map[string]int)}
	stopRenew := make(chan struct{})
	renewDone := make(chan struct{})
	go func() {
		defer close(renewDone)
		c.renewLoop(stopRenew)
	}()
	var wg sync.WaitGroup
	defer func() {
		wg.Wait()
		close(stopRenew)
		<-renewDone
	}()

	sem := make(chan struct{}, q.opts.Concurrency)
	var failing time.Duration // back-off while Redis fails
	for {
		select {
		case sem <- struct{}{}:
		case <-hctx.Done():
			return q.exitErr(ctx)
		}
		n := 1
	fill:
		for n < maxTake {
			select {
			case sem <- struct{}{}:
				n++
			default:
				break fill
			}
		}
		wake := q.wakeChan()
		jobs, err := q.take(hctx, n)
		for range n - len(jobs) {
			<-sem
		}
		if err != nil {
			if hctx.Err() != nil {
				return q.exitErr(ctx)
			}
			failing = min(max(2*failing, q.opts.PollInterval), 5*time.Second)
			q.log.LogAttrs(hctx, slog.LevelWarn, "queue consumer cannot take jobs; retrying",
				slog.String("err", err.Error()), slog.Duration("retry_in", failing))
			if !sleep(hctx, failing) {
				return q.exitErr(ctx)
			}
			continue
		}
		if failing > 0 {
			q.log.LogAttrs(hctx, slog.LevelInfo, "queue consumer recovered")
			failing = 0
		}
		if hctx.Err() != nil {
			// Taken as the consumer stopped: hand them back.
			for _, j := range jobs {
				if !q.closed() {
					q.settle(j, queue.RetryAfter(hctx.Err(), 0), false)
				}
				<-sem
			}
			return q.exitErr(ctx)
		}
		for _, j := range jobs {
			c.hold(j)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				err := h(hctx, j)
				if !q.closed() {
					q.settle(j, err, true)
				}
				c.release(j)
			}()
		}
		if len(jobs) < n {
			t := time.NewTimer(q.opts.PollInterval)
			select {
			case <-hctx.Done():
			case <-wake:
			case <-t.C:
			}
			t.Stop()
		}
	}
}

func (q *Queue) exitErr(ctx context.Context) error {
	if q.closed() {
		return queue.ErrClosed
	}
	return ctx.Err()
}

// wakeChan returns a channel that the next Enqueue on q closes.
func (q *Queue) wakeChan() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.waiting = true
	return q.wake
}

// take leases up to n ready jobs. On error it returns no jobs; jobs the
// script leased come back when their leases expire.
//
// A malformed job in the reply (possible only if someone wrote to the
// queue's keys) is logged and skipped, not delivered, and the rest are
// returned: it stays leased, so it is not lost but comes back after its
// lease, and it holds up neither the other jobs nor a concurrency slot.
func (q *Queue) take(ctx context.Context, n int) ([]*queue.Job, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
	defer cancel()
	vals, err := takeScript.Exec(ctx, q.client,
		[]string{q.ready, q.delayed, q.leased, q.payload, q.attempts, q.enqueued},
		[]string{strconv.FormatInt(q.opts.Lease.Milliseconds(), 10), strconv.Itoa(n)}).ToArray()
	if err != nil {
		return nil, fmt.Errorf("redis queue: take: %w", err)
	}
	if len(vals)%4 != 0 {
		return nil, fmt.Errorf("redis queue: take: malformed reply of %d values", len(vals))
	}
	jobs := make([]*queue.Job, 0, len(vals)/4)
	for i := 0; i < len(vals); i += 4 {
		id, err1 := vals[i].ToString()
		payload, err2 := vals[i+1].AsBytes()
		attempt, err3 := vals[i+2].AsInt64()
		enqueued, err4 := vals[i+3].AsInt64()
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			q.log.LogAttrs(ctx, slog.LevelError, "queue took a malformed job; it stays leased and comes back after its lease",
				slog.String("job_id", id), slog.String("err", err.Error()))
			continue
		}
		jobs = append(jobs, &queue.Job{
			ID:         id,
			Payload:    payload,
			Attempt:    int(attempt),
			EnqueuedAt: time.UnixMilli(enqueued),
		})
	}
	return jobs, nil
}

// settle records a handler's outcome: acknowledge, drop or reschedule.
// handled reports whether a handler ran (and so counts in Stats).
func (q *Queue) settle(j *queue.Job, herr error, handled bool) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	attempt := strconv.Itoa(j.Attempt)
	var err error
	switch {
	case herr == nil:
		q.meter.Succeeded(j.EnqueuedAt)
		err = q.ack(ctx, j.ID, attempt)
	default:
		if handled {
			q.meter.Failed()
		}
		delay, drop := queue.RetryDelay(herr, j.Attempt, q.opts.RetryBase, q.opts.RetryMax)
		if drop {
			err = q.ack(ctx, j.ID, attempt)
			break
		}
		err = nackScript.Exec(ctx, q.client,
			[]string{q.leased, q.delayed, q.ready, q.attempts},
			[]string{j.ID, attempt, strconv.FormatInt(delay.Milliseconds(), 10)}).Error()
	}
	if err != nil {
		q.log.LogAttrs(ctx, slog.LevelWarn, "queue cannot record a job's outcome; it will be redelivered after its lease",
			slog.String("job_id", j.ID), slog.String("err", err.Error()))
	}
}

func (q *Queue) ack(ctx context.Context, id, attempt string) error {
	return ackScript.Exec(ctx, q.client,
		[]string{q.leased, q.payload, q.attempts, q.enqueued},
		[]string{id, attempt}).Error()
}

// Stats reports the queue's backlog in Redis (ready and scheduled jobs,
// from every process) and this process's handler outcomes.
func (q *Queue) Stats(ctx context.Context) (queue.Stats, error) {
	res := q.client.DoMulti(ctx,
		q.client.B().Llen().Key(q.ready).Build(),
		q.client.B().Zcard().Key(q.delayed).Build())
	var depth int64
	for _, r := range res {
		n, err := r.AsInt64()
		if err != nil {
			return queue.Stats{}, fmt.Errorf("redis queue: stats: %w", err)
		}
		depth += n
	}
	return q.meter.Stats(int(depth)), nil
}

// Close stops consumers and lease renewals. Jobs whose handlers are still
// running are not acknowledged: they come back after their lease. The
// client is not closed.
func (q *Queue) Close() error {
	q.closeOnce.Do(func() { close(q.done) })
	return nil
}

// consumer tracks the jobs one Consume call holds, to renew their leases.
type consumer struct {
	q    *Queue
	mu   sync.Mutex
	held map[string]int // job id to attempt
}

func (c *consumer) hold(j *queue.Job) {
	c.q.meter.Begin()
	c.mu.Lock()
	c.held[j.ID] = j.Attempt
	c.mu.Unlock()
}

func (c *consumer) release(j *queue.Job) {
	c.q.meter.End()
	c.mu.Lock()
	delete(c.held, j.ID)
	c.mu.Unlock()
}

// renewLoop extends the leases of held jobs every third of a lease until
// stop is closed or the queue is.
func (c *consumer) renewLoop(stop <-chan struct{}) {
	t := time.NewTicker(c.q.opts.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-c.q.done:
			return
		case <-t.C:
		}
		c.mu.Lock()
		args := make([]string, 1, 1+2*len(c.held))
		args[0] = strconv.FormatInt(c.q.opts.Lease.Milliseconds(), 10)
		for id, attempt := range c.held {
			args = append(args, id, strconv.Itoa(attempt))
		}
		c.mu.Unlock()
		if len(args) == 1 {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		err := renewScript.Exec(ctx, c.q.client, []string{c.q.leased, c.q.attempts}, args).Error()
		cancel()
		if err != nil {
			c.q.log.LogAttrs(context.Background(), slog.LevelWarn, "queue cannot renew job leases",
				slog.Int("jobs", len(args)/2), slog.String("err", err.Error()))
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

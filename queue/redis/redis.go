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
	// Lease is how long a job stays with a consumer without a renewal;
	// the job of a consumer that died comes back after at most about this
	// long (default 30 s). Consumers renew every third of it.
	Lease time.Duration
	// PollInterval is how often an idle consumer looks for jobs enqueued
	// by other processes and for due retries (default 100 ms).
	PollInterval time.Duration
	// Options configures the consumer loop: concurrency, back-off and the
	// logger, which also receives this driver's errors.
	queue.Options
}

func (o *Options) setDefaults() error {
	if o.Lease < 0 || o.PollInterval < 0 {
		return fmt.Errorf("redis queue: Options.Lease (%v) and PollInterval (%v) must not be negative", o.Lease, o.PollInterval)
	}
	if o.Prefix == "" {
		o.Prefix = "sockudo_queue:"
	}
	if o.Name == "" {
		o.Name = "webhooks"
	}
	if o.Lease == 0 {
		o.Lease = 30 * time.Second
	}
	if o.PollInterval == 0 {
		o.PollInterval = 100 * time.Millisecond
	}
	if o.Lease < 30*time.Millisecond {
		return fmt.Errorf("redis queue: Options.Lease (%v) is shorter than 30ms", o.Lease)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	o.Logger = o.Logger.With("queue", o.Prefix+o.Name)
	return nil
}

// opTimeout bounds each claim, which runs on a context detached from the
// consumer's so that stopping does not abandon a claim halfway.
const opTimeout = 5 * time.Second

// maxTake is the most jobs one take script claims.
const maxTake = 32

// Queue is a queue.Queue on Redis: the portable consumer loop over jobs
// kept in Redis. Create it with New.
type Queue struct {
	*queue.Portable
	d *driver
}

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
	d := &driver{
		client:   client,
		lease:    o.Lease,
		poll:     o.PollInterval,
		log:      o.Logger,
		ready:    tag + "ready",
		delayed:  tag + "delayed",
		leased:   tag + "leased",
		payload:  tag + "payload",
		attempts: tag + "attempts",
		enqueued: tag + "enqueued",
		wake:     make(chan struct{}),
	}
	p, err := queue.New(d, &o.Options)
	if err != nil {
		return nil, err
	}
	return &Queue{Portable: p, d: d}, nil
}

// Keys returns the Redis keys that hold the queue's jobs, for inspection
// or cleanup.
func (q *Queue) Keys() []string {
	d := q.d
	return []string{d.ready, d.delayed, d.leased, d.payload, d.attempts, d.enqueued}
}

// driver is the queue.Driver and queue.Leaser of a Queue.
type driver struct {
	client      rueidis.Client
	lease, poll time.Duration
	log         *slog.Logger

	// Keys, all in the slot of one hash tag.
	ready, delayed, leased, payload, attempts, enqueued string

	mu      sync.Mutex
	wake    chan struct{} // closed by Send to wake idle consumers
	waiting bool
}

// Send stores a job in Redis and makes it ready.
func (d *driver) Send(ctx context.Context, payload []byte) error {
	err := enqueueScript.Exec(ctx, d.client,
		[]string{d.ready, d.payload, d.enqueued},
		[]string{rand.Text(), string(payload)}).Error()
	if err != nil {
		return fmt.Errorf("redis queue: enqueue: %w", err)
	}
	d.mu.Lock()
	if d.waiting {
		close(d.wake)
		d.wake = make(chan struct{})
		d.waiting = false
	}
	d.mu.Unlock()
	return nil
}

// Receive claims up to max ready jobs, looking again every poll interval
// (or at once after a Send through this queue) while there are none.
func (d *driver) Receive(ctx context.Context, max int) ([]*queue.Delivery, error) {
	for {
		d.mu.Lock()
		d.waiting = true
		wake := d.wake
		d.mu.Unlock()
		ds, err := d.take(ctx, min(max, maxTake))
		if err != nil || len(ds) > 0 {
			return ds, err
		}
		t := time.NewTimer(d.poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// take claims up to n ready jobs, after moving due retries and expired
// leases back to ready. On error it returns no jobs; jobs the script
// claimed come back when their leases expire.
//
// A malformed job in the reply (possible only if someone wrote to the
// queue's keys) is logged and skipped, not delivered, and the rest are
// returned: it stays leased, so it is not lost but comes back after its
// lease, and it holds up neither the other jobs nor a concurrency slot.
func (d *driver) take(ctx context.Context, n int) ([]*queue.Delivery, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
	defer cancel()
	vals, err := takeScript.Exec(ctx, d.client,
		[]string{d.ready, d.delayed, d.leased, d.payload, d.attempts, d.enqueued},
		[]string{strconv.FormatInt(d.lease.Milliseconds(), 10), strconv.Itoa(n)}).ToArray()
	if err != nil {
		return nil, fmt.Errorf("redis queue: take: %w", err)
	}
	if len(vals)%4 != 0 {
		return nil, fmt.Errorf("redis queue: take: malformed reply of %d values", len(vals))
	}
	ds := make([]*queue.Delivery, 0, len(vals)/4)
	for i := 0; i < len(vals); i += 4 {
		id, err1 := vals[i].ToString()
		payload, err2 := vals[i+1].AsBytes()
		attempt, err3 := vals[i+2].AsInt64()
		enqueued, err4 := vals[i+3].AsInt64()
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			d.log.LogAttrs(ctx, slog.LevelError, "queue took a malformed job; it stays leased and comes back after its lease",
				slog.String("job_id", id), slog.Any("error", err))
			continue
		}
		ds = append(ds, &queue.Delivery{Job: queue.Job{
			ID:         id,
			Payload:    payload,
			Attempt:    int(attempt),
			EnqueuedAt: time.UnixMilli(enqueued),
		}})
	}
	return ds, nil
}

// Ack removes a job if this claim still holds its lease (the attempt
// matches), so a consumer that lost its lease cannot remove a job that
// another one now holds.
func (d *driver) Ack(ctx context.Context, dl *queue.Delivery) error {
	err := ackScript.Exec(ctx, d.client,
		[]string{d.leased, d.payload, d.attempts, d.enqueued},
		[]string{dl.Job.ID, strconv.Itoa(dl.Job.Attempt)}).Error()
	if err != nil {
		return fmt.Errorf("redis queue: ack: %w", err)
	}
	return nil
}

// Retry reschedules a job delay ahead if this claim still holds its lease.
func (d *driver) Retry(ctx context.Context, dl *queue.Delivery, delay time.Duration) error {
	err := nackScript.Exec(ctx, d.client,
		[]string{d.leased, d.delayed, d.ready, d.attempts},
		[]string{dl.Job.ID, strconv.Itoa(dl.Job.Attempt), strconv.FormatInt(delay.Milliseconds(), 10)}).Error()
	if err != nil {
		return fmt.Errorf("redis queue: retry: %w", err)
	}
	return nil
}

// Lease returns Options.Lease.
func (d *driver) Lease() time.Duration { return d.lease }

// Extend renews the leases of ds that these claims still hold.
func (d *driver) Extend(ctx context.Context, ds []*queue.Delivery) error {
	args := make([]string, 1, 1+2*len(ds))
	args[0] = strconv.FormatInt(d.lease.Milliseconds(), 10)
	for _, dl := range ds {
		args = append(args, dl.Job.ID, strconv.Itoa(dl.Job.Attempt))
	}
	if err := renewScript.Exec(ctx, d.client, []string{d.leased, d.attempts}, args).Error(); err != nil {
		return fmt.Errorf("redis queue: renew leases: %w", err)
	}
	return nil
}

// Pending counts the jobs in Redis, from every process: ready, scheduled
// for a retry and leased, in one script so that a job moving between them
// is counted once.
func (d *driver) Pending(ctx context.Context) (int, error) {
	n, err := pendingScript.Exec(ctx, d.client, []string{d.ready, d.delayed, d.leased}, nil).AsInt64()
	if err != nil {
		return 0, fmt.Errorf("redis queue: stats: %w", err)
	}
	return int(n), nil
}

// Close does nothing: the jobs stay in Redis and the client belongs to
// the host.
func (d *driver) Close() error { return nil }

package queue

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrClosed is returned by Enqueue and Consume after Close.
var ErrClosed = errors.New("queue: closed")

// Queue moves jobs from producers to consumers with at-least-once delivery:
// a job is removed only after a handler returns nil for it, and comes back
// when the handler fails or the consumer dies before acknowledging it.
// Implementations must be safe for concurrent use.
type Queue interface {
	// Enqueue adds a job carrying payload. When Enqueue returns nil the job
	// is stored as durably as the driver allows.
	Enqueue(ctx context.Context, payload []byte) error
	// Consume runs h on jobs, with the queue's configured concurrency,
	// until ctx is cancelled or the queue is closed; it then waits for
	// running handlers to return. A handler error leads to redelivery after
	// a back-off (see RetryAfter and Permanent). The context passed to h is
	// cancelled when ctx is or when the queue is closed. Consume returns
	// ctx.Err() after cancellation and ErrClosed after Close (at once when
	// the queue is already closed); any other error means it could not
	// start. Several Consume calls may run at once, on one queue or on
	// several queues sharing a backend: each job goes to one of them.
	Consume(ctx context.Context, h Handler) error
	// Close stops consumers and releases resources held by the queue (not
	// the client the host passed in). It does not wait for running
	// handlers (Consume does): their outcome is not recorded, so their
	// jobs come back like those of a consumer that died. In-flight jobs are
	// thus either finished or left to be redelivered; none is lost, except
	// by drivers that document it (an in-process queue loses everything).
	// Close is idempotent.
	Close() error
}

// Stats describes a queue's backlog and throughput for monitoring.
type Stats struct {
	// Depth is the number of jobs not yet acknowledged and not in this
	// queue's handlers: waiting, scheduled for a retry, or held by
	// consumers of other queues on the same backend (other processes).
	// Drivers that cannot know it exactly report an estimate. Depth and
	// InFlight are both zero only when no job is left, so a host drains a
	// queue by waiting for that.
	Depth int
	// InFlight is the number of jobs handed to handlers and not yet
	// acknowledged by this process.
	InFlight int
	// Processed and Failed count handler outcomes in this process.
	Processed, Failed uint64
	// AvgLatency is the mean time from enqueue to a successful handler
	// return, over this process's recent jobs.
	AvgLatency time.Duration
}

// StatsReporter is implemented by queues that can report Stats.
type StatsReporter interface {
	Stats(ctx context.Context) (Stats, error)
}

// Handler processes one job. Returning nil acknowledges it.
type Handler func(ctx context.Context, job *Job) error

// Job is one delivery of an enqueued payload.
type Job struct {
	// ID identifies the job across redeliveries.
	ID string
	// Payload is the enqueued bytes.
	Payload []byte
	// Attempt is 1 on the first delivery and grows on each redelivery.
	Attempt int
	// EnqueuedAt is when the job was first enqueued.
	EnqueuedAt time.Time
}

// RetryAfter wraps err so the queue redelivers the job no sooner than d
// from now, instead of using its own back-off.
func RetryAfter(err error, d time.Duration) error {
	return &RetryError{Err: err, After: d}
}

// RetryError asks for redelivery after a delay; see RetryAfter.
type RetryError struct {
	Err   error
	After time.Duration
}

func (e *RetryError) Error() string { return fmt.Sprintf("retry after %s: %v", e.After, e.Err) }

// Unwrap returns the wrapped error.
func (e *RetryError) Unwrap() error { return e.Err }

// Permanent wraps err so the queue drops the job instead of redelivering it.
func Permanent(err error) error { return &PermanentError{Err: err} }

// PermanentError marks a failure that retrying cannot fix; see Permanent.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *PermanentError) Unwrap() error { return e.Err }

// Backoff returns the exponential delay before the given attempt's retry:
// base doubled per earlier attempt, capped at max. A Portable uses it for
// handler errors that carry no RetryAfter.
func Backoff(attempt int, base, max time.Duration) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := base
	for i := 1; i < attempt && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return d
}

// RetryDelay decides what to do after a handler error: drop reports true
// for a Permanent error; otherwise delay is the RetryAfter delay or the
// exponential Backoff for the job's attempt.
func RetryDelay(err error, attempt int, base, max time.Duration) (delay time.Duration, drop bool) {
	var perm *PermanentError
	if errors.As(err, &perm) {
		return 0, true
	}
	var ra *RetryError
	if errors.As(err, &ra) {
		return ra.After, false
	}
	return Backoff(attempt, base, max), false
}

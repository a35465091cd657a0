package queue

import (
	"context"
	"time"
)

// Driver is what a backend provides to a Portable: storage, an atomic
// claim of jobs, and their settlement. The Portable runs the consumer
// loop on top (concurrency, lease renewal, back-off, shutdown), so a
// driver only moves jobs in and out of its backend.
//
// The Portable calls Receive from one goroutine per Consume call and the
// other methods from any goroutine, so a Driver must be safe for
// concurrent use. It never modifies a Delivery it was given.
type Driver interface {
	// Send stores a job carrying payload, with Attempt 0 and the current
	// time as its enqueue time. It must not keep payload after it
	// returns. When Send returns nil the job is stored as durably as the
	// backend allows.
	Send(ctx context.Context, payload []byte) error

	// Receive claims up to max jobs (max is at least 1) and returns them;
	// the attempt of each is one more than on its previous delivery. A
	// claimed job goes to no other consumer until it is settled or, for
	// a Leaser, until its lease expires.
	//
	// Receive waits until at least one job is ready or ctx is done. It
	// may also return no job and a nil error after a poll interval of its
	// choosing; the Portable then calls it again. When ctx is done it
	// returns promptly, with ctx.Err() or with the jobs it had already
	// claimed, which the Portable hands back with Retry. Any other error
	// means the backend could not be reached: the Portable logs it and
	// calls Receive again after a back-off. ErrClosed stops the consumer.
	Receive(ctx context.Context, max int) ([]*Delivery, error)

	// Ack removes a job for good: its handler succeeded or returned a
	// Permanent error.
	Ack(ctx context.Context, d *Delivery) error

	// Retry makes a job ready again after delay (at once when delay is
	// zero), for a later Receive to claim with the next attempt number.
	Retry(ctx context.Context, d *Delivery, delay time.Duration) error

	// Pending returns how many jobs are stored and not yet acknowledged:
	// waiting, scheduled for a retry, or claimed by a consumer (of any
	// process) and not yet settled. The Portable subtracts the jobs its
	// own handlers hold to report Stats.Depth, so a host that waits for
	// Depth and InFlight to reach zero waits for every job. Drivers that
	// cannot count exactly return an estimate.
	Pending(ctx context.Context) (int, error)

	// Close releases what the driver holds (not a client the host passed
	// in). The Portable calls it once, from its own Close, while calls
	// already under way may still finish; they may return ErrClosed.
	Close() error
}

// Leaser is implemented by drivers whose claims expire, so that the jobs
// of a consumer that died come back: a lease, or a visibility timeout.
// The Portable renews the claims of running handlers every third of
// Lease.
type Leaser interface {
	// Lease returns how long a claim lasts without renewal. Zero or less
	// turns renewal off.
	Lease() time.Duration
	// Extend renews the claims of ds for another Lease. The Portable never
	// calls it for a delivery whose Ack or Retry has started, and an Ack
	// or Retry waits for an Extend that includes its delivery, so a
	// renewal can neither follow a settlement nor overwrite a retry's
	// delay.
	Extend(ctx context.Context, ds []*Delivery) error
}

// Delivery is a job that a Driver's Receive claimed, with what the driver
// needs to settle it.
type Delivery struct {
	// Job is the job as its handler sees it (the handler gets a copy).
	Job Job
	// Receipt is the driver's own handle on this claim, such as an SQS
	// receipt handle; the Portable passes it back untouched.
	Receipt any
}

// Package memory is an in-process, bounded queue.Queue: the portable
// consumer loop of package queue over jobs kept in memory.
//
// Jobs live in the process's memory only: they are lost when the process
// exits or when the queue is closed, and they are not shared with other
// processes. Use it for a single node or for development; use the redis or
// sqs driver when webhooks must survive a restart or be shared by a
// cluster.
//
// The queue holds at most Options.Capacity unacknowledged jobs (waiting,
// scheduled for a retry or being handled); Enqueue on a full queue returns
// ErrFull at once instead of blocking. Claims do not expire: a job stays
// with its consumer until its handler returns.
package memory

// Package none is a queue.Queue that discards every job.
//
// Enqueue drops the payload and returns nil, so a server configured with
// this queue delivers no webhooks at all. Consume only waits for its
// context to be cancelled or the queue to be closed. It matches Sockudo's
// QUEUE_DRIVER=none.
package none

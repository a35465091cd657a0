// Package queue defines the background job queue a sockudo server uses to
// deliver webhooks: at-least-once jobs with acknowledgement, redelivery with
// back-off, and graceful shutdown.
//
// # Drivers and the portable loop
//
// The consumer loop is written once, here: New wraps a Driver in a
// Portable, a Queue that bounds concurrency (Options.Concurrency), renews
// the claims of running handlers when the driver is a Leaser, settles each
// job by its handler's outcome (RetryAfter, Permanent, or the exponential
// Backoff between Options.RetryBase and RetryMax), hands back jobs claimed
// as a consumer stops, keeps going while the backend is unreachable, and
// reports Stats. A Driver only stores jobs and claims and settles them:
// Send, Receive, Ack, Retry, Pending and Close, plus Lease and Extend when
// its claims expire. The Driver example is a complete driver of about a
// hundred lines.
//
// Drivers live in subpackages: memory (bounded, in-process), redis (rueidis,
// standalone or Cluster; jobs survive a crash) and sqs (AWS SQS, standard or
// FIFO) are Drivers under a Portable; none (no background processing)
// implements Queue directly. The conformance suite in queuetest is the
// contract every queue must pass.
package queue

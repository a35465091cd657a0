// Package queuetest is the conformance suite for queue.Queue drivers.
//
// A driver's test calls Run with a Harness that opens queues on fresh,
// isolated storage:
//
//	func TestConformance(t *testing.T) {
//		queuetest.Run(t, queuetest.Harness{
//			Open: func(t *testing.T) queuetest.Opener {
//				name := uniqueName(t)
//				return func(t *testing.T, concurrency int) queue.Queue {
//					q, err := mydriver.New(client, &mydriver.Options{Name: name, Concurrency: concurrency})
//					...
//					t.Cleanup(func() { q.Close() })
//					return q
//				}
//			},
//			MultiInstance: true,
//			Lease:         time.Second,
//		})
//	}
//
// The suite checks at-least-once delivery: every job is handled, once when
// its handler succeeds; a failing handler leads to redelivery with a higher
// Attempt, after the RetryAfter delay when one is given; Permanent drops
// the job; a consumer that stops without acknowledging (cancelled
// mid-handler, or a queue closed under a running handler) leaves its job to
// another consumer, while a slow but running handler keeps its job;
// Consume waits for its handlers; payloads are binary-safe; the
// concurrency setting is honoured; Enqueue and Consume return
// queue.ErrClosed after Close; Enqueue with a context already done returns
// its error and stores nothing. For a queue.StatsReporter it also checks
// what a host relies on to drain a queue before closing it: InFlight
// counts the running handlers, Depth and InFlight are never both zero
// while a job remains, and both reach zero once every job is handled.
//
// A driver written for queue.New (a queue.Driver) is checked through the
// Portable that New returns; the suite exercises the driver and the
// consumer loop together.
//
// Subtests run in parallel and wait for conditions by polling with
// deadlines, so the harness's back-off and lease must be short (about a
// second at most) for the suite to finish quickly.
package queuetest

package queue_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/sockudo-go/sockudo/queue"
	"github.com/sockudo-go/sockudo/queue/queuetest"
)

// TestSliceDriverConformance runs the conformance suite on the driver of
// ExampleDriver, as a third party would on its own: about a hundred lines
// of storage pass it on the portable loop.
func TestSliceDriverConformance(t *testing.T) {
	const lease = 200 * time.Millisecond
	queuetest.Run(t, queuetest.Harness{
		Open: func(t *testing.T) queuetest.Opener {
			store := &sliceStore{}
			return func(t *testing.T, concurrency int) queue.Queue {
				q, err := queue.New(&sliceDriver{store: store, lease: lease, poll: 5 * time.Millisecond}, &queue.Options{
					Concurrency: concurrency,
					RetryBase:   10 * time.Millisecond,
					RetryMax:    50 * time.Millisecond,
					Logger:      slog.New(slog.DiscardHandler),
				})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { q.Close() })
				return q
			}
		},
		MultiInstance: true,
		Lease:         lease,
	})
}

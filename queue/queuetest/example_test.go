package queuetest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/sockudo-go/sockudo/queue"
	"github.com/sockudo-go/sockudo/queue/memory"
	"github.com/sockudo-go/sockudo/queue/queuetest"
)

// A driver's TestConformance passes Run a Harness that opens queues on
// fresh storage with short back-offs.
func ExampleRun() {
	h := queuetest.Harness{
		Open: func(t *testing.T) queuetest.Opener {
			return func(t *testing.T, concurrency int) queue.Queue {
				q, err := memory.New(&memory.Options{Options: queue.Options{
					Concurrency: concurrency,
					RetryBase:   10 * time.Millisecond,
					RetryMax:    50 * time.Millisecond,
				}})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { q.Close() })
				return q
			}
		},
		// An in-process queue cannot be shared by two instances.
		MultiInstance: false,
		Lease:         100 * time.Millisecond,
	}
	// In TestConformance(t *testing.T): queuetest.Run(t, h)
	fmt.Println("shared storage:", h.MultiInstance)
	// Output: shared storage: false
}

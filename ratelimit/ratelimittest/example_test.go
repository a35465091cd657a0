package ratelimittest_test

import (
	"testing"
	"time"

	"github.com/sockudo-go/sockudo/ratelimit"
	"github.com/sockudo-go/sockudo/ratelimit/memory"
	"github.com/sockudo-go/sockudo/ratelimit/ratelimittest"
)

// ExampleRun shows a driver's conformance test. This one runs the suite on
// the memory driver with the suite's fake clock.
func ExampleRun() {
	_ = func(t *testing.T) { // func TestConformance(t *testing.T)
		ratelimittest.Run(t, ratelimittest.Harness{
			New: func(t *testing.T, now func() time.Time) ratelimit.Limiter {
				l, err := memory.New(&memory.Options{Now: now})
				if err != nil {
					t.Fatal(err)
				}
				return l
			},
			FakeClock: true,
		})
	}
}

package ratelimittest_test

import (
	"testing"

	"github.com/sockudo-go/sockudo/ratelimit"
	"github.com/sockudo-go/sockudo/ratelimit/memory"
	"github.com/sockudo-go/sockudo/ratelimit/ratelimittest"
)

// ExampleRun shows a driver's conformance test. This one runs the suite on
// the memory driver on fake time.
func ExampleRun() {
	_ = func(t *testing.T) { // func TestConformance(t *testing.T)
		ratelimittest.Run(t, ratelimittest.Harness{
			New: func(t *testing.T) ratelimit.Limiter {
				l, err := memory.New(nil)
				if err != nil {
					t.Fatal(err)
				}
				return l
			},
			Synctest: true, // in-process: the suite can run it on fake time
		})
	}
}

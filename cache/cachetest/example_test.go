package cachetest_test

import (
	"testing"

	"github.com/sockudo-go/sockudo/cache"
	"github.com/sockudo-go/sockudo/cache/cachetest"
	"github.com/sockudo-go/sockudo/cache/memory"
)

// A driver's test file runs the suite from an ordinary test function:
//
//	func TestConformance(t *testing.T) { cachetest.Run(t, harness) }
func ExampleRun() {
	harness := cachetest.Harness{
		New: func(t *testing.T) cache.Cache {
			c := memory.New(nil)
			t.Cleanup(func() { c.Close() })
			return c
		},
	}
	_ = harness
}

// TestRunOnMemory keeps the suite itself compiling and passing here, next
// to its source.
func TestRunOnMemory(t *testing.T) {
	cachetest.Run(t, cachetest.Harness{
		New: func(t *testing.T) cache.Cache {
			c := memory.New(nil)
			t.Cleanup(func() { c.Close() })
			return c
		},
	})
}

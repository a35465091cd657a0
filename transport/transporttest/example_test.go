package transporttest_test

import (
	"testing"

	"github.com/sockudo-go/sockudo/transport/memory"
	"github.com/sockudo-go/sockudo/transport/transporttest"
)

// A driver's test file runs the suite from an ordinary test function,
// passing the fault hooks it supports:
//
//	func TestConformance(t *testing.T) { transporttest.Run(t, harness) }
func ExampleRun() {
	harness := transporttest.Harness{
		New: func(t *testing.T) transporttest.Backend {
			c := memory.New(nil)
			return transporttest.Backend{Driver: c, Kill: c.Kill, Partition: c.Partition, Heal: c.Heal, Wipe: c.Wipe}
		},
		Synctest: true, // only for drivers that do no real I/O
	}
	_ = harness
}

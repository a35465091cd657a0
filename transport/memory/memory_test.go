package memory_test

import (
	"testing"
	"time"

	"github.com/sockudo-go/sockudo/transport/memory"
	"github.com/sockudo-go/sockudo/transport/transporttest"
)

func backend(t *testing.T) transporttest.Backend {
	c := memory.New(nil)
	return transporttest.Backend{Driver: c, Kill: c.Kill, Partition: c.Partition, Heal: c.Heal, Wipe: c.Wipe}
}

// TestConformance runs the suite on fake time: leases and holds pass
// instantly and exactly, whatever the machine's load.
func TestConformance(t *testing.T) {
	transporttest.Run(t, transporttest.Harness{New: backend, Synctest: true})
}

// TestConformanceRealTime runs it again on the real clock, with short
// leases and holds, as a driver on a real backend would.
func TestConformanceRealTime(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	transporttest.Run(t, transporttest.Harness{
		New:          backend,
		Lease:        2 * time.Second,
		Hold:         500 * time.Millisecond,
		HandoffGrace: time.Second,
	})
}

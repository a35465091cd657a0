package queue

import (
	"testing"
	"time"
)

func TestMeter(t *testing.T) {
	var m meter
	m.begin()
	m.begin()
	m.end()
	m.succeeded(time.Now().Add(-160 * time.Millisecond))
	m.succeeded(time.Now()) // pulls the average down by 1/16 of the gap
	m.failedOne()
	st := m.stats(8)
	if st.Depth != 7 || st.InFlight != 1 || st.Processed != 2 || st.Failed != 1 {
		t.Fatalf("stats %+v", st)
	}
	if st.AvgLatency < 140*time.Millisecond || st.AvgLatency > 160*time.Millisecond {
		t.Fatalf("average latency %s, want about 150ms", st.AvgLatency)
	}
	if st := m.stats(0); st.Depth != 0 {
		t.Fatalf("Depth %d with fewer pending jobs than in flight, want 0", st.Depth)
	}
}

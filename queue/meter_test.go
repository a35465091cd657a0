package queue

import (
	"testing"
	"time"
)

func TestMeter(t *testing.T) {
	var m Meter
	m.Begin()
	m.Begin()
	m.End()
	m.Succeeded(time.Now().Add(-160 * time.Millisecond))
	m.Succeeded(time.Now()) // pulls the average down by 1/16 of the gap
	m.Failed()
	st := m.Stats(7)
	if st.Depth != 7 || st.InFlight != 1 || st.Processed != 2 || st.Failed != 1 {
		t.Fatalf("stats %+v", st)
	}
	if st.AvgLatency < 140*time.Millisecond || st.AvgLatency > 160*time.Millisecond {
		t.Fatalf("average latency %s, want about 150ms", st.AvgLatency)
	}
}

package logthrottle

import (
	"testing"
	"testing/synctest"
	"time"
)

func TestThrottleCountsWhatItHoldsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th := New(time.Second, 3)
		let := 0
		for range 100 {
			if ok, _ := th.Allow(); ok {
				let++
			}
		}
		if let != 3 {
			t.Fatalf("a flood of 100 let %d lines through; want the burst of 3", let)
		}
		time.Sleep(time.Second)
		ok, suppressed := th.Allow()
		if !ok || suppressed != 97 {
			t.Fatalf("after the interval Allow = %v, %d; want true, 97", ok, suppressed)
		}
		if ok, suppressed := th.Allow(); ok || suppressed != 0 {
			t.Fatalf("right after = %v, %d; want false, 0", ok, suppressed)
		}
	})
}

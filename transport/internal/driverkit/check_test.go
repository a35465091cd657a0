package driverkit

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

func TestSleep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		if err := Sleep(context.Background(), time.Second); err != nil || time.Since(start) != time.Second {
			t.Errorf("Sleep(1s) = %v after %v", err, time.Since(start))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if err := Sleep(ctx, time.Hour); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 1100*time.Millisecond {
			t.Errorf("Sleep with a 100 ms deadline = %v after %v", err, time.Since(start))
		}
		if err := Sleep(context.Background(), -1); err != nil {
			t.Errorf("Sleep(-1) = %v", err)
		}
	})
}

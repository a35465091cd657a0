package memory_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sockudo-go/sockudo/queue"
	"github.com/sockudo-go/sockudo/queue/memory"
)

// BenchmarkEnqueueConsume measures jobs flowing from Enqueue through a
// consumer with the default concurrency and reports jobs/s.
func BenchmarkEnqueueConsume(b *testing.B) {
	q, err := memory.New(&memory.Options{Capacity: b.N + 1})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var handled atomic.Int64
	done := make(chan struct{})
	n := int64(b.N)
	go q.Consume(ctx, func(context.Context, *queue.Job) error {
		if handled.Add(1) == n {
			close(done)
		}
		return nil
	})
	payload := []byte(`{"time_ms":1,"events":[{"name":"channel_occupied","channel":"bench"}]}`)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if err := q.Enqueue(ctx, payload); err != nil {
			b.Fatal(err)
		}
	}
	<-done
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
}

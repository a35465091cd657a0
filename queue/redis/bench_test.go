package redis_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sockudo-go/sockudo/queue"
)

// BenchmarkEnqueueConsume measures jobs flowing through Redis, from
// Enqueue to an acknowledged handler, and reports jobs/s.
func BenchmarkEnqueueConsume(b *testing.B) {
	client := standaloneClient(b)
	for _, conc := range []int{5, 32} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			q := openQueue(b, client, uniqueName(b), conc)
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
			payload := []byte(`{"app_id":"app-id","url":"http://127.0.0.1/hook","body":{"time_ms":1,"events":[{"name":"channel_occupied","channel":"bench"}]}}`)
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
		})
	}
}

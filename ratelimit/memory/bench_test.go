package memory_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sockudo-go/sockudo/ratelimit"
	"github.com/sockudo-go/sockudo/ratelimit/memory"
)

func BenchmarkAllow(b *testing.B) {
	ctx := context.Background()
	lim := ratelimit.Limit{Max: 1 << 30, Window: time.Hour}
	newLimiter := func(b *testing.B) *memory.Limiter {
		l, err := memory.New(nil)
		if err != nil {
			b.Fatal(err)
		}
		return l
	}
	b.Run("Serial", func(b *testing.B) {
		l := newLimiter(b)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := l.Allow(ctx, "api:203.0.113.7", lim, 1); err != nil {
				b.Fatal(err)
			}
		}
	})
	// ParallelOneKey: every goroutine on one key (one shard's lock).
	b.Run("ParallelOneKey", func(b *testing.B) {
		l := newLimiter(b)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := l.Allow(ctx, "api:203.0.113.7", lim, 1); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	// ParallelManyKeys: goroutines on 1000 existing keys across shards.
	b.Run("ParallelManyKeys", func(b *testing.B) {
		l := newLimiter(b)
		keys := make([]string, 1000)
		for i := range keys {
			keys[i] = "api:10.0." + strconv.Itoa(i/256) + "." + strconv.Itoa(i%256)
		}
		var next atomic.Uint64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := next.Add(7919)
			for pb.Next() {
				i++
				if _, err := l.Allow(ctx, keys[i%uint64(len(keys))], lim, 1); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	// Flood: a new key on every call, at the MaxKeys cap (evicting).
	b.Run("Flood", func(b *testing.B) {
		l, err := memory.New(&memory.Options{MaxKeys: 10_000})
		if err != nil {
			b.Fatal(err)
		}
		keys := make([]string, 100_000)
		for i := range keys {
			keys[i] = "api:" + strconv.Itoa(i)
		}
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			if _, err := l.Allow(ctx, keys[i%len(keys)], lim, 1); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

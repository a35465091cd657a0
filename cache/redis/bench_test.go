package redis_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	rediscache "github.com/sockudo-go/sockudo/cache/redis"
	"github.com/sockudo-go/sockudo/internal/testenv"
)

// benchCache returns a cache on the standalone test Redis, holding 1024
// keys of 256 bytes under a prefix that is dropped when b ends.
func benchCache(b *testing.B, opts rediscache.Options) (*rediscache.Cache, []string) {
	b.Helper()
	client := testenv.RedisClient(b, testenv.RedisStandalone(b))
	opts.Prefix = testenv.UniquePrefix(b)
	testenv.DropKeys(b, client, opts.Prefix)
	c, err := rediscache.New(client, &opts)
	if err != nil {
		b.Fatal(err)
	}
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = "key-" + strconv.Itoa(i)
		if err := c.Set(context.Background(), keys[i], make([]byte, 256), time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	return c, keys
}

func benchGet(b *testing.B, opts rediscache.Options, parallel bool) {
	c, keys := benchCache(b, opts)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	if !parallel {
		i := 0
		for b.Loop() {
			if _, err := c.Get(ctx, keys[i&1023]); err != nil {
				b.Fatal(err)
			}
			i++
		}
		return
	}
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := c.Get(ctx, keys[i&1023]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

func benchSet(b *testing.B, parallel bool) {
	c, keys := benchCache(b, rediscache.Options{})
	ctx := context.Background()
	v := make([]byte, 256)
	b.ReportAllocs()
	b.ResetTimer()
	if !parallel {
		i := 0
		for b.Loop() {
			if err := c.Set(ctx, keys[i&1023], v, time.Hour); err != nil {
				b.Fatal(err)
			}
			i++
		}
		return
	}
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if err := c.Set(ctx, keys[i&1023], v, time.Hour); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

func BenchmarkGet(b *testing.B)         { benchGet(b, rediscache.Options{}, false) }
func BenchmarkGetParallel(b *testing.B) { benchGet(b, rediscache.Options{}, true) }
func BenchmarkSet(b *testing.B)         { benchSet(b, false) }
func BenchmarkSetParallel(b *testing.B) { benchSet(b, true) }

// The client-side cached variants read keys that have been read before,
// so most reads are answered from memory.
func BenchmarkGetClientSide(b *testing.B) {
	benchGet(b, rediscache.Options{ClientSideTTL: time.Minute}, false)
}

func BenchmarkGetClientSideParallel(b *testing.B) {
	benchGet(b, rediscache.Options{ClientSideTTL: time.Minute}, true)
}

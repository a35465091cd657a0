package memory_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sockudo-go/sockudo/cache"
	"github.com/sockudo-go/sockudo/cache/cachetest"
	"github.com/sockudo-go/sockudo/cache/memory"
)

// The fake-time suites run in synctest bubbles: the cache reads
// time.Now and its sweep runs on the bubble's clock.

func TestConformanceFakeTime(t *testing.T) {
	cachetest.Run(t, cachetest.Harness{
		New: func(t *testing.T) cache.Cache {
			c := memory.New(nil)
			t.Cleanup(func() { c.Close() })
			return c
		},
		Synctest: true,
	})
}

func TestConformanceFakeTimeDefaultTTL(t *testing.T) {
	cachetest.Run(t, cachetest.Harness{
		New: func(t *testing.T) cache.Cache {
			c := memory.New(&memory.Options{DefaultTTL: 5 * time.Minute})
			t.Cleanup(func() { c.Close() })
			return c
		},
		DefaultTTL: 5 * time.Minute,
		Synctest:   true,
	})
}

func TestConformanceRealClock(t *testing.T) {
	cachetest.Run(t, cachetest.Harness{
		New: func(t *testing.T) cache.Cache {
			c := memory.New(&memory.Options{DefaultTTL: time.Second, CleanupInterval: 50 * time.Millisecond})
			t.Cleanup(func() { c.Close() })
			return c
		},
		DefaultTTL: time.Second,
	})
}

func TestEvictsLeastRecentlyUsed(t *testing.T) {
	ctx := context.Background()
	c := memory.New(&memory.Options{MaxItems: 3})
	defer c.Close()
	for _, k := range []string{"a", "b", "c"} {
		if err := c.Set(ctx, k, []byte(k), 0); err != nil {
			t.Fatal(err)
		}
	}
	// Reading a makes b the least recently used.
	if _, err := c.Get(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if ok, err := c.Add(ctx, "d", []byte("d"), 0); err != nil || !ok {
		t.Fatalf("Add(d) = %v, %v", ok, err)
	}
	if _, err := c.Get(ctx, "b"); !errors.Is(err, cache.ErrNotFound) {
		t.Fatalf("Get(b) after eviction: %v, want ErrNotFound", err)
	}
	for _, k := range []string{"a", "c", "d"} {
		if _, err := c.Get(ctx, k); err != nil {
			t.Fatalf("Get(%s): %v", k, err)
		}
	}
	if n := c.Len(); n != 3 {
		t.Fatalf("Len = %d, want 3", n)
	}
}

func TestDefaultMaxItems(t *testing.T) {
	ctx := context.Background()
	for _, max := range []int{0, -5} {
		c := memory.New(&memory.Options{MaxItems: max, CleanupInterval: -1})
		for i := range memory.DefaultMaxItems + 10 {
			if err := c.Set(ctx, strconv.Itoa(i), nil, 0); err != nil {
				t.Fatal(err)
			}
		}
		if n := c.Len(); n != memory.DefaultMaxItems {
			t.Fatalf("MaxItems %d: Len = %d, want %d", max, n, memory.DefaultMaxItems)
		}
		if _, err := c.Get(ctx, "0"); !errors.Is(err, cache.ErrNotFound) {
			t.Fatalf("MaxItems %d: oldest entry still present: %v", max, err)
		}
		c.Close()
	}
}

func TestSweepRemovesExpired(t *testing.T) {
	synctest.Test(t, testSweepRemovesExpired)
}

func testSweepRemovesExpired(t *testing.T) {
	ctx := context.Background()
	c := memory.New(&memory.Options{CleanupInterval: 30 * time.Second})
	defer c.Close()
	for i := range 3000 { // more than one sweep batch
		ttl := time.Minute
		if i%3 == 0 {
			ttl = time.Hour
		}
		if err := c.Set(ctx, strconv.Itoa(i), []byte("v"), ttl); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Set(ctx, "forever", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Minute) // four sweeps
	synctest.Wait()
	if n := c.Len(); n != 1001 {
		t.Fatalf("Len = %d after the sweep, want 1001", n)
	}
	if _, err := c.Get(ctx, "forever"); err != nil {
		t.Fatalf("Get(forever): %v", err)
	}
}

func TestNoSweepKeepsExpiredUntilRead(t *testing.T) {
	synctest.Test(t, testNoSweepKeepsExpiredUntilRead)
}

func testNoSweepKeepsExpiredUntilRead(t *testing.T) {
	ctx := context.Background()
	c := memory.New(&memory.Options{CleanupInterval: -1})
	defer c.Close()
	if err := c.Set(ctx, "k", []byte("v"), time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Minute)
	if n := c.Len(); n != 1 {
		t.Fatalf("Len = %d, want 1 (no sweep)", n)
	}
	if _, err := c.Get(ctx, "k"); !errors.Is(err, cache.ErrNotFound) {
		t.Fatalf("Get of an expired entry: %v, want ErrNotFound", err)
	}
	if n := c.Len(); n != 0 {
		t.Fatalf("Len = %d after reading an expired entry, want 0", n)
	}
}

func TestNegativeDefaultTTLMeansNever(t *testing.T) {
	synctest.Test(t, testNegativeDefaultTTLMeansNever)
}

func testNegativeDefaultTTLMeansNever(t *testing.T) {
	c := memory.New(&memory.Options{DefaultTTL: -time.Second, CleanupInterval: -1})
	defer c.Close()
	ctx := context.Background()
	if err := c.Set(ctx, "k", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1000 * time.Hour)
	e, err := c.Get(ctx, "k")
	if err != nil || !e.ExpiresAt.IsZero() {
		t.Fatalf("Get = %+v, %v; want a live entry that never expires", e, err)
	}
}

func TestCloseIsIdempotentAndCacheStaysUsable(t *testing.T) {
	for _, opts := range []*memory.Options{nil, {CleanupInterval: -1}} {
		c := memory.New(opts)
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if err := c.Set(ctx, "k", []byte("v"), 0); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Get(ctx, "k"); err != nil {
			t.Fatal(err)
		}
	}
}

func Example() {
	ctx := context.Background()
	c := memory.New(&memory.Options{MaxItems: 1000, DefaultTTL: 5 * time.Minute})
	defer c.Close()

	_ = c.Set(ctx, "greeting", []byte("hello"), 0)
	e, err := c.Get(ctx, "greeting")
	fmt.Println(string(e.Value), err, e.TTL(time.Now()) > 4*time.Minute)

	first, _ := c.Add(ctx, "once", []byte("x"), time.Minute)
	second, _ := c.Add(ctx, "once", []byte("y"), time.Minute)
	fmt.Println(first, second)

	_, err = c.Get(ctx, "missing")
	fmt.Println(errors.Is(err, cache.ErrNotFound))
	// Output:
	// hello <nil> true
	// true false
	// true
}

func BenchmarkGet(b *testing.B) {
	ctx := context.Background()
	c := memory.New(nil)
	defer c.Close()
	_ = c.Set(ctx, "key", make([]byte, 256), time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Get(ctx, "key"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSet(b *testing.B) {
	ctx := context.Background()
	c := memory.New(nil)
	defer c.Close()
	v := make([]byte, 256)
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Set(ctx, "key", v, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetParallel(b *testing.B) {
	ctx := context.Background()
	c := memory.New(nil)
	defer c.Close()
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = "key-" + strconv.Itoa(i)
		_ = c.Set(ctx, keys[i], make([]byte, 256), time.Hour)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := c.Get(ctx, keys[i&1023]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

func BenchmarkSetParallel(b *testing.B) {
	ctx := context.Background()
	c := memory.New(nil)
	defer c.Close()
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = "key-" + strconv.Itoa(i)
	}
	v := make([]byte, 256)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if err := c.Set(ctx, keys[i&1023], v, time.Hour); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

package memory_test

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sockudo-go/sockudo/ratelimit"
	"github.com/sockudo-go/sockudo/ratelimit/memory"
	"github.com/sockudo-go/sockudo/ratelimit/ratelimittest"
)

func TestConformanceFakeTime(t *testing.T) {
	ratelimittest.Run(t, ratelimittest.Harness{
		New: func(t *testing.T) ratelimit.Limiter {
			l, err := memory.New(nil)
			if err != nil {
				t.Fatal(err)
			}
			return l
		},
		Synctest: true,
	})
}

func TestConformanceRealClock(t *testing.T) {
	ratelimittest.Run(t, ratelimittest.Harness{
		New: func(t *testing.T) ratelimit.Limiter {
			l, err := memory.New(nil)
			if err != nil {
				t.Fatal(err)
			}
			return l
		},
	})
}

func TestNewRejectsNegativeMaxKeys(t *testing.T) {
	if _, err := memory.New(&memory.Options{MaxKeys: -1}); err == nil {
		t.Fatal("New with MaxKeys -1: no error")
	}
}

// TestBoundedKeys floods the limiter with distinct keys and checks that it
// never tracks more than MaxKeys, and that keys in use keep their counts.
func TestBoundedKeys(t *testing.T) {
	for _, maxKeys := range []int{1, 7, 100, 1000} {
		t.Run(fmt.Sprint(maxKeys), func(t *testing.T) {
			l, err := memory.New(&memory.Options{MaxKeys: maxKeys})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			lim := ratelimit.Limit{Max: 1, Window: time.Hour}
			for i := range 20 * maxKeys {
				res, err := l.Allow(ctx, fmt.Sprint("flood-", i), lim, 1)
				if err != nil || !res.Allowed {
					t.Fatalf("flood key %d: %+v, %v", i, res, err)
				}
				if n := l.Len(); n > maxKeys {
					t.Fatalf("after %d keys Len = %d, want at most %d", i+1, n, maxKeys)
				}
			}
			if n := l.Len(); n < maxKeys*3/4 {
				t.Errorf("Len = %d after the flood, want the cache mostly used (MaxKeys %d)", n, maxKeys)
			}
		})
	}
}

// TestEvictionIsLenientOnlyForEvictedKey checks that evicting a key's
// open window gives that key a fresh budget, while a key that stays in use
// keeps its count however many keys pass through.
func TestEvictionIsLenientOnlyForEvictedKey(t *testing.T) {
	l, err := memory.New(&memory.Options{MaxKeys: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	lim := ratelimit.Limit{Max: 1, Window: time.Hour}
	mustAllow := func(key string, want bool) {
		t.Helper()
		res, err := l.Allow(ctx, key, lim, 1)
		if err != nil || res.Allowed != want {
			t.Fatalf("Allow(%q) = %+v, %v; want Allowed %v", key, res, err, want)
		}
	}
	mustAllow("a", true)
	mustAllow("a", false)
	mustAllow("b", true) // evicts a, the only slot
	mustAllow("a", true) // a forgot its usage: lenient for a only
	mustAllow("a", false)

	// A key in use between each of a stream of other keys is never the
	// least recently used of its shard (MaxKeys 64 gives 32 shards of two),
	// so it keeps its count however many keys pass through.
	l, err = memory.New(&memory.Options{MaxKeys: 64})
	if err != nil {
		t.Fatal(err)
	}
	lim = ratelimit.Limit{Max: 1000, Window: time.Hour}
	for i := range 500 {
		res, err := l.Allow(ctx, "busy", lim, 1)
		if err != nil || res.Remaining != lim.Max-1-i {
			t.Fatalf("busy call %d: %+v, %v; want Remaining %d", i, res, err, lim.Max-1-i)
		}
		if _, err := l.Allow(ctx, fmt.Sprint("other-", i), lim, 1); err != nil {
			t.Fatal(err)
		}
	}
}

// TestEndedWindowReused checks that a key whose window ended gets a fresh
// one in place and that the entry count does not grow.
func TestEndedWindowReused(t *testing.T) {
	synctest.Test(t, testEndedWindowReused)
}

func testEndedWindowReused(t *testing.T) {
	l, err := memory.New(&memory.Options{MaxKeys: 10})
	if err != nil {
		t.Fatal(err)
	}
	lim := ratelimit.Limit{Max: 2, Window: time.Second}
	for i := range 5 {
		for j := range 2 {
			res, err := l.Allow(context.Background(), "k", lim, 1)
			if err != nil || !res.Allowed || res.Remaining != 1-j {
				t.Fatalf("window %d call %d: %+v, %v", i, j, res, err)
			}
		}
		time.Sleep(time.Second)
	}
	if n := l.Len(); n != 1 {
		t.Fatalf("Len = %d, want 1", n)
	}
}

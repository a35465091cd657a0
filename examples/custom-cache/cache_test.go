package main

import (
	"testing"
	"time"

	"github.com/sockudo-go/sockudo/cache"
	"github.com/sockudo-go/sockudo/cache/cachetest"
)

// TestConformance runs the suite every bundled cache driver passes.
func TestConformance(t *testing.T) {
	for _, ttl := range []time.Duration{0, 500 * time.Millisecond} {
		t.Run("default ttl "+ttl.String(), func(t *testing.T) {
			cachetest.Run(t, cachetest.Harness{
				New:        func(*testing.T) cache.Cache { return newMapCache(ttl) },
				DefaultTTL: ttl,
			})
		})
	}
}

func TestSweep(t *testing.T) {
	c := newMapCache(0)
	ctx := t.Context()
	if err := c.Set(ctx, "short", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "forever", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	c.Sweep(time.Now().Add(2 * time.Minute))
	if _, ok := c.entries["short"]; ok {
		t.Error("Sweep kept an expired entry")
	}
	if _, ok := c.entries["forever"]; !ok {
		t.Error("Sweep dropped an entry that never expires")
	}
}

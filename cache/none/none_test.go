package none_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sockudo-go/sockudo/cache"
	"github.com/sockudo-go/sockudo/cache/cachetest"
	"github.com/sockudo-go/sockudo/cache/none"
)

func TestConformance(t *testing.T) {
	cachetest.Run(t, cachetest.Harness{
		New:           func(*testing.T) cache.Cache { return none.New() },
		StoresNothing: true,
	})
}

func TestZeroValue(t *testing.T) {
	var c none.Cache
	ctx := context.Background()
	if err := c.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "k"); !errors.Is(err, cache.ErrNotFound) {
		t.Fatalf("Get = %v, want ErrNotFound", err)
	}
}

func Example() {
	ctx := context.Background()
	var c cache.Cache = none.New()

	_ = c.Set(ctx, "app:1:channel:cache-news:cache_miss", []byte(`{"event":"x"}`), time.Hour)
	_, err := c.Get(ctx, "app:1:channel:cache-news:cache_miss")
	fmt.Println(errors.Is(err, cache.ErrNotFound))

	// Add never blocks work: every caller is told to proceed.
	first, _ := c.Add(ctx, "idempotency:abc", nil, time.Minute)
	second, _ := c.Add(ctx, "idempotency:abc", nil, time.Minute)
	fmt.Println(first, second)
	// Output:
	// true
	// true true
}

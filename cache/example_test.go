package cache_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sockudo-go/sockudo/cache"
	"github.com/sockudo-go/sockudo/cache/memory"
)

func Example() {
	ctx := context.Background()
	mem := memory.New(nil)
	defer mem.Close()
	var c cache.Cache = mem

	// Remember the last event of a cache channel for an hour.
	_ = c.Set(ctx, "app:1:channel:cache-prices:cache_miss", []byte(`{"event":"tick"}`), time.Hour)

	e, err := c.Get(ctx, "app:1:channel:cache-prices:cache_miss")
	fmt.Println(string(e.Value), err, e.TTL(time.Now()).Round(time.Hour))

	if _, err := c.Get(ctx, "app:1:channel:cache-other:cache_miss"); errors.Is(err, cache.ErrNotFound) {
		fmt.Println("miss")
	}
	// Output:
	// {"event":"tick"} <nil> 1h0m0s
	// miss
}

func ExampleEntry_TTL() {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	fmt.Println(cache.Entry{ExpiresAt: now.Add(90 * time.Second)}.TTL(now))
	fmt.Println(cache.Entry{ExpiresAt: now.Add(-time.Second)}.TTL(now))
	fmt.Println(cache.Entry{}.TTL(now)) // never expires
	// Output:
	// 1m30s
	// 0s
	// 0s
}

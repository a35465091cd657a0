package memory_test

import (
	"context"
	"fmt"
	"time"

	"github.com/sockudo-go/sockudo/ratelimit"
	"github.com/sockudo-go/sockudo/ratelimit/memory"
)

func Example() {
	l, err := memory.New(&memory.Options{MaxKeys: 10_000})
	if err != nil {
		panic(err)
	}
	lim := ratelimit.Limit{Max: 2, Window: time.Minute}
	for range 3 {
		res, _ := l.Allow(context.Background(), "websocket_connect:203.0.113.7", lim, 1)
		fmt.Println(res.Allowed, res.Remaining, res.RetryAfter > 0)
	}
	// Output:
	// true 1 false
	// true 0 false
	// false 0 true
}

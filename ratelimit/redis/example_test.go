package redis_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/redis/rueidis"

	"github.com/sockudo-go/sockudo/ratelimit"
	redislimit "github.com/sockudo-go/sockudo/ratelimit/redis"
)

// Example shares one rueidis client (standalone here; a Cluster client
// works the same) and guards the limiter so a Redis outage fails open.
func Example() {
	client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{"127.0.0.1:6379"}})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	l, err := redislimit.New(client, &redislimit.Options{Prefix: "myapp_rl:"})
	if err != nil {
		log.Fatal(err)
	}
	limiter := ratelimit.NewGuard(l, nil)

	res, err := limiter.Allow(context.Background(), "api:203.0.113.7", ratelimit.Limit{Max: 100, Window: time.Minute}, 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Allowed, res.Remaining)
}

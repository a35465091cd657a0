package redis_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"

	"github.com/redis/rueidis"

	"github.com/sockudo-go/sockudo/transport"
	"github.com/sockudo-go/sockudo/transport/redis"
)

// A node on Redis: its first subscriber of a channel occupies it
// cluster-wide.
func Example() {
	addr := os.Getenv("SOCKUDO_TEST_REDIS_URL")
	if addr == "" {
		addr = "redis://127.0.0.1:6379"
	}
	opt, err := rueidis.ParseURL(addr)
	if err != nil {
		fmt.Println(err)
		return
	}
	client, err := rueidis.NewClient(opt)
	if err != nil {
		fmt.Println("no Redis:", err)
		return
	}
	defer client.Close()
	// A prefix of its own, so that the example shares no state.
	driver, err := redis.New(client, &redis.Options{Prefix: "sockudo:example:" + rand.Text() + ":"})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	node, err := driver.Start(ctx, transport.NodeConfig{Hold: -1, HandoffGrace: -1}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := node.SetChannel(ctx, transport.ChannelOp{App: "app", Channel: "news", Subscribers: 1, Version: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, tr := range res.Transitions {
		fmt.Println(tr.Kind, tr.Channel)
	}
	// Deregister removes the node's contributions through the usual
	// transitions, reported to its own Handler.
	if err := node.Deregister(ctx); err != nil {
		fmt.Println(err)
	}
	// Output:
	// channel_occupied news
}

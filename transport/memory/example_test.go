package memory_test

import (
	"context"
	"fmt"
	"time"

	"github.com/sockudo-go/sockudo/transport"
	"github.com/sockudo-go/sockudo/transport/memory"
)

// Two nodes share one store: a user with a socket on each is added once
// and removed once, and a publish on one node reaches the other.
func Example() {
	ctx := context.Background()
	cluster := memory.New(nil)
	got := make(chan string, 1)
	a, _ := cluster.Start(ctx, transport.NodeConfig{Hold: -1}, nil)
	b, _ := cluster.Start(ctx, transport.NodeConfig{Hold: -1}, transport.HandlerFuncs{
		OnMessage: func(t transport.Topic, msg []byte) { got <- t.Name + ": " + string(msg) },
	})
	defer a.Close()
	defer b.Close()

	join := func(n transport.Node, sockets int, version uint64) {
		res, err := n.SetChannel(ctx, transport.ChannelOp{
			App: "app", Channel: "presence-room", Subscribers: sockets, Version: version,
			Member: &transport.MemberOp{UserID: "alice", Sockets: sockets, Info: []byte(`{"name":"Alice"}`)},
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, tr := range res.Transitions {
			webhook, _ := tr.Webhook()
			fmt.Printf("%s %s (webhook %q)\n", tr.Kind, tr.UserID, webhook)
		}
		fmt.Println("subscribers:", res.Subscribers, "users:", res.Users)
	}
	join(a, 1, 1) // alice's first socket, on a
	join(b, 1, 1) // her second, on b: no member_added
	join(a, 0, 2) // leaves a: still a member
	join(b, 0, 2) // leaves b: removed, confirmed at once (Hold < 0)

	topic := transport.Channel("app", "news")
	_ = b.Subscribe(ctx, topic)
	_ = a.Publish(ctx, topic, []byte("hello"))
	select {
	case m := <-got:
		fmt.Println(m)
	case <-time.After(5 * time.Second):
		fmt.Println("not delivered")
	}
	// Output:
	// channel_occupied  (webhook "channel_occupied")
	// member_added alice (webhook "member_added")
	// subscribers: 1 users: 1
	// subscribers: 2 users: 1
	// subscribers: 1 users: 1
	// member_removed alice (webhook "")
	// removal_confirmed alice (webhook "member_removed")
	// channel_vacated  (webhook "")
	// vacate_confirmed  (webhook "channel_vacated")
	// subscribers: 0 users: 0
	// news: hello
}

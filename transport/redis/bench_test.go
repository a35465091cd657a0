package redis_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/sockudo-go/sockudo/internal/testenv"
	"github.com/sockudo-go/sockudo/transport"
	"github.com/sockudo-go/sockudo/transport/redis"
)

// The benchmarks run on the standalone Redis; BenchmarkPing is their
// baseline (one round trip of the same client), so that the others read
// as multiples of a round trip:
//
//	go test -run '^$' -bench . ./transport/redis/

func benchNodes(b *testing.B, count int, h transport.Handler) (rueidis.Client, []transport.Node) {
	b.Helper()
	client := testenv.RedisClient(b, testenv.RedisStandalone(b))
	prefix := testenv.RedisPrefix(b, client)
	var nodes []transport.Node
	for range count {
		d, err := redis.New(client, &redis.Options{Prefix: prefix})
		if err != nil {
			b.Fatal(err)
		}
		n, err := d.Start(context.Background(), transport.NodeConfig{}, h)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = n.Close() })
		nodes = append(nodes, n)
	}
	return client, nodes
}

func BenchmarkPing(b *testing.B) {
	client, _ := benchNodes(b, 0, nil)
	ctx := context.Background()
	for b.Loop() {
		if err := client.Do(ctx, client.B().Ping().Build()).Error(); err != nil {
			b.Fatal(err)
		}
	}
}

// One join and one leave of a presence channel per iteration: the
// write path of a subscribe and an unsubscribe.
func BenchmarkSetChannelPresence(b *testing.B) {
	_, nodes := benchNodes(b, 1, nil)
	n, ctx := nodes[0], context.Background()
	v := uint64(0)
	for b.Loop() {
		for _, s := range []int{1, 0} {
			v++
			if _, err := n.SetChannel(ctx, transport.ChannelOp{App: "app", Channel: "presence-bench", Subscribers: s, Version: v,
				Member: &transport.MemberOp{UserID: "u", Sockets: s, Info: []byte(`{"name":"u"}`)}}); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// Writes of many channels from many goroutines: the store's throughput
// on one connection (rueidis pipelines them).
func BenchmarkSetChannelParallel(b *testing.B) {
	_, nodes := benchNodes(b, 1, nil)
	n, ctx := nodes[0], context.Background()
	var v atomic.Uint64
	b.SetParallelism(8) // 16 writers on 2 cores: enough to keep the pipeline full
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := v.Add(1)
			if _, err := n.SetChannel(ctx, transport.ChannelOp{App: "app", Channel: "c" + strconv.FormatUint(i%1000, 10), Subscribers: int(i % 2), Version: i}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// A message from one node to another and back: two publish-to-delivery
// trips per iteration.
func BenchmarkPublishRoundTrip(b *testing.B) {
	got := make(chan struct{}, 1)
	_, nodes := benchNodes(b, 2, transport.HandlerFuncs{OnMessage: func(transport.Topic, []byte) { got <- struct{}{} }})
	a, c, ctx := nodes[0], nodes[1], context.Background()
	ta, tc := transport.Channel("app", "to-a"), transport.Channel("app", "to-c")
	if err := a.Subscribe(ctx, ta); err != nil {
		b.Fatal(err)
	}
	if err := c.Subscribe(ctx, tc); err != nil {
		b.Fatal(err)
	}
	msg := []byte(`{"event":"e","channel":"to-c","data":"{}"}`)
	wait := func() {
		select {
		case <-got:
		case <-time.After(5 * time.Second):
			b.Fatal("message not delivered")
		}
	}
	for b.Loop() {
		if err := a.Publish(ctx, tc, msg); err != nil {
			b.Fatal(err)
		}
		wait()
		if err := c.Publish(ctx, ta, msg); err != nil {
			b.Fatal(err)
		}
		wait()
	}
}

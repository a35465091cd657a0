package redis_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/sockudo-go/sockudo/internal/testenv"
	"github.com/sockudo-go/sockudo/transport"
	"github.com/sockudo-go/sockudo/transport/redis"
)

// outageNode is a node on a private Redis and what its Handler got.
type outageNode struct {
	n transport.Node

	mu    sync.Mutex
	lost  []transport.LossReason
	gaps  []transport.Topic
	msgs  []string
	trans []transport.Transition
}

func (o *outageNode) handler() transport.Handler {
	return transport.HandlerFuncs{
		OnMessage: func(_ transport.Topic, msg []byte) { o.mu.Lock(); o.msgs = append(o.msgs, string(msg)); o.mu.Unlock() },
		OnGap:     func(ts []transport.Topic) { o.mu.Lock(); o.gaps = append(o.gaps, ts...); o.mu.Unlock() },
		OnLost:    func(r transport.LossReason) { o.mu.Lock(); o.lost = append(o.lost, r); o.mu.Unlock() },
		OnTransition: func(tr transport.Transition) {
			o.mu.Lock()
			o.trans = append(o.trans, tr)
			o.mu.Unlock()
		},
	}
}

func (o *outageNode) snapshot() (lost []transport.LossReason, gaps []transport.Topic, msgs []string, trans int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.lost), slices.Clone(o.gaps), slices.Clone(o.msgs), len(o.trans)
}

// Redis frozen for less than the lease: calls fail within the call
// timeout and the nodes turn Degraded, then Up again with nothing lost.
// Redis restarted empty: every node reports StoreWiped once, restores
// its contributions without a transition, and pub/sub works again after
// a Gap.
func TestRedisFrozenThenRestartedEmpty(t *testing.T) {
	srv := testenv.StartRedis(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const callTimeout = 300 * time.Millisecond
	cfg := transport.NodeConfig{Lease: 6 * time.Second, Hold: -1, HandoffGrace: -1}
	var nodes []*outageNode
	for range 2 {
		client := testenv.RedisClient(t, rueidis.ClientOption{InitAddress: []string{srv.Addr()}})
		d, err := redis.New(client, &redis.Options{Prefix: "outage:", CallTimeout: callTimeout})
		if err != nil {
			t.Fatal(err)
		}
		o := &outageNode{}
		if o.n, err = d.Start(ctx, cfg, o.handler()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = o.n.Close() })
		nodes = append(nodes, o)
	}
	a, b := nodes[0], nodes[1]
	tp := transport.Channel("app", "news")
	if err := b.n.Subscribe(ctx, tp); err != nil {
		t.Fatal(err)
	}
	op := func(n int, v uint64) transport.ChannelOp {
		return transport.ChannelOp{App: "app", Channel: "presence-room", Subscribers: n, Version: v,
			Member: &transport.MemberOp{UserID: "alice", Sockets: n, Info: []byte(`{}`)}}
	}
	if _, err := a.n.SetChannel(ctx, op(1, 1)); err != nil {
		t.Fatal(err)
	}

	srv.Signal(syscall.SIGSTOP)
	start := time.Now()
	_, err := a.n.SetChannel(ctx, op(1, 2))
	if !errors.Is(err, transport.ErrUnavailable) {
		t.Errorf("a write to a frozen Redis: %v, want ErrUnavailable", err)
	}
	if took := time.Since(start); took > callTimeout+time.Second {
		t.Errorf("a write to a frozen Redis returned after %v (call timeout %v)", took, callTimeout)
	}
	for i, o := range nodes {
		testenv.Eventually(t, 5*time.Second, "Degraded", func() bool { return o.n.Health().Status == transport.Degraded })
		if h := o.n.Health(); !errors.Is(h.Err, transport.ErrUnavailable) {
			t.Errorf("node %d: Degraded with %v, want ErrUnavailable", i, h.Err)
		}
	}
	srv.Signal(syscall.SIGCONT)
	for _, o := range nodes {
		testenv.Eventually(t, 5*time.Second, "Up after the freeze", func() bool { return o.n.Health().Status == transport.Up })
	}
	if ci, err := b.n.Channel(ctx, "app", "presence-room"); err != nil || ci.Users != 1 {
		t.Fatalf("after the freeze: %+v, %v", ci, err)
	}

	srv.Kill()
	srv.Start() // empty: no persistence
	for i, o := range nodes {
		testenv.Eventually(t, 10*time.Second, "StoreWiped", func() bool {
			lost, _, _, _ := o.snapshot()
			return len(lost) > 0
		})
		if lost, _, _, _ := o.snapshot(); lost[0] != transport.StoreWiped {
			t.Fatalf("node %d lost %v, want StoreWiped", i, lost)
		}
	}
	_, _, _, before := a.snapshot()
	if err := a.n.Restore(ctx, transport.Snapshot{Channels: []transport.ChannelOp{op(1, 3)}}); err != nil {
		t.Fatal(err)
	}
	if err := b.n.Restore(ctx, transport.Snapshot{}); err != nil {
		t.Fatal(err)
	}
	if ci, err := b.n.Channel(ctx, "app", "presence-room"); err != nil || ci.Users != 1 || ci.Subscribers != 1 {
		t.Errorf("after the restore: %+v, %v", ci, err)
	}
	testenv.Eventually(t, 10*time.Second, "a Gap at the subscriber", func() bool {
		_, gaps, _, _ := b.snapshot()
		return slices.Contains(gaps, tp)
	})
	testenv.Eventually(t, 10*time.Second, "delivery after the restart", func() bool {
		_ = a.n.Publish(ctx, tp, []byte("after"))
		_, _, msgs, _ := b.snapshot()
		return slices.Contains(msgs, "after")
	})
	for i, o := range nodes {
		if lost, _, _, _ := o.snapshot(); len(lost) != 1 {
			t.Errorf("node %d lost %v, want one StoreWiped", i, lost)
		}
		if h := o.n.Health(); h.Status != transport.Up {
			t.Errorf("node %d after the restore: %v", i, h.Status)
		}
	}
	if _, _, _, after := a.snapshot(); after != before {
		t.Errorf("%d transitions reported across the restart", after-before)
	}
	// The last leave is seen as usual.
	res, err := a.n.SetChannel(ctx, op(0, 4))
	if err != nil {
		t.Fatal(err)
	}
	var kinds []transport.TransitionKind
	for _, tr := range res.Transitions {
		kinds = append(kinds, tr.Kind)
	}
	if want := []transport.TransitionKind{transport.MemberRemoved, transport.RemovalConfirmed, transport.ChannelVacated, transport.VacateConfirmed}; !slices.Equal(kinds, want) {
		t.Errorf("the last leave after the restart: %v, want %v", kinds, want)
	}
}

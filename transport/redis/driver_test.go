package redis_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/sockudo-go/sockudo/internal/testenv"
	"github.com/sockudo-go/sockudo/transport"
	"github.com/sockudo-go/sockudo/transport/redis"
)

func TestNewRefusesBadOptions(t *testing.T) {
	if _, err := redis.New(nil, nil); err == nil {
		t.Error("New(nil client): no error")
	}
	client := testenv.RedisClient(t, testenv.RedisStandalone(t))
	for _, prefix := range []string{"a{b", "a}b", "{x}"} {
		if _, err := redis.New(client, &redis.Options{Prefix: prefix}); err == nil {
			t.Errorf("prefix %q: no error", prefix)
		}
	}
}

// recorder keeps what a node's Handler received.
type recorder struct {
	mu   sync.Mutex
	msgs []string
	gaps []transport.Topic
}

func (r *recorder) handler() transport.Handler {
	return transport.HandlerFuncs{
		OnMessage: func(_ transport.Topic, msg []byte) { r.mu.Lock(); r.msgs = append(r.msgs, string(msg)); r.mu.Unlock() },
		OnGap:     func(ts []transport.Topic) { r.mu.Lock(); r.gaps = append(r.gaps, ts...); r.mu.Unlock() },
	}
}

func (r *recorder) has(msg string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.msgs, msg)
}

// A pub/sub connection that stops delivering without dropping is found
// by the probes and replaced: the node reports a Gap and receives again.
func TestSilentPubSubConnectionIsReplaced(t *testing.T) {
	opt := testenv.RedisStandalone(t)
	// rueidis's own keepalive would find the stall too, much later; the
	// probes must find it first.
	opt.ConnWriteTimeout = 5 * time.Minute
	admin := testenv.RedisClient(t, opt)
	prefix := testenv.RedisPrefix(t, admin)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := transport.NodeConfig{Lease: 2 * time.Second}

	c := &cutter{}
	opt.DialCtxFn = c.dial
	var rec recorder
	a := start(t, testenv.RedisClient(t, opt), prefix, cfg, rec.handler())
	b := start(t, admin, prefix, cfg, nil)
	tp := transport.Channel("app", "probed")
	if err := a.Subscribe(ctx, tp); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, tp, []byte("before")); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, "delivery before the stall", func() bool { return rec.has("before") })

	var sub []*stallConn
	for _, conn := range c.dialed() {
		if conn.subscribed.Load() {
			sub = append(sub, conn)
		}
	}
	if len(sub) != 1 {
		t.Fatalf("%d connections carried a SUBSCRIBE, want 1", len(sub))
	}
	sub[0].stalled.Store(true)
	stalled := time.Now()
	testenv.Eventually(t, 20*time.Second, "a Gap after the stall", func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return slices.Contains(rec.gaps, tp)
	})
	t.Logf("stall found and the connection replaced after %v", time.Since(stalled).Round(time.Millisecond))
	if s := a.(transport.StatsReporter).Stats(); s.Reconnects != 1 || s.Gaps != 1 {
		t.Errorf("Reconnects = %d, Gaps = %d, want 1 and 1", s.Reconnects, s.Gaps)
	}
	testenv.Eventually(t, 10*time.Second, "delivery after the stall", func() bool {
		_ = b.Publish(ctx, tp, []byte("after"))
		return rec.has("after")
	})
}

func start(t *testing.T, client rueidis.Client, prefix string, cfg transport.NodeConfig, h transport.Handler) transport.Node {
	t.Helper()
	d, err := redis.New(client, &redis.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	n, err := d.Start(context.Background(), cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n
}

// Once every node has left, nothing stays in Redis for good: every key
// under the prefix expires within a day.
func TestNothingStaysAfterTheNodesLeave(t *testing.T) {
	client := testenv.RedisClient(t, testenv.RedisStandalone(t))
	prefix := testenv.RedisPrefix(t, client)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := transport.NodeConfig{Lease: time.Second, Hold: 50 * time.Millisecond, HandoffGrace: -1}
	a := start(t, client, prefix, cfg, nil)
	b := start(t, client, prefix, cfg, nil)
	for i, n := range []transport.Node{a, b} {
		v := uint64(1)
		write := func(subs int) {
			if _, err := n.SetChannel(ctx, transport.ChannelOp{App: "app", Channel: "presence-x", Subscribers: subs, Version: v,
				Member: &transport.MemberOp{UserID: fmt.Sprint("u", i), Sockets: subs, Info: []byte(`{}`)}}); err != nil {
				t.Fatal(err)
			}
			if _, err := n.SetUser(ctx, transport.UserOp{App: "app", UserID: "u", Sockets: subs, Version: v}); err != nil {
				t.Fatal(err)
			}
			if _, err := n.SetConnections(ctx, transport.ConnOp{App: "app", Connections: subs, Version: v}); err != nil {
				t.Fatal(err)
			}
			v++
		}
		write(1)
		if i == 0 {
			write(0)
		}
	}
	if err := b.Deregister(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the removal holds run out
	if err := a.Deregister(ctx); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, node := range client.Nodes() {
		ks, err := node.Do(ctx, node.B().Keys().Pattern(prefix+"*").Build()).AsStrSlice()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, ks...)
	}
	if len(keys) == 0 {
		t.Fatal("no keys at all: the test wrote nothing")
	}
	for _, k := range keys {
		ttl, err := client.Do(ctx, client.B().Pttl().Key(k).Build()).AsInt64()
		if err != nil {
			t.Fatal(err)
		}
		if ttl < 0 || ttl > 24*time.Hour.Milliseconds() {
			t.Errorf("key %s: PTTL %d ms, want it to expire within a day", strings.TrimPrefix(k, prefix), ttl)
		}
	}
}

// Stats count store calls and see the live nodes.
func TestStats(t *testing.T) {
	client := testenv.RedisClient(t, testenv.RedisStandalone(t))
	prefix := testenv.RedisPrefix(t, client)
	cfg := transport.NodeConfig{Lease: time.Second}
	a := start(t, client, prefix, cfg, nil)
	start(t, client, prefix, cfg, nil)
	testenv.Eventually(t, 10*time.Second, "two nodes alive", func() bool {
		s := a.(transport.StatsReporter).Stats()
		return s.NodesAlive == 2 && s.StoreCalls > 0 && s.StoreLatency > 0
	})
	if s := a.(transport.StatsReporter).Stats(); s.StoreErrors != 0 || s.Reaped != 0 {
		t.Errorf("stats %+v, want no errors and nothing reaped", s)
	}
	_, err := a.SetChannel(context.Background(), transport.ChannelOp{App: "app"})
	if !errors.Is(err, transport.ErrInvalid) {
		t.Errorf("an invalid write: %v, want ErrInvalid", err)
	}
}

// A node that held many channels is removed in chunks, when it is reaped
// and when it deregisters: every channel is vacated exactly once, and the
// node's lease goes with its last chunk.
func TestReapInChunks(t *testing.T) {
	t.Run("Killed", func(t *testing.T) { testRemoveInChunks(t, false) })
	t.Run("Deregistered", func(t *testing.T) { testRemoveInChunks(t, true) })
}

func testRemoveInChunks(t *testing.T, leave bool) {
	client := testenv.RedisClient(t, testenv.RedisStandalone(t))
	prefix := testenv.RedisPrefix(t, client)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const channels = 230
	newNode := func(h transport.Handler) transport.Node {
		d, err := redis.New(client, &redis.Options{Prefix: prefix, ReapChunk: 50})
		if err != nil {
			t.Fatal(err)
		}
		n, err := d.Start(ctx, transport.NodeConfig{Lease: time.Second, Hold: -1, HandoffGrace: -1}, h)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = n.Close() })
		return n
	}
	var mu sync.Mutex
	vacated := map[string]int{}
	record := transport.HandlerFuncs{OnTransition: func(tr transport.Transition) {
		if tr.Kind == transport.ChannelVacated {
			mu.Lock()
			vacated[tr.Channel]++
			mu.Unlock()
		}
	}}
	dead := newNode(record)
	for i := range channels {
		if _, err := dead.SetChannel(ctx, transport.ChannelOp{App: "app", Channel: fmt.Sprint("c", i), Subscribers: 1, Version: 1}); err != nil {
			t.Fatal(err)
		}
	}
	a, b := newNode(record), newNode(record)
	if leave {
		if err := dead.Deregister(ctx); err != nil {
			t.Fatal(err)
		}
	} else {
		redis.Kill(dead)
	}
	testenv.Eventually(t, 30*time.Second, "every channel vacated", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(vacated) == channels
	})
	time.Sleep(500 * time.Millisecond) // a second report would show by now
	mu.Lock()
	for ch, k := range vacated {
		if k != 1 {
			t.Errorf("%s vacated %d times", ch, k)
		}
	}
	mu.Unlock()
	if list, err := a.Channels(ctx, "app", ""); err != nil || len(list) != 0 {
		t.Errorf("Channels after the reaping: %v, %v", list, err)
	}
	testenv.Eventually(t, 10*time.Second, "the dead lease gone", func() bool {
		return b.(transport.StatsReporter).Stats().NodesAlive == 2
	})
	want := uint64(1)
	if leave {
		want = 0
	}
	if r := a.(transport.StatsReporter).Stats().Reaped + b.(transport.StatsReporter).Stats().Reaped; r != want {
		t.Errorf("%d reapings completed, want %d", r, want)
	}
}

// Listing an app with more occupied channels than one scan batch returns
// each of them once.
func TestChannelsScansInBatches(t *testing.T) {
	client := testenv.RedisClient(t, testenv.RedisStandalone(t))
	prefix := testenv.RedisPrefix(t, client)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n := start(t, client, prefix, transport.NodeConfig{}, nil)
	const channels = 1800
	var want []string
	for i := range channels {
		name := fmt.Sprintf("c%04d", i)
		want = append(want, name)
		if _, err := n.SetChannel(ctx, transport.ChannelOp{App: "app", Channel: name, Subscribers: 1, Version: 1}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := n.Channels(ctx, "app", "c")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ci := range list {
		got = append(got, ci.Name)
	}
	if !slices.Equal(got, want) {
		t.Errorf("listed %d channels, want %d", len(got), len(want))
	}
	if list, err := n.Channels(ctx, "app", "c17"); err != nil || len(list) != 100 {
		t.Errorf("prefix c17: %d channels, %v; want 100", len(list), err)
	}
}

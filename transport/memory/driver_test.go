package memory_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sockudo-go/sockudo/transport"
	"github.com/sockudo-go/sockudo/transport/memory"
)

// A full queue drops messages and reports their topic as a Gap once the
// queue has drained; delivery goes on afterwards.
func TestQueueOverflowReportsGap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		c := memory.New(&memory.Options{QueueSize: 2})
		release := make(chan struct{})
		var mu sync.Mutex
		var got []string
		var gaps []transport.Topic
		a, _ := c.Start(ctx, transport.NodeConfig{}, nil)
		b, _ := c.Start(ctx, transport.NodeConfig{}, transport.HandlerFuncs{
			OnMessage: func(_ transport.Topic, msg []byte) {
				<-release // a slow handler, for the test only
				mu.Lock()
				got = append(got, string(msg))
				mu.Unlock()
			},
			OnGap: func(ts []transport.Topic) {
				mu.Lock()
				gaps = append(gaps, ts...)
				mu.Unlock()
			},
		})
		defer a.Close()
		defer b.Close()
		tp := transport.Channel("app", "busy")
		if err := b.Subscribe(ctx, tp); err != nil {
			t.Fatal(err)
		}
		for _, m := range []string{"1", "2", "3", "4", "5", "6"} {
			if err := a.Publish(ctx, tp, []byte(m)); err != nil {
				t.Fatal(err)
			}
			synctest.Wait() // the first message is taken before the others queue
		}
		close(release)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(got, []string{"1", "2", "3"}) {
			t.Errorf("delivered %v, want 1 2 3 (one in the handler, two queued)", got)
		}
		if !slices.Equal(gaps, []transport.Topic{tp}) {
			t.Errorf("gaps %v, want [%v]", gaps, tp)
		}
	})
}

// Close leaves the contributions for the others to reap, and fails every
// later call.
func TestCloseLeavesContributionsToReaping(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		c := memory.New(nil)
		cfg := transport.NodeConfig{Lease: time.Second, Hold: -1}
		a, _ := c.Start(ctx, cfg, nil)
		var mu sync.Mutex
		var trs []transport.Transition
		b, _ := c.Start(ctx, cfg, transport.HandlerFuncs{OnTransition: func(tr transport.Transition) {
			mu.Lock()
			trs = append(trs, tr)
			mu.Unlock()
		}})
		defer b.Close()
		if _, err := a.SetChannel(ctx, transport.ChannelOp{App: "app", Channel: "c", Subscribers: 1, Version: 1}); err != nil {
			t.Fatal(err)
		}
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Channel(ctx, "app", "c"); !errors.Is(err, transport.ErrClosed) {
			t.Errorf("a call after Close: %v", err)
		}
		if h := a.Health(); h.Status != transport.Fenced || !errors.Is(h.Err, transport.ErrClosed) {
			t.Errorf("health after Close: %+v", h)
		}
		if ci, _ := b.Channel(ctx, "app", "c"); ci.Subscribers != 1 {
			t.Errorf("Close removed the contribution at once: %+v", ci)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if ci, _ := b.Channel(ctx, "app", "c"); ci.Subscribers != 0 {
			t.Errorf("not reaped a lease after Close: %+v", ci)
		}
		if got := c.Nodes(); !slices.Equal(got, []string{b.ID()}) {
			t.Errorf("Nodes() = %v, want only %s", got, b.ID())
		}
		mu.Lock()
		defer mu.Unlock()
		if len(trs) != 2 || trs[0].Kind != transport.ChannelVacated || trs[1].Kind != transport.VacateConfirmed {
			t.Errorf("reaping reported %+v", trs)
		}
	})
}

// A Deregister whose context ends during the grace returns its error and
// leaves the node to be reaped.
func TestDeregisterContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		c := memory.New(nil)
		cfg := transport.NodeConfig{Lease: time.Second, HandoffGrace: 10 * time.Second}
		a, _ := c.Start(ctx, cfg, nil)
		b, _ := c.Start(ctx, cfg, nil)
		defer b.Close()
		if _, err := a.SetUser(ctx, transport.UserOp{App: "app", UserID: "u", Sockets: 1, Version: 1}); err != nil {
			t.Fatal(err)
		}
		short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		if err := a.Deregister(short); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Deregister: %v, want the deadline", err)
		}
		if on, _ := b.Online(ctx, "app", []string{"u"}); !on[0] {
			t.Errorf("contribution removed although Deregister gave up")
		}
		time.Sleep(2 * time.Second)
		if on, _ := b.Online(ctx, "app", []string{"u"}); on[0] {
			t.Errorf("not reaped after the lease")
		}
		if err := a.Deregister(ctx); !errors.Is(err, transport.ErrClosed) {
			t.Errorf("second Deregister: %v", err)
		}
	})
}

// Fault hooks ignore nodes of another cluster.
func TestHooksIgnoreForeignNodes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		c1, c2 := memory.New(nil), memory.New(nil)
		n, _ := c2.Start(ctx, transport.NodeConfig{}, nil)
		defer n.Close()
		c1.Kill(n)
		c1.Partition(n)
		c1.Heal(n)
		c1.Kill(nil)
		if _, err := n.Channel(ctx, "app", "c"); err != nil {
			t.Errorf("a foreign hook affected the node: %v", err)
		}
		if h := n.Health(); h.Status != transport.Up {
			t.Errorf("health %v", h.Status)
		}
	})
}

package hub

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/internal/lifecycle"
	"github.com/sockudo-go/sockudo/internal/protocol"
	ratelimitmemory "github.com/sockudo-go/sockudo/ratelimit/memory"
)

type countSink struct {
	mu    sync.Mutex
	times []time.Duration
	now   func() time.Duration
}

func (s *countSink) Wants(_ *appmanager.App, name, _ string) bool {
	return name == lifecycle.SubscriptionCount
}

func (s *countSink) Emit(_ *appmanager.App, ev lifecycle.Event) {
	if ev.Name == lifecycle.SubscriptionCount {
		s.mu.Lock()
		s.times = append(s.times, s.now())
		s.mu.Unlock()
	}
}

// On channels of more than 100 subscribers subscription_count is sent
// "at most every 5 s", including right after a deferred send.
func TestSubscriptionCountThrottledOnLargeChannels(t *testing.T) {
	var fake atomic.Int64 // ns since t0
	t0 := time.Unix(1e9, 0)
	sink := &countSink{now: func() time.Duration { return time.Duration(fake.Load()) }}
	lim, _ := ratelimitmemory.New(nil)
	cfg := testConfig(lim)
	cfg.Events, cfg.Now = sink, func() time.Time { return t0.Add(time.Duration(fake.Load())) }
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	app := &appmanager.App{ID: "a", Key: "k", Secret: "s", Enabled: true}
	state := h.app(app.ID)
	kind := protocol.Classify("big")
	sub := func() {
		h.subscribe(&Conn{hub: h, app: app, state: state, closed: true, id: strconv.Itoa(int(fake.Load()))}, "big", kind, nil)
	}
	for i := 0; i < 101; i++ {
		sub() // the 101st is sent at once (t=0) and starts the window
	}
	fake.Store(int64(4900 * time.Millisecond))
	sub()                                      // 4.9 s into the window: deferred by 100 ms
	fake.Store(int64(5000 * time.Millisecond)) // when the deferred send runs
	time.Sleep(300 * time.Millisecond)
	fake.Store(int64(5050 * time.Millisecond))
	sub() // 50 ms after the deferred send: deferred again, not sent at once
	sink.mu.Lock()
	defer sink.mu.Unlock()
	// Counts 1 to 101 are sent at once (small channels are not throttled,
	// and 101 opens the window); the deferred one at 5 s; the last change
	// must wait for 10 s.
	got := sink.times
	if n := len(got); n != 102 || got[n-2] != 0 || got[n-1] != 5*time.Second {
		t.Fatalf("%d sends, the last at %v; want 102 ending [0s 5s]", n, got[max(0, n-3):])
	}
}

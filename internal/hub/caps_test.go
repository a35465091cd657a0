package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/appmanager/memory"
	"github.com/sockudo-go/sockudo/internal/auth"
	"github.com/sockudo-go/sockudo/internal/lifecycle"
	"github.com/sockudo-go/sockudo/internal/protocol"
	"github.com/sockudo-go/sockudo/internal/testenv"
	"github.com/sockudo-go/sockudo/internal/wstest"
	ratelimitmemory "github.com/sockudo-go/sockudo/ratelimit/memory"
)

// The attacks here drive a real Hub over loopback, so the counters the
// registry keeps (snapshots encoded, maps rebuilt) can prove the bounds.

var capsApp = appmanager.App{ID: "caps", Key: "caps-key", Secret: "caps-secret", Enabled: true, EnableClientMessages: true}

type hubServer struct {
	h  *Hub
	ws string
}

// startHub serves capsApp from a Hub configured by testConfig and mutate.
func startHub(t *testing.T, mutate func(*Config)) *hubServer {
	t.Helper()
	lim, err := ratelimitmemory.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(lim)
	if mutate != nil {
		mutate(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	apps, err := memory.New(capsApp)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeWS(w, r, strings.TrimPrefix(r.URL.Path, "/app/"), ConnectOptions{Apps: apps})
	}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = h.Shutdown(ctx)
		hs.Close()
	})
	return &hubServer{h: h, ws: "ws" + strings.TrimPrefix(hs.URL, "http")}
}

func (s *hubServer) dial(t *testing.T) *wstest.Client {
	t.Helper()
	return wstest.Dial(t, s.ws, capsApp.Key, nil)
}

func (s *hubServer) stats() Stats { return s.h.AppStats(capsApp.ID) }

// presenceSubscribe returns a signed pusher:subscribe frame for c.
func presenceSubscribe(c *wstest.Client, channel, channelData string) string {
	token := auth.Token(capsApp.Key, capsApp.Secret, auth.ChannelString(c.SocketID, channel, channelData))
	return fmt.Sprintf(`{"event":"pusher:subscribe","data":{"channel":%q,"auth":%q,"channel_data":%q}}`, channel, token, channelData)
}

// roundTrip waits until the server has handled everything c sent before.
func roundTrip(t *testing.T, c *wstest.Client) {
	t.Helper()
	c.Send(t, `{"event":"pusher:ping","data":{}}`)
	c.Expect(t, "pusher:pong")
}

// H3: a presence member re-sending the same subscribe gets an ack from the
// cached snapshot: the member list is not rebuilt, nothing is broadcast
// and the channel does not change.
func TestDuplicatePresenceSubscribeRebuildsNothing(t *testing.T) {
	t.Parallel()
	s := startHub(t, func(c *Config) { c.SubscribeRate = 1 << 20 }) // every duplicate is answered
	const ch = "presence-room"
	info := strings.Repeat("x", 1500)
	alice, bob := s.dial(t), s.dial(t)
	aliceData := `{"user_id":"alice","user_info":{"bio":"` + info + `"}}`
	bobData := `{"user_id":"bob","user_info":{"bio":"` + info + `"}}`
	alice.Send(t, presenceSubscribe(alice, ch, aliceData))
	alice.Expect(t, protocol.EventSubscriptionSucceeded)
	bobSub := presenceSubscribe(bob, ch, bobData)
	bob.Send(t, bobSub)
	first := bob.Expect(t, protocol.EventSubscriptionSucceeded)
	alice.Expect(t, protocol.EventMemberAdded)
	if n := s.stats().PresenceSnapshots; n != 2 {
		t.Fatalf("%d snapshots after two joins, want 2", n)
	}

	const dups, batch = 1000, 250 // batches stay within the client's buffer
	for sent := 0; sent < dups; sent += batch {
		for range batch {
			bob.Send(t, bobSub)
		}
		for range batch {
			f := bob.Expect(t, protocol.EventSubscriptionSucceeded)
			if string(f.Data) != string(first.Data) {
				t.Fatalf("duplicate answered with another snapshot: %s", f.Data)
			}
		}
	}
	if n := s.stats().PresenceSnapshots; n != 2 {
		t.Fatalf("%d duplicate subscribes encoded %d snapshots, want none beyond the 2 joins", dups, n-2)
	}
	alice.ExpectNone(t, protocol.EventMemberAdded, 100*time.Millisecond)
	room := s.h.lookupApp(capsApp.ID).channel(ch)
	if room.subscribers() != 2 || room.userCount() != 2 {
		t.Fatalf("channel has %d sockets and %d members, want 2 and 2", room.subscribers(), room.userCount())
	}

	// Re-subscribing as another user does not switch identity (Pusher's
	// "Existing subscription" error) and changes nothing.
	bob.Send(t, presenceSubscribe(bob, ch, `{"user_id":"mallory"}`))
	if code, msg := bob.ExpectError(t); code != 0 || !strings.Contains(msg, "Existing subscription to channel "+ch) {
		t.Fatalf("subscribe as another user: %d %q, want code null, Existing subscription", code, msg)
	}
	if ids := room.userIDs(); len(ids) != 2 || ids[0] != "alice" || ids[1] != "bob" {
		t.Fatalf("members %v, want [alice bob]", ids)
	}
	alice.ExpectNone(t, protocol.EventMemberRemoved, 100*time.Millisecond)
}

// The presence snapshot is encoded once per change of the member list:
// more sockets of members already there reuse it.
func TestPresenceSnapshotEncodedOncePerChange(t *testing.T) {
	t.Parallel()
	s := startHub(t, nil)
	const ch, users, tabs = "presence-tabs", 5, 6
	for u := range users {
		for range tabs {
			c := s.dial(t)
			c.Send(t, presenceSubscribe(c, ch, fmt.Sprintf(`{"user_id":"u%d","user_info":{"n":%d}}`, u, u)))
			c.Expect(t, protocol.EventSubscriptionSucceeded)
		}
	}
	if n := s.stats().PresenceSnapshots; n != users {
		t.Fatalf("%d users with %d sockets each: %d snapshots encoded, want %d (one per member change)", users, tabs, n, users)
	}
	leaver := s.dial(t)
	leaver.Send(t, presenceSubscribe(leaver, ch, `{"user_id":"gone"}`))
	leaver.Expect(t, protocol.EventSubscriptionSucceeded)
	leaver.Close()
	testenv.Eventually(t, wstest.Timeout, "the member to leave", func() bool {
		return s.h.lookupApp(capsApp.ID).channel(ch).userCount() == users
	})
	late := s.dial(t)
	late.Send(t, presenceSubscribe(late, ch, `{"user_id":"u0"}`))
	f := late.Expect(t, protocol.EventSubscriptionSucceeded)
	if strings.Contains(f.DataString(t), "gone") {
		t.Fatalf("snapshot after a member left still lists it: %s", f.Data)
	}
	if n := s.stats().PresenceSnapshots; n != users+2 {
		t.Fatalf("%d snapshots, want %d (one more for the join, one for the leave)", n, users+2)
	}
}

// M1: a socket cannot hold more channels than the cap, and the subscribes
// over the per-socket rate are refused with 4301 (not a close).
func TestSubscribeRateIsPerSocket(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1e9, 0)
	s := startHub(t, func(c *Config) {
		c.MaxChannelsPerSocket, c.SubscribeRate = 50, 5
		c.Now = func() time.Time { return t0 } // no refill: exactly the burst passes
	})
	c := s.dial(t)
	// 50 subscribes and 50 unsubscribes use the burst; the cap is not hit.
	for i := range 50 {
		c.Send(t, fmt.Sprintf(`{"event":"pusher:subscribe","data":{"channel":"a-%d"}}`, i))
	}
	for i := range 50 {
		c.Send(t, fmt.Sprintf(`{"event":"pusher:unsubscribe","data":{"channel":"a-%d"}}`, i))
	}
	for range 50 {
		c.Expect(t, protocol.EventSubscriptionSucceeded)
	}
	c.Send(t, `{"event":"pusher:subscribe","data":{"channel":"b"}}`)
	if code, _ := c.ExpectError(t); code != protocol.CodeClientEventRate {
		t.Fatalf("subscribe over the rate: code %d, want 4301", code)
	}
	if f := c.Expect(t, "pusher:subscription_error"); f.Channel != "b" {
		t.Fatalf("subscription_error for %q, want b", f.Channel)
	}
	// Another socket has its own budget.
	d := s.dial(t)
	d.Send(t, `{"event":"pusher:subscribe","data":{"channel":"b"}}`)
	d.Expect(t, protocol.EventSubscriptionSucceeded)
	roundTrip(t, c) // still open
}

// eventCounter counts lifecycle events by name.
type eventCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (e *eventCounter) Wants(*appmanager.App, string, string) bool { return true }

func (e *eventCounter) Emit(_ *appmanager.App, ev lifecycle.Event) {
	e.mu.Lock()
	e.n[ev.Name]++
	e.mu.Unlock()
}

func (e *eventCounter) count(name string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n[name]
}

// M1: one socket asking for 2,000 channels gets the cap (4100 beyond it),
// so its disconnect reports at most cap channel_vacated events, not one
// per channel it asked for.
func TestChannelCapBoundsDisconnectFanOut(t *testing.T) {
	t.Parallel()
	events := &eventCounter{n: map[string]int{}}
	const capN, asked = 200, 2000
	s := startHub(t, func(c *Config) {
		c.MaxChannelsPerSocket, c.SubscribeRate, c.Events = capN, 1<<20, events
	})
	c := s.dial(t)
	ok, refused := 0, 0
	for sent := 0; sent < asked; sent += 250 {
		for i := sent; i < sent+250; i++ {
			c.Send(t, fmt.Sprintf(`{"event":"pusher:subscribe","data":{"channel":"c-%d"}}`, i))
		}
		// Each refusal is a pusher:error and a subscription_error.
		for got := 0; got < 250; {
			f := c.Next(t)
			switch f.Event {
			case protocol.EventSubscriptionSucceeded:
				ok++
				got++
			case "pusher:subscription_error":
				refused++
				got++
			case "pusher:error":
				var d struct{ Code int }
				if err := json.Unmarshal(f.Data, &d); err != nil {
					t.Fatal(err)
				}
				if d.Code != protocol.CodeOverCapacity {
					t.Fatalf("refusal code %d, want 4100", d.Code)
				}
			}
		}
	}
	if ok != capN || refused != asked-capN {
		t.Fatalf("%d subscribes accepted and %d refused, want %d and %d", ok, refused, capN, asked-capN)
	}
	if n := s.stats().Channels; n != capN {
		t.Fatalf("%d channels occupied, want %d", n, capN)
	}
	roundTrip(t, c)
	c.Close()
	testenv.Eventually(t, wstest.Timeout, "the disconnect's vacated events", func() bool {
		return events.count(lifecycle.ChannelVacated) == capN
	})
	if n := events.count(lifecycle.ChannelOccupied); n != capN {
		t.Fatalf("%d channel_occupied events, want %d", n, capN)
	}
}

// M1: after a spike of 100,000 channels (40,000 under -race) on one
// socket goes away, the shard maps are rebuilt small instead of keeping
// their peak capacity.
func TestShardMapsShrinkAfterSpike(t *testing.T) {
	t.Parallel()
	const n = spikeChannels
	s := startHub(t, func(c *Config) { c.MaxChannelsPerSocket, c.SubscribeRate = n, n })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// A raw client: 100,000 acks are read without decoding them.
	ws, _, err := websocket.Dial(ctx, s.ws+"/app/"+capsApp.Key+"?protocol=7", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	if _, _, err := ws.Read(ctx); err != nil { // connection_established
		t.Fatal(err)
	}
	write := func(s string) {
		if err := ws.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	const batch = 500
	for sent := 0; sent < n; sent += batch {
		for i := sent; i < sent+batch; i++ {
			write(`{"event":"pusher:subscribe","data":{"channel":"spike-` + fmt.Sprint(i) + `"}}`)
		}
		for range batch {
			if _, _, err := ws.Read(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := s.stats().Channels; got != n {
		t.Fatalf("%d channels after the spike, want %d", got, n)
	}
	before := s.stats().MapRebuilds
	for i := range n {
		write(`{"event":"pusher:unsubscribe","data":{"channel":"spike-` + fmt.Sprint(i) + `"}}`)
	}
	write(`{"event":"pusher:ping","data":{}}`)
	if _, b, err := ws.Read(ctx); err != nil || !strings.Contains(string(b), "pusher:pong") {
		t.Fatalf("after the unsubscribes: %s, %v; want pusher:pong", b, err)
	}
	st := s.stats()
	if st.Channels != 0 {
		t.Fatalf("%d channels left", st.Channels)
	}
	if got := st.MapRebuilds - before; got < shardCount {
		t.Fatalf("%d shard maps rebuilt after the spike, want at least one per shard (%d)", got, shardCount)
	}
	a := s.h.lookupApp(capsApp.ID)
	for i := range a.shards {
		sh := &a.shards[i]
		sh.mu.RLock()
		peak := sh.peak
		sh.mu.RUnlock()
		if peak >= shrinkMinPeak {
			t.Fatalf("shard %d still sized for %d channels", i, peak)
		}
	}
}

// shrink copies a map that fell to a quarter of a large peak, and only
// then, so the copies stay O(1) per deletion.
func TestShrinkRebuildsOnlyFarBelowPeak(t *testing.T) {
	t.Parallel()
	m, peak := map[int]bool{}, 0
	for i := range 4 * shrinkMinPeak {
		m[i] = true
		peak = max(peak, len(m))
	}
	rebuilds := 0
	for i := range 4 * shrinkMinPeak {
		delete(m, i)
		var ok bool
		if m, ok = shrink(m, &peak); ok {
			rebuilds++
			if len(m) != 4*shrinkMinPeak-i-1 {
				t.Fatalf("rebuild lost entries: %d left", len(m))
			}
		}
	}
	// Peak 4096: rebuilt at 1024; peak 1024: rebuilt at 256; peak 256 is
	// below shrinkMinPeak, so no more.
	if rebuilds != 2 || peak != shrinkMinPeak/shrinkRatio {
		t.Fatalf("%d rebuilds, peak %d; want 2, the last at %d", rebuilds, peak, shrinkMinPeak/shrinkRatio)
	}
	small, p := map[int]bool{1: true}, 10
	if _, ok := shrink(small, &p); ok {
		t.Fatal("a map that never grew past shrinkMinPeak was rebuilt")
	}
}

package sockudo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/internal/auth"
	"github.com/sockudo-go/sockudo/internal/wstest"
)

// Caps against a hostile client, played over loopback against the real
// server with its defaults unless a test says otherwise.

// errorCode returns the code of a pusher:error frame (0 for null).
func errorCode(t *testing.T, f wstest.Frame) int {
	t.Helper()
	var d struct{ Code int }
	if err := json.Unmarshal(f.Data, &d); err != nil {
		t.Fatalf("pusher:error data %s: %v", f.Data, err)
	}
	return d.Code
}

// M1: one unauthenticated socket asking for 5,000 channels gets the
// default cap of 200; the rest are refused with 4100 and the socket stays
// open.
func TestChannelsPerConnectionCapped(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithApps(testApp()),
		sockudo.WithInboundFrameRate(100_000, 100_000)) // this test is about the cap, not the frame budget
	c := s.dial(t, testKey)
	const asked, capN, batch = 5000, 200, 250
	ok, refused := 0, 0
	for sent := 0; sent < asked; sent += batch {
		for i := sent; i < sent+batch; i++ {
			c.Send(t, fmt.Sprintf(`{"event":"pusher:subscribe","data":{"channel":"flood-%d"}}`, i))
		}
		for got := 0; got < batch; {
			switch f := c.Next(t); f.Event {
			case "pusher_internal:subscription_succeeded":
				ok++
				got++
			case "pusher:subscription_error":
				refused++
				got++
			case "pusher:error":
				if code := errorCode(t, f); code != 4100 {
					t.Fatalf("refusal with code %d, want 4100", code)
				}
			}
		}
	}
	if ok != capN || refused != asked-capN {
		t.Fatalf("%d subscribes accepted, %d refused; want %d and %d", ok, refused, capN, asked-capN)
	}
	if n := s.Stats().Apps[testID].Channels; n != capN {
		t.Fatalf("%d channels occupied by one socket, want %d", n, capN)
	}
	c.Send(t, `{"event":"pusher:ping","data":{}}`)
	c.Expect(t, "pusher:pong")
}

// subscribeBurst sends n subscribes to fresh public channels at once and
// counts the answers: succeeded, and refused with the given error code.
func subscribeBurst(t *testing.T, c *wstest.Client, n int) (ok int, refused map[int]int) {
	t.Helper()
	refused = map[int]int{}
	for i := range n {
		c.Send(t, fmt.Sprintf(`{"event":"pusher:subscribe","data":{"channel":"burst-%d"}}`, i))
	}
	for got := 0; got < n; {
		switch f := c.Next(t); f.Event {
		case "pusher_internal:subscription_succeeded":
			ok++
			got++
		case "pusher:error":
			refused[errorCode(t, f)]++
		case "pusher:subscription_error":
			got++
		}
	}
	return ok, refused
}

// An app's own max_channels_per_connection and max_subscriptions_per_second
// win over the server's caps, in both directions.
func TestSocketCapsPerApp(t *testing.T) {
	t.Parallel()
	t.Run("channels", func(t *testing.T) {
		t.Parallel()
		app := testApp()
		app.MaxChannelsPerConnection = 3
		c := newTestServer(t, sockudo.WithApps(app)).dial(t, testKey)
		if ok, refused := subscribeBurst(t, c, 10); ok != 3 || refused[4100] != 7 {
			t.Fatalf("app cap 3: %d accepted, refusals %v; want 3 and 7 with 4100", ok, refused)
		}
	})
	t.Run("subscribe rate", func(t *testing.T) {
		t.Parallel()
		app := testApp()
		app.MaxChannelsPerConnection, app.MaxSubscriptionsPerSecond = 5, 1 // the burst is the channel cap
		c := newTestServer(t, sockudo.WithApps(app)).dial(t, testKey)
		if ok, refused := subscribeBurst(t, c, 5); ok != 5 {
			t.Fatalf("first burst: %d accepted, refusals %v; want 5", ok, refused)
		}
		for i := range 5 {
			c.Send(t, fmt.Sprintf(`{"event":"pusher:unsubscribe","data":{"channel":"burst-%d"}}`, i))
		}
		// The burst is spent: at 1/s at most one more gets through.
		if ok, refused := subscribeBurst(t, c, 5); ok > 1 || refused[4301] < 4 {
			t.Fatalf("app rate 1/s: %d accepted, refusals %v; want at most 1 and the rest 4301", ok, refused)
		}
	})
	t.Run("above the server cap", func(t *testing.T) {
		t.Parallel()
		app := testApp()
		app.MaxChannelsPerConnection = 30
		c := newTestServer(t, sockudo.WithApps(app), sockudo.WithMaxChannelsPerConnection(10)).dial(t, testKey)
		if ok, _ := subscribeBurst(t, c, 30); ok != 30 {
			t.Fatalf("app cap 30 over a server cap of 10: %d accepted", ok)
		}
	})
}

// clientEventBurst has alice send n client events on a private channel
// bob is in, and returns how many bob received and how many alice had
// refused with 4301.
func clientEventBurst(t *testing.T, s *testServer, n int) (relayed, refused int) {
	t.Helper()
	alice, bob := s.dial(t, testKey), s.dial(t, testKey)
	alice.SubscribeOK(t, testKey, testSecret, "private-chat", "")
	bob.SubscribeOK(t, testKey, testSecret, "private-chat", "")
	for i := range n {
		alice.Send(t, fmt.Sprintf(`{"event":"client-typing","channel":"private-chat","data":"%d"}`, i))
	}
	alice.Send(t, `{"event":"pusher:ping","data":{}}`)
	for f := alice.Next(t); f.Event != "pusher:pong"; f = alice.Next(t) {
		if f.Event == "pusher:error" {
			if code := errorCode(t, f); code != 4301 {
				t.Fatalf("client event refused with %d, want 4301", code)
			}
			refused++
		}
	}
	// Relaying happens before alice's pong is queued, so bob's pong comes
	// after every relayed event.
	bob.Send(t, `{"event":"pusher:ping","data":{}}`)
	for f := bob.Next(t); f.Event != "pusher:pong"; f = bob.Next(t) {
		if f.Event == "client-typing" {
			relayed++
		}
	}
	return relayed, refused
}

// M2: an app that sets no max_client_events_per_second gets Pusher's 10
// per second per connection: of a burst of 100, about the burst of 10 is
// relayed and the rest is refused with 4301, the socket kept.
func TestClientEventsLimitedByDefault(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithApps(testApp())) // it sets no max_client_events_per_second
	relayed, refused := clientEventBurst(t, s, 100)
	if relayed < 10 || relayed > 12 || relayed+refused != 100 {
		t.Fatalf("burst of 100: %d relayed, %d refused; want about 10 relayed and the rest refused", relayed, refused)
	}
}

// The app's own value wins over the server default, and the server
// default can be lifted.
func TestClientEventRateSettings(t *testing.T) {
	t.Parallel()
	t.Run("app value", func(t *testing.T) {
		t.Parallel()
		app := testApp()
		app.MaxClientEventsPerSecond = 50
		if relayed, _ := clientEventBurst(t, newTestServer(t, sockudo.WithApps(app)), 100); relayed < 50 || relayed > 55 {
			t.Fatalf("app limit 50: %d of 100 relayed", relayed)
		}
	})
	t.Run("unlimited server default", func(t *testing.T) {
		t.Parallel()
		if relayed, refused := clientEventBurst(t, newTestServer(t, sockudo.WithApps(testApp()), sockudo.WithClientEventRate(0)), 100); relayed != 100 || refused != 0 {
			t.Fatalf("WithClientEventRate(0): %d relayed, %d refused; want all 100 relayed", relayed, refused)
		}
	})
}

// getChannels sends a signed GET /apps/{id}/channels with the query q.
func getChannels(t *testing.T, s *testServer, q url.Values) (int, string) {
	t.Helper()
	path := "/apps/" + testID + "/channels"
	q.Set("auth_key", testKey)
	q.Set("auth_timestamp", strconv.FormatInt(time.Now().Unix(), 10))
	q.Set("auth_version", "1.0")
	q.Set("auth_signature", auth.Sign(testSecret, auth.RequestString(http.MethodGet, path, q)))
	res, err := http.Get(s.http.URL + path + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

// M1: a listing of more channels than the bound is refused with a small
// 400 limit_exceeded instead of an answer as large as clients make it; a
// narrower prefix is answered.
func TestChannelListingBounded(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithApps(testApp()), sockudo.WithMaxChannelsListed(100))
	c := s.dial(t, testKey)
	for i := range 150 {
		c.Send(t, fmt.Sprintf(`{"event":"pusher:subscribe","data":{"channel":"pub-%d"}}`, i))
	}
	for _, name := range []string{"room-a", "room-b"} {
		c.Send(t, `{"event":"pusher:subscribe","data":{"channel":"`+name+`"}}`)
	}
	for range 152 {
		c.Expect(t, "pusher_internal:subscription_succeeded")
	}
	status, body := getChannels(t, s, url.Values{})
	if status != http.StatusBadRequest || !strings.Contains(body, "limit_exceeded") || len(body) > 512 {
		t.Fatalf("GET /channels over the bound: %d, %d bytes: %.200s; want a short 400 limit_exceeded", status, len(body), body)
	}
	status, body = getChannels(t, s, url.Values{"filter_by_prefix": {"room-"}})
	if status != http.StatusOK || body != `{"channels":{"room-a":{},"room-b":{}}}` {
		t.Fatalf("GET /channels?filter_by_prefix=room-: %d %s", status, body)
	}
	if _, err := s.Channels(context.Background(), testID, ""); err == nil {
		t.Fatal("Server.Channels over the bound succeeded")
	}
}

// The library's default user_info bound is 2 KB (the standalone server's
// default app says the same).
func TestPresenceUserInfoDefaultBound(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithApps(testApp()))
	c := s.dial(t, testKey)
	fits := fmt.Sprintf(`{"user_id":"1","user_info":{"x":%q}}`, strings.Repeat("a", 2000))
	c.SubscribeOK(t, testKey, testSecret, "presence-fits", fits)
	big := fmt.Sprintf(`{"user_id":"2","user_info":{"x":%q}}`, strings.Repeat("a", 2100))
	c.Subscribe(t, "presence-big", auth.Token(testKey, testSecret, auth.ChannelString(c.SocketID, "presence-big", big)), big)
	if f := c.Expect(t, "pusher:subscription_error"); f.Channel != "presence-big" {
		t.Fatalf("subscription_error for %q", f.Channel)
	}
}

// H3: a presence member re-sending the same subscribe 1,000 times changes
// nothing: the others see no member event, the member list stands, and
// only the subscribe burst is acknowledged; the rest is refused with 4301
// on a socket that stays open.
func TestDuplicatePresenceSubscribeFlood(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithApps(testApp()),
		sockudo.WithInboundFrameRate(100_000, 100_000), sockudo.WithInboundByteRate(64<<20)) // about the subscribe rate, not the inbound budget
	const ch = "presence-flood"
	alice, bob := s.dial(t, testKey), s.dial(t, testKey)
	info := strings.Repeat("x", 1500)
	alice.SubscribeOK(t, testKey, testSecret, ch, `{"user_id":"alice","user_info":{"bio":"`+info+`"}}`)
	bobData := `{"user_id":"bob","user_info":{"bio":"` + info + `"}}`
	bob.SubscribeOK(t, testKey, testSecret, ch, bobData)
	alice.Expect(t, "pusher_internal:member_added")
	token := auth.Token(testKey, testSecret, auth.ChannelString(bob.SocketID, ch, bobData))
	acks, limited := 0, 0
	const dups, batch = 1000, 250
	for sent := 0; sent < dups; sent += batch {
		for range batch {
			bob.Subscribe(t, ch, token, bobData)
		}
		for got := 0; got < batch; got++ {
			switch f := bob.Next(t); f.Event {
			case "pusher_internal:subscription_succeeded":
				acks++
			case "pusher:error":
				if code := errorCode(t, f); code != 4301 {
					t.Fatalf("duplicate refused with %d, want 4301", code)
				}
				limited++
			default:
				t.Fatalf("unexpected answer to a duplicate: %s", f.Raw)
			}
		}
	}
	// The burst is the channel cap (200), less bob's first subscribe, plus
	// what the 20/s refill adds while the test runs.
	if acks > 260 || acks+limited != dups {
		t.Fatalf("%d duplicates: %d acknowledged, %d refused; want at most about the burst acknowledged", dups, acks, limited)
	}
	alice.ExpectNone(t, "pusher_internal:member_added", 100*time.Millisecond)
	users, err := s.ChannelUsers(context.Background(), testID, ch)
	if err != nil || len(users) != 2 {
		t.Fatalf("members after the flood: %v, %v; want alice and bob", users, err)
	}
	bob.Send(t, `{"event":"pusher:ping","data":{}}`)
	bob.Expect(t, "pusher:pong")
}

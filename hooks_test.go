package sockudo_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/internal/auth"
	"github.com/sockudo-go/sockudo/internal/testenv"
	"github.com/sockudo-go/sockudo/internal/wstest"
	"github.com/sockudo-go/sockudo/ratelimit"
	ratelimitmemory "github.com/sockudo-go/sockudo/ratelimit/memory"
)

func TestHookConnectRefusesWithItsCode(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []sockudo.Socket
	s := newTestServer(t, sockudo.WithApps(testApp()), sockudo.WithHooks(sockudo.Hooks{
		OnConnect: func(_ context.Context, r *http.Request, sock sockudo.Socket) (any, error) {
			mu.Lock()
			seen = append(seen, sock)
			mu.Unlock()
			switch r.URL.Query().Get("who") {
			case "banned":
				return nil, &sockudo.ProtocolError{Code: 4050, Message: "You are banned"}
			case "broken":
				return nil, errors.New("the host's own failure, not for clients")
			}
			return nil, nil
		},
	}))
	banned := wstest.Dial(t, s.ws, testKey, &wstest.Options{Query: "?protocol=7&who=banned", NoHandshake: true})
	if code, msg := banned.ExpectError(t); code != 4050 || msg != "You are banned" {
		t.Errorf("pusher:error %d %q, want 4050 You are banned", code, msg)
	}
	if code := banned.ExpectClose(t); code != 4050 {
		t.Errorf("close code %d, want 4050", code)
	}

	broken := wstest.Dial(t, s.ws, testKey, &wstest.Options{Query: "?protocol=7&who=broken", NoHandshake: true})
	if code, msg := broken.ExpectError(t); code != 4009 || strings.Contains(msg, "host's own") {
		t.Errorf("pusher:error %d %q, want 4009 without the host's error text", code, msg)
	}
	if code := broken.ExpectClose(t); code != 4009 {
		t.Errorf("close code %d, want 4009", code)
	}

	ok := s.dial(t, testKey)
	ok.SubscribeOK(t, testKey, testSecret, "news", "")
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 3 || seen[2].ID != ok.SocketID || seen[2].AppID != testID {
		t.Errorf("OnConnect saw %+v; the last one should be socket %s of %s", seen, ok.SocketID, testID)
	}
	// Refused sockets never counted as connections.
	if n := s.Stats().Connections; n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

// connInfo is host data attached by OnConnect.
type connInfo struct{ tenant string }

func TestHookSubscribeVetoIsASubscriptionError(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var subs []string
	s := newTestServer(t, sockudo.WithApps(testApp()), sockudo.WithHooks(sockudo.Hooks{
		OnConnect: func(_ context.Context, r *http.Request, _ sockudo.Socket) (any, error) {
			return &connInfo{tenant: r.URL.Query().Get("tenant")}, nil
		},
		OnSubscribe: func(_ context.Context, sock sockudo.Socket, sub sockudo.Subscription) error {
			info := sock.Data.(*connInfo)
			mu.Lock()
			subs = append(subs, sock.ID+" "+info.tenant+" "+sub.Channel+" "+sub.UserID+" "+string(sub.UserInfo))
			mu.Unlock()
			switch {
			case strings.Contains(sub.Channel, "forbidden"):
				return errors.New("not for you")
			case !strings.HasSuffix(sub.Channel, "-"+info.tenant):
				return &sockudo.ProtocolError{Code: 4010, Message: "Other tenant"}
			}
			return nil
		},
	}))
	c := wstest.Dial(t, s.ws, testKey, &wstest.Options{Query: "?protocol=7&tenant=acme"})

	// The signature is checked before the hook: a bad one never reaches it.
	c.Subscribe(t, "private-forbidden-acme", "app-key:bad", "")
	if code, _ := c.ExpectError(t); code != 4009 {
		t.Fatalf("bad signature: code %d, want 4009", code)
	}
	c.Expect(t, "pusher:subscription_error")
	c.SubscribeOK(t, testKey, testSecret, "private-ok-acme", "")

	for _, tc := range []struct {
		channel string
		code    int
		message string
	}{
		{"private-forbidden-acme", 4009, "Subscription refused"},
		{"private-x-other", 4010, "Other tenant"},
	} {
		c.Subscribe(t, tc.channel, auth.Token(testKey, testSecret, auth.ChannelString(c.SocketID, tc.channel, "")), "")
		if code, msg := c.ExpectError(t); code != tc.code || msg != tc.message {
			t.Errorf("%s: pusher:error %d %q, want %d %q", tc.channel, code, msg, tc.code, tc.message)
		}
		f := c.Expect(t, "pusher:subscription_error")
		var d struct {
			Type   string `json:"type"`
			Error  string `json:"error"`
			Status int    `json:"status"`
		}
		if err := json.Unmarshal(f.Data, &d); err != nil || f.Channel != tc.channel || d.Status != 403 || d.Error != tc.message {
			t.Errorf("%s: subscription_error %s, want channel %s, status 403, error %q", tc.channel, f.Raw, tc.channel, tc.message)
		}
	}
	// Vetoed subscriptions did not take effect, and the socket still works.
	c.SubscribeOK(t, testKey, testSecret, "presence-room-acme", presenceData("7", "Ann"))
	if err := s.Trigger(context.Background(), testID, sockudo.Event{Name: "x", Channels: []string{"private-x-other", "presence-room-acme"}, Data: "{}"}); err != nil {
		t.Fatal(err)
	}
	if f := c.Expect(t, "x"); f.Channel != "presence-room-acme" {
		t.Errorf("event of a vetoed channel delivered: %s", f.Raw)
	}
	if err := s.Trigger(context.Background(), testID, sockudo.Event{Name: "x", Channels: []string{"private-x-other"}, Data: "{}"}); err != nil {
		t.Fatal(err)
	}
	c.ExpectNone(t, "x", 100*time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	want := []string{
		c.SocketID + " acme private-ok-acme  ",
		c.SocketID + " acme private-forbidden-acme  ",
		c.SocketID + " acme private-x-other  ",
		c.SocketID + ` acme presence-room-acme 7 {"name":"Ann"}`,
	}
	if !slices.Equal(subs, want) {
		t.Errorf("OnSubscribe saw\n%q\nwant\n%q", subs, want)
	}
}

func TestHookClientEventDrop(t *testing.T) {
	t.Parallel()
	r := newHookReceiver(t)
	s := newTestServer(t, sockudo.WithApps(hookApp(r.srv.URL, "client_event")), sockudo.WithHooks(sockudo.Hooks{
		OnClientEvent: func(_ context.Context, sock sockudo.Socket, ev sockudo.ClientEvent) error {
			switch ev.Name {
			case "client-shadow":
				return errors.New("dropped without a word")
			case "client-loud":
				return &sockudo.ProtocolError{Code: 4302, Message: "Not allowed: " + ev.Data + " by " + sock.ID}
			}
			return nil
		},
	}))
	a, b := s.dial(t, testKey), s.dial(t, testKey)
	a.SubscribeOK(t, testKey, testSecret, "private-chat", "")
	b.SubscribeOK(t, testKey, testSecret, "private-chat", "")
	a.Send(t, `{"event":"client-shadow","channel":"private-chat","data":{"n":1}}`)
	a.Send(t, `{"event":"client-loud","channel":"private-chat","data":{"n":2}}`)
	if code, msg := a.ExpectError(t); code != 4302 || msg != `Not allowed: {"n":2} by `+a.SocketID {
		t.Errorf("pusher:error %d %q", code, msg)
	}
	a.Send(t, `{"event":"client-fine","channel":"private-chat","data":{"n":3}}`)
	// Frames of one socket arrive in order: the dropped events would have
	// come before this one.
	if f := b.Next(t); f.Event != "client-fine" {
		t.Fatalf("first frame at b is %s, want client-fine", f.Raw)
	}
	r.waitFor("client_event:private-chat")
}

// A counting limiter shows that client events no longer reach the
// shared limiter: their per-socket limit is local.
type countingLimiter struct {
	ratelimit.Limiter
	mu   sync.Mutex
	keys []string
}

func (l *countingLimiter) Allow(ctx context.Context, key string, lim ratelimit.Limit, cost int) (ratelimit.Result, error) {
	l.mu.Lock()
	l.keys = append(l.keys, key)
	l.mu.Unlock()
	return l.Limiter.Allow(ctx, key, lim, cost)
}

func TestClientEventLimitIsPerSocketAndLocal(t *testing.T) {
	t.Parallel()
	mem, err := ratelimitmemory.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	lim := &countingLimiter{Limiter: mem}
	app := testApp()
	app.MaxClientEventsPerSecond = 2
	s := newTestServer(t, sockudo.WithApps(app), sockudo.WithRateLimiter(lim))
	a, b, c := s.dial(t, testKey), s.dial(t, testKey), s.dial(t, testKey)
	for _, x := range []*wstest.Client{a, b, c} {
		x.SubscribeOK(t, testKey, testSecret, "private-r", "")
	}
	for i := 0; i < 3; i++ {
		a.Send(t, `{"event":"client-a","channel":"private-r","data":{}}`)
		b.Send(t, `{"event":"client-b","channel":"private-r","data":{}}`)
	}
	// Each socket has its own budget of 2: the third of each is refused.
	for _, x := range []*wstest.Client{a, b} {
		if code, _ := x.ExpectError(t); code != 4301 {
			t.Fatalf("code %d, want 4301", code)
		}
	}
	got := map[string]int{}
	for i := 0; i < 4; i++ {
		got[c.Next(t).Event]++
	}
	if got["client-a"] != 2 || got["client-b"] != 2 {
		t.Errorf("delivered %v, want 2 of each", got)
	}
	lim.mu.Lock()
	defer lim.mu.Unlock()
	for _, k := range lim.keys {
		if strings.HasPrefix(k, "socket:") {
			t.Errorf("client events used the shared limiter (key %q)", k)
		}
	}
}

// lifecycleLog records lifecycle hook calls with their arrival time.
type lifecycleLog struct {
	mu     sync.Mutex
	events []string
	at     map[string]time.Time
}

func (l *lifecycleLog) record(_ context.Context, ev sockudo.ChannelEvent) {
	s := ev.Name + ":" + ev.Channel
	if ev.UserID != "" {
		s += ":" + ev.UserID
	}
	if ev.Name == "subscription_count" {
		s += ":" + itoa(ev.SubscriptionCount)
	}
	if ev.AppID != testID {
		s += ":wrong-app:" + ev.AppID
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, s)
	if l.at == nil {
		l.at = map[string]time.Time{}
	}
	l.at[s] = time.Now()
}

func (l *lifecycleLog) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}

func (l *lifecycleLog) waitFor(t *testing.T, ev string) time.Time {
	t.Helper()
	testenv.Eventually(t, wstest.Timeout, "hook "+ev, func() bool { return slices.Contains(l.snapshot(), ev) })
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.at[ev]
}

func lifecycleHooks(l *lifecycleLog) sockudo.Hooks {
	return sockudo.Hooks{
		OnChannelOccupied:   l.record,
		OnChannelVacated:    l.record,
		OnMemberAdded:       l.record,
		OnMemberRemoved:     l.record,
		OnSubscriptionCount: l.record,
	}
}

// Lifecycle hooks fire for an app without webhooks, once per transition,
// with the webhook delay on vacate and member_removed, cancelled when
// the channel or member returns within it.
func TestLifecycleHooksOnceWithTheDelay(t *testing.T) {
	t.Parallel()
	const delay = 300 * time.Millisecond
	l := &lifecycleLog{}
	s := newTestServer(t, sockudo.WithApps(testApp()), sockudo.WithWebhookDelay(delay), sockudo.WithHooks(lifecycleHooks(l)))

	// Two sockets of one user: one occupied, one member_added.
	a, b := s.dial(t, testKey), s.dial(t, testKey)
	a.SubscribeOK(t, testKey, testSecret, "presence-room", presenceData("1", "A"))
	b.SubscribeOK(t, testKey, testSecret, "presence-room", presenceData("1", "A"))
	l.waitFor(t, "member_added:presence-room:1")

	// Leaving and coming back within the delay is no transition.
	a.Close()
	b.Close()
	c := s.dial(t, testKey)
	c.SubscribeOK(t, testKey, testSecret, "presence-room", presenceData("1", "A"))
	// Subscription counts are reported on other channels.
	c.SubscribeOK(t, testKey, testSecret, "news", "")
	l.waitFor(t, "subscription_count:news:1")
	time.Sleep(2 * delay)

	left := time.Now()
	c.Close()
	vacated := l.waitFor(t, "channel_vacated:presence-room")
	removed := l.waitFor(t, "member_removed:presence-room:1")
	l.waitFor(t, "channel_vacated:news")
	if vacated.Sub(left) < delay || removed.Sub(left) < delay {
		t.Errorf("vacated after %s and member_removed after %s, want at least the delay %s", vacated.Sub(left), removed.Sub(left), delay)
	}
	// A marker after the releases: nothing else came before it.
	d := s.dial(t, testKey)
	d.SubscribeOK(t, testKey, testSecret, "marker", "")
	l.waitFor(t, "subscription_count:marker:1")
	got := l.snapshot()
	want := []string{
		"channel_occupied:presence-room", "member_added:presence-room:1",
		"channel_occupied:news", "subscription_count:news:1",
	}
	if !slices.Equal(got[:4], want) {
		t.Errorf("first events %q, want %q", got[:4], want)
	}
	// The two channels' releases may interleave; each comes once.
	rest := slices.Clone(got[4 : len(got)-2])
	slices.Sort(rest)
	wantRest := []string{"channel_vacated:news", "channel_vacated:presence-room", "member_removed:presence-room:1"}
	if !slices.Equal(rest, wantRest) || !slices.Equal(got[len(got)-2:], []string{"channel_occupied:marker", "subscription_count:marker:1"}) {
		t.Errorf("events %q\nwant the first four, then %q in any order, then the marker", got, wantRest)
	}
}

// A slow lifecycle hook does not hold up clients, and Shutdown releases
// held events to the hooks at once.
func TestSlowLifecycleHookDoesNotBlockAndShutdownFlushes(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var mu sync.Mutex
	var got []string
	record := func(_ context.Context, ev sockudo.ChannelEvent) {
		<-release
		mu.Lock()
		got = append(got, ev.Name+":"+ev.Channel)
		mu.Unlock()
	}
	srv, err := sockudo.New(sockudo.WithApps(testApp()), sockudo.WithLogger(slog.New(slog.DiscardHandler)), sockudo.WithWebhookDelay(time.Hour),
		sockudo.WithHooks(sockudo.Hooks{OnChannelOccupied: record, OnChannelVacated: record}))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	base := "ws" + strings.TrimPrefix(hs.URL, "http")
	c := wstest.Dial(t, base, testKey, nil)
	for _, ch := range []string{"a", "b", "c"} {
		c.SubscribeOK(t, testKey, testSecret, ch, "") // each waits for its answer
	}
	c.Send(t, `{"event":"pusher:unsubscribe","data":{"channel":"a"}}`)
	c.Send(t, `{"event":"pusher:ping","data":{}}`)
	c.Expect(t, "pusher:pong")
	close(release)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	// Shutdown waited for the hooks, the held vacates included (the
	// delay is an hour). The vacates of Shutdown's own closes come in
	// either order.
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 6 || !slices.Equal(got[:3], []string{"channel_occupied:a", "channel_occupied:b", "channel_occupied:c"}) {
		t.Fatalf("hooks saw %q", got)
	}
	rest := slices.Sorted(slices.Values(got[3:]))
	if !slices.Equal(rest, []string{"channel_vacated:a", "channel_vacated:b", "channel_vacated:c"}) {
		t.Errorf("hooks saw %q", got)
	}
}

// headerTransport marks every request it sends.
type headerTransport struct{}

func (headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Sent-By", "host-client")
	return http.DefaultTransport.RoundTrip(r)
}

func TestWebhookHTTPClient(t *testing.T) {
	t.Parallel()
	got := make(chan string, 10)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("X-Sent-By")
	}))
	t.Cleanup(recv.Close) // after the server's shutdown has sent its webhooks
	s := newTestServer(t, sockudo.WithApps(hookApp(recv.URL)),
		sockudo.WithWebhookHTTPClient(&http.Client{Transport: headerTransport{}}))
	c := s.dial(t, testKey)
	c.SubscribeOK(t, testKey, testSecret, "news", "")
	select {
	case v := <-got:
		if v != "host-client" {
			t.Errorf("webhook sent without the host's client (X-Sent-By %q)", v)
		}
	case <-time.After(wstest.Timeout):
		t.Fatal("no webhook")
	}
}

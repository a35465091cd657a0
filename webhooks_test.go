package sockudo_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	pusher "github.com/pusher/pusher-http-go/v5"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/internal/testenv"
)

// hookReceiver is a webhook endpoint that verifies every delivery with
// pusher-http-go's validator and records the events.
type hookReceiver struct {
	t      *testing.T
	srv    *httptest.Server
	client pusher.Client

	mu       sync.Mutex
	events   []pusher.WebhookEvent
	bodies   []string
	attempts map[string]int // requests per event channel, whatever the answer
	status   int            // answer; 0 means 200
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{t: t, client: pusher.Client{AppID: testID, Key: testKey, Secret: testSecret}, attempts: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		hook, err := r.client.Webhook(req.Header, body)
		if err != nil || req.Header.Get("Content-Type") != "application/json" {
			t.Errorf("webhook rejected by pusher-http-go: %v (content type %q)", err, req.Header.Get("Content-Type"))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, e := range hook.Events {
			r.attempts[e.Channel]++
		}
		if r.status != 0 {
			w.WriteHeader(r.status)
			return
		}
		r.events = append(r.events, hook.Events...)
		r.bodies = append(r.bodies, string(body))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// attemptsFor returns how many requests carried an event of channel.
func (r *hookReceiver) attemptsFor(channel string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.attempts[channel]
}

func (r *hookReceiver) answer(status int) {
	r.mu.Lock()
	r.status = status
	r.mu.Unlock()
}

// names returns "name:channel[:user]" of the received events, sorted.
func (r *hookReceiver) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		s := e.Name + ":" + e.Channel
		if e.UserID != "" {
			s += ":" + e.UserID
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func (r *hookReceiver) waitFor(want ...string) {
	r.t.Helper()
	sort.Strings(want)
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := r.names()
		if strings.Join(got, " ") == strings.Join(want, " ") {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("webhooks %v, want %v", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func hookApp(url string, events ...string) appmanager.App {
	app := testApp()
	app.Webhooks = []appmanager.Webhook{{URL: url, EventTypes: events}}
	return app
}

func TestWebhooksForChannelTransitions(t *testing.T) {
	t.Parallel()
	r := newHookReceiver(t)
	s := newTestServer(t, sockudo.WithApps(hookApp(r.srv.URL)), sockudo.WithWebhookDelay(100*time.Millisecond))
	a, b := s.dial(t, testKey), s.dial(t, testKey)
	a.SubscribeOK(t, testKey, testSecret, "presence-room", presenceData("1", "A"))
	b.SubscribeOK(t, testKey, testSecret, "presence-room", presenceData("1", "A")) // same user: no second member_added
	r.waitFor("channel_occupied:presence-room", "member_added:presence-room:1")

	a.Close()
	b.Close()
	r.waitFor("channel_occupied:presence-room", "member_added:presence-room:1",
		"channel_vacated:presence-room", "member_removed:presence-room:1")
}

func TestWebhookClientEventAndCacheMiss(t *testing.T) {
	t.Parallel()
	r := newHookReceiver(t)
	s := newTestServer(t, sockudo.WithApps(hookApp(r.srv.URL, "client_event", "cache_miss")))
	a, b := s.dial(t, testKey), s.dial(t, testKey)
	a.SubscribeOK(t, testKey, testSecret, "private-chat", "")
	b.SubscribeOK(t, testKey, testSecret, "private-chat", "")
	a.Send(t, `{"event":"client-hi","channel":"private-chat","data":{"x":1}}`)
	a.SubscribeOK(t, testKey, testSecret, "cache-empty", "")
	b.SubscribeOK(t, testKey, testSecret, "cache-empty", "") // de-duplicated
	r.waitFor("client_event:private-chat", "cache_miss:cache-empty")
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.events {
		if e.Name == "client_event" && (e.Event != "client-hi" || e.Data != `{"x":1}` || e.SocketID != a.SocketID) {
			t.Fatalf("client_event %+v", e)
		}
	}
}

func TestVacateThenReturnWithinDelaySendsNothing(t *testing.T) {
	t.Parallel()
	r := newHookReceiver(t)
	s := newTestServer(t, sockudo.WithApps(hookApp(r.srv.URL)), sockudo.WithWebhookDelay(500*time.Millisecond))
	a := s.dial(t, testKey)
	a.SubscribeOK(t, testKey, testSecret, "presence-room", presenceData("1", "A"))
	r.waitFor("channel_occupied:presence-room", "member_added:presence-room:1")
	// A page reload: leave and come back within the delay.
	a.Close()
	b := s.dial(t, testKey)
	b.SubscribeOK(t, testKey, testSecret, "presence-room", presenceData("1", "A"))
	time.Sleep(time.Second)
	r.waitFor("channel_occupied:presence-room", "member_added:presence-room:1")
}

func TestWebhookRetryAndNoRetry(t *testing.T) {
	t.Parallel()
	r := newHookReceiver(t)
	s := newTestServer(t, sockudo.WithApps(hookApp(r.srv.URL, "channel_occupied")))
	r.answer(http.StatusServiceUnavailable)
	a := s.dial(t, testKey)
	a.SubscribeOK(t, testKey, testSecret, "down", "")
	testenv.Eventually(t, 5*time.Second, "a first delivery answered 503", func() bool { return r.attemptsFor("down") >= 1 })
	r.answer(0) // the receiver is back: the retry gets through
	r.waitFor("channel_occupied:down")
	if n := r.attemptsFor("down"); n < 2 {
		t.Fatalf("channel_occupied:down arrived after %d attempt(s), want a retry after the 503", n)
	}

	r.answer(http.StatusBadRequest)
	a.SubscribeOK(t, testKey, testSecret, "rejected", "")
	testenv.Eventually(t, 5*time.Second, "a delivery answered 400", func() bool { return r.attemptsFor("rejected") >= 1 })
	r.answer(0)
	time.Sleep(1500 * time.Millisecond) // past the first retry's back-off: proving no retry takes waiting
	if n := r.attemptsFor("rejected"); n != 1 {
		t.Fatalf("a webhook answered 400 was sent %d times, want once (4xx is not retried)", n)
	}
	r.waitFor("channel_occupied:down")
}

func TestWebhookBatching(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var bodies []int
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var body struct {
			Events []json.RawMessage `json:"events"`
		}
		_ = json.NewDecoder(req.Body).Decode(&body)
		mu.Lock()
		bodies = append(bodies, len(body.Events))
		mu.Unlock()
	}))
	defer recv.Close()
	s := newTestServer(t, sockudo.WithApps(hookApp(recv.URL, "channel_occupied")), sockudo.WithWebhookBatching(200*time.Millisecond, 100))
	c := s.dial(t, testKey)
	for _, ch := range []string{"a", "b", "c", "d"} {
		c.SubscribeOK(t, testKey, testSecret, ch, "")
	}
	testenv.Eventually(t, 5*time.Second, "a webhook request", func() bool { mu.Lock(); defer mu.Unlock(); return len(bodies) > 0 })
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 1 || bodies[0] != 4 {
		t.Fatalf("requests carried %v events, want one request with 4", bodies)
	}
}

func TestSubscriptionCountWebhookOnlyWhenListed(t *testing.T) {
	t.Parallel()
	all, listed := newHookReceiver(t), newHookReceiver(t)
	app := testApp()
	app.Webhooks = []appmanager.Webhook{{URL: all.srv.URL}, {URL: listed.srv.URL, EventTypes: []string{"subscription_count"}}}
	s := newTestServer(t, sockudo.WithApps(app))
	a, b := s.dial(t, testKey), s.dial(t, testKey)
	a.SubscribeOK(t, testKey, testSecret, "counted", "")
	b.SubscribeOK(t, testKey, testSecret, "counted", "")
	listed.waitFor("subscription_count:counted", "subscription_count:counted")
	all.waitFor("channel_occupied:counted")
	listed.mu.Lock()
	defer listed.mu.Unlock()
	// Deliveries run concurrently, so their order is not fixed; each count
	// must have been reported.
	joined := strings.Join(listed.bodies, "\n")
	for _, want := range []string{`"subscription_count":1`, `"subscription_count":2`} {
		if !strings.Contains(joined, want) {
			t.Fatalf("subscription_count webhooks %s lack %s", joined, want)
		}
	}
}

package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/internal/lifecycle"
	"github.com/sockudo-go/sockudo/internal/testenv"
	"github.com/sockudo-go/sockudo/queue"
)

func TestSignMatchesPusherVector(t *testing.T) {
	body := `{"time_ms":1327078148132,"events":[{"name":"channel_occupied","channel":"test_channel"}]}`
	// Computed with the app secret "7ad3773142a6692b25b8" of Pusher's docs.
	const want = "709fdb84c03664445f7698120b0edf0acc1ab1c8c6e93a0368c61841d6b998aa"
	if got := Sign("7ad3773142a6692b25b8", []byte(body)); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestDeliveryIsSignedAndVerifiedByPusherSDK(t *testing.T) {
	app := testApp("")
	rc := newReceiver(t, app)
	app.Webhooks[0].URL = rc.URL
	app.Webhooks[0].Headers["Content-Type"] = "text/plain" // must not win
	app.Webhooks[0].Headers["X-Pusher-Key"] = "forged"     // must not win
	d := startDispatcher(t, newMemoryQueue(t), Options{LookupApp: lookupFor(app)})

	d.Emit(app, lifecycle.Event{Name: lifecycle.ChannelOccupied, Channel: "presence-room"})
	events := rc.waitEvents(t, 1)
	req := rc.requests()[0]
	if req.err != nil {
		t.Fatalf("pusher-http-go rejected the webhook: %v", req.err)
	}
	if ct := req.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want exactly application/json", ct)
	}
	if v := req.header.Values("X-Pusher-Key"); len(v) != 1 || v[0] != app.Key {
		t.Errorf("X-Pusher-Key = %q, want [%q]", v, app.Key)
	}
	if got := req.header.Get("X-Custom"); got != "yes" {
		t.Errorf("custom header X-Custom = %q, want yes", got)
	}
	if got := req.header.Get("X-Pusher-Signature"); got != Sign(app.Secret, req.body) {
		t.Errorf("X-Pusher-Signature = %q, want the HMAC of the body", got)
	}
	if len(events) != 1 || events[0].Name != lifecycle.ChannelOccupied || events[0].Channel != "presence-room" {
		t.Errorf("events = %+v, want one channel_occupied on presence-room", events)
	}
	if ms := rc.requests()[0].hook.TimeMs; ms <= 0 {
		t.Errorf("time_ms = %d, want a timestamp", ms)
	}
}

func TestEventShapes(t *testing.T) {
	app := testApp("")
	rc := newReceiver(t, app)
	app.Webhooks[0].URL = rc.URL
	app.Webhooks[0].EventTypes = []string{lifecycle.MemberAdded, lifecycle.ClientEvent, lifecycle.CacheMiss, lifecycle.SubscriptionCount}
	d := startDispatcher(t, newMemoryQueue(t), Options{LookupApp: lookupFor(app)})

	d.Emit(app, lifecycle.Event{Name: lifecycle.MemberAdded, Channel: "presence-a", UserID: "u1", SocketID: "1.1"})
	d.Emit(app, lifecycle.Event{Name: lifecycle.ClientEvent, Channel: "presence-a", Event: "client-typing", Data: `{"x":1}`, SocketID: "1.2", UserID: "u2"})
	d.Emit(app, lifecycle.Event{Name: lifecycle.ClientEvent, Channel: "private-b", Event: "client-empty", SocketID: "1.3"})
	d.Emit(app, lifecycle.Event{Name: lifecycle.CacheMiss, Channel: "cache-c"})
	d.Emit(app, lifecycle.Event{Name: lifecycle.SubscriptionCount, Channel: "d", SubscriptionCount: 7})
	rc.waitEvents(t, 5)

	want := []string{
		`{"name":"member_added","channel":"presence-a","user_id":"u1"}`,
		`{"name":"client_event","channel":"presence-a","event":"client-typing","data":"{\"x\":1}","socket_id":"1.2","user_id":"u2"}`,
		`{"name":"client_event","channel":"private-b","event":"client-empty","data":"","socket_id":"1.3"}`,
		`{"name":"cache_miss","channel":"cache-c"}`,
		`{"name":"subscription_count","channel":"d","subscription_count":7}`,
	}
	for i, r := range rc.requests() {
		var body struct {
			Events []json.RawMessage `json:"events"`
		}
		if err := json.Unmarshal(r.body, &body); err != nil || len(body.Events) != 1 {
			t.Fatalf("request %d body %s: %v", i, r.body, err)
		}
		if got := string(body.Events[0]); got != want[i] {
			t.Errorf("event %d = %s\nwant        %s", i, got, want[i])
		}
	}
}

func TestWants(t *testing.T) {
	d := New(newPlainQueue(t), Options{Logger: discard()})
	defer d.Close(context.Background())
	tests := []struct {
		name    string
		w       appmanager.Webhook
		event   string
		channel string
		want    bool
	}{
		{"no filter", appmanager.Webhook{URL: "http://x"}, lifecycle.ChannelOccupied, "a", true},
		{"subscription_count needs listing", appmanager.Webhook{URL: "http://x"}, lifecycle.SubscriptionCount, "a", false},
		{"subscription_count listed", appmanager.Webhook{URL: "http://x", EventTypes: []string{lifecycle.SubscriptionCount}}, lifecycle.SubscriptionCount, "a", true},
		{"lambda only", appmanager.Webhook{LambdaFunction: "f"}, lifecycle.ChannelOccupied, "a", false},
		{"event type listed", appmanager.Webhook{URL: "http://x", EventTypes: []string{lifecycle.MemberAdded, lifecycle.ChannelOccupied}}, lifecycle.ChannelOccupied, "a", true},
		{"event type not listed", appmanager.Webhook{URL: "http://x", EventTypes: []string{lifecycle.MemberAdded}}, lifecycle.ChannelOccupied, "a", false},
		{"prefix", appmanager.Webhook{URL: "http://x", Filter: &appmanager.WebhookFilter{ChannelPrefix: "private-"}}, lifecycle.ClientEvent, "private-a", true},
		{"prefix miss", appmanager.Webhook{URL: "http://x", Filter: &appmanager.WebhookFilter{ChannelPrefix: "private-"}}, lifecycle.ClientEvent, "public-a", false},
		{"suffix", appmanager.Webhook{URL: "http://x", Filter: &appmanager.WebhookFilter{ChannelSuffix: "-orders"}}, lifecycle.ClientEvent, "shop-orders", true},
		{"suffix miss", appmanager.Webhook{URL: "http://x", Filter: &appmanager.WebhookFilter{ChannelSuffix: "-orders"}}, lifecycle.ClientEvent, "shop-users", false},
		{"pattern", appmanager.Webhook{URL: "http://x", Filter: &appmanager.WebhookFilter{ChannelPattern: `^room-\d+$`}}, lifecycle.ChannelVacated, "room-42", true},
		{"pattern miss", appmanager.Webhook{URL: "http://x", Filter: &appmanager.WebhookFilter{ChannelPattern: `^room-\d+$`}}, lifecycle.ChannelVacated, "room-x", false},
		{"invalid pattern", appmanager.Webhook{URL: "http://x", Filter: &appmanager.WebhookFilter{ChannelPattern: `(`}}, lifecycle.ChannelVacated, "(", false},
		{"all filters", appmanager.Webhook{URL: "http://x", EventTypes: []string{lifecycle.ClientEvent}, Filter: &appmanager.WebhookFilter{ChannelPrefix: "private-", ChannelSuffix: "-x", ChannelPattern: "chat"}}, lifecycle.ClientEvent, "private-chat-x", true},
		{"all filters, pattern miss", appmanager.Webhook{URL: "http://x", EventTypes: []string{lifecycle.ClientEvent}, Filter: &appmanager.WebhookFilter{ChannelPrefix: "private-", ChannelSuffix: "-x", ChannelPattern: "chat"}}, lifecycle.ClientEvent, "private-talk-x", false},
	}
	for _, tc := range tests {
		if got := d.wants(&tc.w, tc.event, tc.channel); got != tc.want {
			t.Errorf("%s: wants(%s, %q) = %v, want %v", tc.name, tc.event, tc.channel, got, tc.want)
		}
	}
}

func TestFiltersRouteEventsToTheirTargets(t *testing.T) {
	app := testApp("")
	orders := newReceiver(t, app)
	members := newReceiver(t, app)
	app.Webhooks = []appmanager.Webhook{
		{URL: orders.URL, Filter: &appmanager.WebhookFilter{ChannelPrefix: "private-orders-"}},
		{URL: members.URL, EventTypes: []string{lifecycle.MemberAdded}},
	}
	d := startDispatcher(t, newMemoryQueue(t), Options{LookupApp: lookupFor(app)})
	d.Emit(app, lifecycle.Event{Name: lifecycle.ChannelOccupied, Channel: "private-orders-1"})
	d.Emit(app, lifecycle.Event{Name: lifecycle.ChannelOccupied, Channel: "private-users-1"}) // nobody
	d.Emit(app, lifecycle.Event{Name: lifecycle.MemberAdded, Channel: "presence-x", UserID: "u"})
	d.Emit(app, lifecycle.Event{Name: lifecycle.ClientEvent, Channel: "private-orders-1", Event: "client-x", SocketID: "1.1"})

	o := orders.waitEvents(t, 2)
	m := members.waitEvents(t, 1)
	if len(o) != 2 || o[0].Channel != "private-orders-1" || o[1].Name != lifecycle.ClientEvent {
		t.Errorf("orders receiver got %+v", o)
	}
	if len(m) != 1 || m[0].Name != lifecycle.MemberAdded {
		t.Errorf("members receiver got %+v", m)
	}
	// A final event through the same queue proves nothing else was sent
	// before it (the queue delivers in order, one at a time).
	d.Emit(app, lifecycle.Event{Name: lifecycle.MemberAdded, Channel: "presence-y", UserID: "v"})
	m = members.waitEvents(t, 2)
	if len(m) != 2 || len(orders.events()) != 2 {
		t.Errorf("unexpected extra webhooks: orders %+v, members %+v", orders.events(), m)
	}
}

func TestEmitIsCheapWithoutMatchingWebhooks(t *testing.T) {
	d := New(newPlainQueue(t), Options{Logger: discard()})
	defer d.Close(context.Background())
	app := &appmanager.App{ID: "a", Key: "k", Secret: "s", Webhooks: []appmanager.Webhook{
		{URL: "http://x", EventTypes: []string{lifecycle.MemberAdded}, Filter: &appmanager.WebhookFilter{ChannelPattern: "^presence-"}},
	}}
	ev := lifecycle.Event{Name: lifecycle.ChannelOccupied, Channel: "private-a"}
	if n := testing.AllocsPerRun(100, func() { d.Emit(app, ev) }); n != 0 {
		t.Errorf("Emit of an unwanted event allocates %v times, want 0", n)
	}
	ev = lifecycle.Event{Name: lifecycle.MemberAdded, Channel: "private-a", UserID: "u"}
	if n := testing.AllocsPerRun(100, func() { d.Emit(app, ev) }); n != 0 {
		t.Errorf("Emit of a filtered-out event allocates %v times, want 0", n)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.outbox) != 0 {
		t.Errorf("unwanted events were kept: outbox %d", len(d.outbox))
	}
}

func TestBatchingBySizeAndDuration(t *testing.T) {
	app := testApp("")
	rc := newReceiver(t, app)
	app.Webhooks[0].URL = rc.URL
	clock := newFakeClock()
	d := startDispatcher(t, newMemoryQueue(t), Options{
		LookupApp: lookupFor(app), BatchingEnabled: true, BatchSize: 3, BatchDuration: 50 * time.Millisecond, Clock: clock,
	})

	for _, ch := range []string{"a", "b", "c"} {
		d.Emit(app, lifecycle.Event{Name: lifecycle.ChannelOccupied, Channel: ch})
	}
	rc.waitEvents(t, 3)
	if reqs := rc.requests(); len(reqs) != 1 || len(reqs[0].hook.Events) != 3 {
		t.Fatalf("a full batch arrived as %d requests, want 1 with 3 events", len(reqs))
	}

	d.Emit(app, lifecycle.Event{Name: lifecycle.ChannelOccupied, Channel: "d"})
	d.Emit(app, lifecycle.Event{Name: lifecycle.CacheMiss, Channel: "cache-e"})
	d.mu.Lock()
	held := 0
	if b := d.batches[app.ID]; b != nil {
		held = b.count
	}
	waiting := len(d.outbox)
	d.mu.Unlock()
	if held != 2 || waiting != 0 {
		t.Fatalf("before the batch duration: %d events batched and %d jobs out, want 2 and 0", held, waiting)
	}
	clock.Advance(49 * time.Millisecond)
	if d.batchedEvents(app.ID) != 2 {
		t.Fatal("batch flushed before its duration")
	}
	clock.Advance(time.Millisecond)
	rc.waitEvents(t, 5)
	reqs := rc.requests()
	if len(reqs) != 2 || len(reqs[1].hook.Events) != 2 || reqs[1].hook.Events[1].Name != lifecycle.CacheMiss {
		t.Fatalf("second batch = %+v, want one request with d and cache-e", reqs[1].hook)
	}
}

func TestBatchGoesToEachTargetWithItsOwnEvents(t *testing.T) {
	app := testApp("")
	all := newReceiver(t, app)
	vacated := newReceiver(t, app)
	app.Webhooks = []appmanager.Webhook{{URL: all.URL}, {URL: vacated.URL, EventTypes: []string{lifecycle.CacheMiss}}}
	d := startDispatcher(t, newMemoryQueue(t), Options{LookupApp: lookupFor(app), BatchingEnabled: true, BatchSize: 3})
	d.Emit(app, lifecycle.Event{Name: lifecycle.ChannelOccupied, Channel: "a"})
	d.Emit(app, lifecycle.Event{Name: lifecycle.CacheMiss, Channel: "cache-b"})
	d.Emit(app, lifecycle.Event{Name: lifecycle.ChannelOccupied, Channel: "c"})
	if ev := all.waitEvents(t, 3); len(all.requests()) != 1 || len(ev) != 3 {
		t.Errorf("first target got %d requests with %+v, want one with 3 events", len(all.requests()), ev)
	}
	if ev := vacated.waitEvents(t, 1); len(vacated.requests()) != 1 || ev[0].Channel != "cache-b" {
		t.Errorf("second target got %+v, want only cache-b", ev)
	}
}

func (d *Dispatcher) batchedEvents(appID string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if b := d.batches[appID]; b != nil {
		return b.count
	}
	return 0
}

// The Stream in front of the Dispatcher asks the Dispatcher's filter:
// a receiver of only channel_occupied does not see it twice when the
// channel comes back within the delay.
func TestOccupiedReceiverDoesNotSeeARepeatAfterAQuickVacate(t *testing.T) {
	app := testApp("")
	rc := newReceiver(t, app)
	app.Webhooks[0].URL = rc.URL
	app.Webhooks[0].EventTypes = []string{lifecycle.ChannelOccupied, lifecycle.CacheMiss}
	d := startDispatcher(t, newMemoryQueue(t), Options{LookupApp: lookupFor(app)})
	s := lifecycle.NewStream(time.Hour, d)
	s.Emit(app, lifecycle.Event{Name: lifecycle.ChannelOccupied, Channel: "c"})
	s.Emit(app, lifecycle.Event{Name: lifecycle.ChannelVacated, Channel: "c"})
	s.Emit(app, lifecycle.Event{Name: lifecycle.ChannelOccupied, Channel: "c"})
	s.Emit(app, lifecycle.Event{Name: lifecycle.CacheMiss, Channel: "cache-marker"})
	got := rc.waitEvents(t, 2)
	if len(got) != 2 || got[0].Name != lifecycle.ChannelOccupied || got[1].Name != lifecycle.CacheMiss {
		t.Errorf("got %+v, want one channel_occupied then the marker", got)
	}
	if s.Held() != 0 {
		t.Errorf("%d events held, want none: the return cancelled the vacate", s.Held())
	}
}

// Closing the Stream, then the Dispatcher, delivers what was held and
// what was batched.
func TestCloseFlushesHeldAndBatchedEvents(t *testing.T) {
	app := testApp("")
	rc := newReceiver(t, app)
	app.Webhooks[0].URL = rc.URL
	d := startDispatcher(t, newMemoryQueue(t), Options{
		LookupApp: lookupFor(app), Clock: newFakeClock(), BatchingEnabled: true, BatchDuration: time.Hour,
	})
	s := lifecycle.NewStream(time.Hour, d)
	s.Emit(app, lifecycle.Event{Name: lifecycle.ChannelVacated, Channel: "v"})
	s.Emit(app, lifecycle.Event{Name: lifecycle.ChannelOccupied, Channel: "o"})
	s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	got := rc.waitEvents(t, 2)
	seen := map[string]bool{}
	for _, e := range got {
		seen[e.Name+":"+e.Channel] = true
	}
	if !seen["channel_vacated:v"] || !seen["channel_occupied:o"] {
		t.Errorf("after Close got %+v, want the held vacated and the batched occupied", got)
	}
	d.Emit(app, lifecycle.Event{Name: lifecycle.ChannelOccupied, Channel: "late"})
	if d.batchedEvents(app.ID) != 0 {
		t.Error("Emit after Close kept an event")
	}
}

func TestReceiverDownForAWhileGetsEveryWebhook(t *testing.T) {
	app := testApp("")
	rc := newReceiver(t, app)
	app.Webhooks[0].URL = rc.URL
	// The receiver fails its first requests: 503s, then dropped
	// connections, then a 429.
	rc.respond = func(n int, w http.ResponseWriter, r *http.Request) bool {
		switch {
		case n < 3:
			http.Error(w, "down", http.StatusServiceUnavailable)
		case n < 6:
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			conn.Close()
		case n == 6:
			http.Error(w, "slow down", http.StatusTooManyRequests)
		default:
			return false
		}
		return true
	}
	q := newMemoryQueue(t)
	d := startDispatcher(t, q, Options{LookupApp: lookupFor(app), RetryFor: 10 * time.Second})
	for _, ch := range []string{"a", "b", "c"} {
		d.Emit(app, lifecycle.Event{Name: lifecycle.ChannelOccupied, Channel: ch})
	}
	got := rc.waitEvents(t, 3)
	seen := map[string]bool{}
	for _, e := range got {
		seen[e.Channel] = true
	}
	if len(seen) != 3 {
		t.Errorf("after the outage got %+v, want a, b and c", got)
	}
	var retries int
	for range len(rc.requests()) {
		var re *queue.RetryError
		if errors.As(q.next(t), &re) {
			retries++
		}
	}
	if retries != 7 {
		t.Errorf("%d deliveries were retried, want 7 (3 x 503, 3 x network, 1 x 429)", retries)
	}
}

func TestClientErrorIsNotRetried(t *testing.T) {
	app := testApp("")
	rc := newReceiver(t, app)
	app.Webhooks[0].URL = rc.URL
	rc.respond = func(n int, w http.ResponseWriter, r *http.Request) bool {
		http.Error(w, "bad", http.StatusBadRequest)
		return true
	}
	q := newMemoryQueue(t)
	d := startDispatcher(t, q, Options{LookupApp: lookupFor(app)})
	d.Emit(app, lifecycle.Event{Name: lifecycle.ChannelOccupied, Channel: "a"})
	var perm *queue.PermanentError
	if err := q.next(t); !errors.As(err, &perm) {
		t.Fatalf("outcome of a 400 = %v, want a queue.Permanent error", err)
	}
	st, _ := q.Queue.(queue.StatsReporter).Stats(context.Background())
	if st.Depth != 0 || len(rc.requests()) != 1 {
		t.Errorf("after a 400: queue depth %d and %d requests, want 0 and 1", st.Depth, len(rc.requests()))
	}
}

func TestRetriesStopAfterRetryFor(t *testing.T) {
	app := testApp("")
	rc := newReceiver(t, app)
	app.Webhooks[0].URL = rc.URL
	rc.respond = func(n int, w http.ResponseWriter, r *http.Request) bool {
		http.Error(w, "down", http.StatusBadGateway)
		return true
	}
	clock := newFakeClock()
	logs := &logRecorder{}
	q := newMemoryQueue(t)
	d := startDispatcher(t, q, Options{
		LookupApp: lookupFor(app), Clock: clock, RetryFor: 5 * time.Minute, Logger: slog.New(logs),
		// Long enough for the clock to move before the second attempt.
		RetryBase: 200 * time.Millisecond, RetryMax: time.Second,
	})
	d.Emit(app, lifecycle.Event{Name: lifecycle.ChannelOccupied, Channel: "a"})
	var re *queue.RetryError
	if err := q.next(t); !errors.As(err, &re) {
		t.Fatalf("first failure = %v, want a retry", err)
	}
	clock.Advance(5 * time.Minute) // the job was enqueued five minutes ago
	var perm *queue.PermanentError
	if err := q.next(t); !errors.As(err, &perm) {
		t.Fatalf("failure after RetryFor = %v, want the job dropped", err)
	}
	if !logs.has("webhook dropped: retried for too long") {
		t.Error("no log line for the dropped webhook")
	}
}

func TestUnknownAppIsDropped(t *testing.T) {
	app := testApp("http://127.0.0.1:1/unused")
	q := newMemoryQueue(t)
	d := startDispatcher(t, q, Options{LookupApp: lookupFor()})
	d.Emit(app, lifecycle.Event{Name: lifecycle.ChannelOccupied, Channel: "a"})
	var perm *queue.PermanentError
	if err := q.next(t); !errors.As(err, &perm) || !errors.Is(err, appmanager.ErrNotFound) {
		t.Fatalf("outcome for a deleted app = %v, want a Permanent ErrNotFound", err)
	}
}

func TestRunNeedsLookupApp(t *testing.T) {
	d := New(newPlainQueue(t), Options{Logger: discard()})
	defer d.Close(context.Background())
	if err := d.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "LookupApp") {
		t.Fatalf("Run without LookupApp = %v, want an error naming it", err)
	}
}

func TestJobHoldsNoSecret(t *testing.T) {
	q := newPlainQueue(t)
	app := testApp("http://127.0.0.1:1/hook?token=abc")
	app.Secret = "very-secret-value"
	d := New(q, Options{Logger: discard()})
	d.Emit(app, lifecycle.Event{Name: lifecycle.ChannelOccupied, Channel: "a"})
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var payload []byte
	q.Consume(ctx, func(ctx context.Context, j *queue.Job) error {
		payload = append([]byte(nil), j.Payload...)
		cancel()
		return nil
	})
	if strings.Contains(string(payload), app.Secret) {
		t.Errorf("job %s contains the app secret", payload)
	}
	var j job
	if err := json.Unmarshal(payload, &j); err != nil || j.AppID != "app-1" || j.AppKey != "key-1" || j.URL != app.Webhooks[0].URL {
		t.Errorf("job = %+v (%v), want app id, key and URL", j, err)
	}
}

func TestRedactKeepsSecretsOutOfLogs(t *testing.T) {
	if got := redact("https://user:pass@hooks.example.com/p?token=abc"); got != "https://hooks.example.com/p" {
		t.Errorf("redact = %q", got)
	}
}

// flakyQueue fails Enqueue while down is set.
type flakyQueue struct {
	queue.Queue
	down     atomic.Bool
	attempts atomic.Int64
}

func (f *flakyQueue) Enqueue(ctx context.Context, p []byte) error {
	f.attempts.Add(1)
	if f.down.Load() {
		return errors.New("queue unreachable")
	}
	return f.Queue.Enqueue(ctx, p)
}

func TestEnqueueFailuresAreRetriedThenBounded(t *testing.T) {
	app := testApp("")
	rc := newReceiver(t, app)
	app.Webhooks[0].URL = rc.URL
	fq := &flakyQueue{Queue: newPlainQueue(t)}
	fq.down.Store(true)
	logs := &logRecorder{}
	d := startDispatcher(t, fq, Options{LookupApp: lookupFor(app), MaxPending: 2, Logger: slog.New(logs)})

	for _, ch := range []string{"a", "b", "c"} {
		d.Emit(app, lifecycle.Event{Name: lifecycle.ChannelOccupied, Channel: ch}) // must not block
	}
	testenv.Eventually(t, 5*time.Second, "enqueue retries", func() bool { return fq.attempts.Load() >= 2 })
	if !logs.has("webhook backlog full: the queue is not accepting jobs; dropping webhooks") {
		t.Error("no log line for the webhook dropped beyond MaxPending")
	}
	fq.down.Store(false)
	rc.waitEvents(t, 2)
	d.Emit(app, lifecycle.Event{Name: lifecycle.CacheMiss, Channel: "cache-marker"})
	got := rc.waitEvents(t, 3)
	var names []string
	for _, e := range got {
		names = append(names, e.Channel)
	}
	if strings.Join(names, ",") != "a,b,cache-marker" {
		t.Errorf("delivered %v, want a and b kept through the outage, c dropped", names)
	}
}

func TestCloseGivesUpAtItsDeadline(t *testing.T) {
	fq := &flakyQueue{Queue: newPlainQueue(t)}
	fq.down.Store(true)
	logs := &logRecorder{}
	d := New(fq, Options{Logger: slog.New(logs)})
	d.Emit(testApp("http://127.0.0.1:1/"), lifecycle.Event{Name: lifecycle.ChannelOccupied, Channel: "a"})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := d.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close with the queue down = %v, want context.DeadlineExceeded", err)
	}
	testenv.Eventually(t, 10*time.Second, "the lost-webhooks log line", func() bool { return logs.has("webhooks lost: Close timed out") })
}

func TestDeliveryErrorsCarryNoURLSecret(t *testing.T) {
	for _, tc := range []struct{ name, url string }{
		// Port 1 refuses the connection, so the error comes from the client.
		{"refused", "http://user:hunter2@127.0.0.1:1/hook?token=s3cr3t"},
		// A job written by an older build can hold a URL that no longer parses.
		{"malformed", "http://user:hunter2@127.0.0.1:bad/hook?token=s3cr3t"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs testenv.LogBuffer
			q := newMemoryQueue(t)
			app := testApp(tc.url)
			startDispatcher(t, q, Options{
				Logger:    slog.New(slog.NewTextHandler(&logs, nil)),
				LookupApp: lookupFor(app),
				RetryFor:  time.Hour,
			})
			payload, err := json.Marshal(job{AppID: app.ID, AppKey: app.Key, URL: tc.url, Body: "{}"})
			if err != nil {
				t.Fatal(err)
			}
			if err := q.Enqueue(context.Background(), payload); err != nil {
				t.Fatal(err)
			}
			outcome := q.next(t)
			if outcome == nil {
				t.Fatal("delivery succeeded; want an error")
			}
			for _, secret := range []string{"hunter2", "s3cr3t"} {
				if strings.Contains(outcome.Error(), secret) {
					t.Errorf("queue error %q carries %q", outcome, secret)
				}
				if strings.Contains(logs.String(), secret) {
					t.Errorf("log carries %q:\n%s", secret, logs.String())
				}
			}
			if !strings.Contains(logs.String(), "webhook") {
				t.Errorf("nothing logged about the failure:\n%s", logs.String())
			}
		})
	}
}

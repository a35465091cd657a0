package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/redis/rueidis"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/internal/testenv"
)

// TestOneClientServesEveryDriver runs a server whose cache, queue and rate
// limiter share one rueidis client, and sees each of them at work in Redis:
// a channel_occupied webhook travels through the queue, a cache channel's
// last event is stored, and a second connection attempt is refused by the
// limiter.
func TestOneClientServesEveryDriver(t *testing.T) {
	opt, err := rueidis.ParseURL(testenv.Lookup(t, "SOCKUDO_TEST_REDIS_URL"))
	if err != nil {
		t.Fatal(err)
	}
	client, err := rueidis.NewClient(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close) // after the key cleanup below
	prefix := "sockudo_example_test:" + rand.Text()[:8] + ":"
	ctx := context.Background()
	t.Cleanup(func() {
		// The queue's keys are hash-tagged: {prefix queue:webhooks}:...
		for _, p := range []string{prefix, "{" + prefix} {
			for _, k := range keysUnder(t, client, p) {
				client.Do(ctx, client.B().Del().Key(k).Build())
			}
		}
	})

	hooks := make(chan string, 10)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		hooks <- string(body)
	}))
	defer recv.Close()

	opts, closeDrivers, err := redisOptions(client, prefix)
	if err != nil {
		t.Fatal(err)
	}
	defer closeDrivers()
	srv, err := sockudo.New(append(opts,
		sockudo.WithApps(appmanager.App{ID: "app-id", Key: "app-key", Secret: "app-secret", Enabled: true,
			Webhooks: []appmanager.Webhook{{URL: recv.URL, EventTypes: []string{"channel_occupied"}}}}),
		sockudo.WithConnectionRateLimit(sockudo.RateLimit{Max: 1, Window: time.Minute}),
	)...)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Shutdown(ctx)

	wsURL := "ws" + strings.TrimPrefix(hs.URL, "http") + "/app/app-key?protocol=7"
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(dctx, wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	readEvent(t, dctx, conn, "pusher:connection_established")
	if err := conn.Write(dctx, websocket.MessageText, []byte(`{"event":"pusher:subscribe","data":{"channel":"cache-news"}}`)); err != nil {
		t.Fatal(err)
	}
	readEvent(t, dctx, conn, "pusher_internal:subscription_succeeded")

	// The queue: channel_occupied is enqueued in Redis and delivered.
	select {
	case body := <-hooks:
		if !strings.Contains(body, `"channel_occupied"`) || !strings.Contains(body, `"cache-news"`) {
			t.Fatalf("webhook %s, want channel_occupied for cache-news", body)
		}
	case <-dctx.Done():
		t.Fatal("no channel_occupied webhook")
	}

	// The cache: a cache channel's last event is kept in Redis.
	if err := srv.Trigger(dctx, "app-id", sockudo.Event{Name: "news", Channels: []string{"cache-news"}, Data: `{}`}); err != nil {
		t.Fatal(err)
	}
	readEvent(t, dctx, conn, "news")
	if keys := keysUnder(t, client, prefix+"cache:"); len(keys) == 0 {
		t.Error("no cache keys in Redis after publishing on a cache channel")
	}

	// The rate limiter: the budget of one connection per IP is spent.
	if _, resp, err := websocket.Dial(dctx, wsURL, nil); err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("second connection: %v, %v; want 429", resp, err)
	}
	if keys := keysUnder(t, client, prefix+"rl:"); len(keys) == 0 {
		t.Error("no rate limiter keys in Redis after a connection")
	}
}

// readEvent reads frames until one with the given event name arrives.
func readEvent(t *testing.T, ctx context.Context, conn *websocket.Conn, name string) {
	t.Helper()
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", name, err)
		}
		var f struct {
			Event string `json:"event"`
		}
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatalf("frame %s: %v", data, err)
		}
		if f.Event == name {
			return
		}
	}
}

func keysUnder(t *testing.T, client rueidis.Client, prefix string) []string {
	t.Helper()
	keys, err := client.Do(context.Background(), client.B().Keys().Pattern(prefix+"*").Build()).AsStrSlice()
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

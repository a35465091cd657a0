package webhook

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/sockudo-go/sockudo/internal/lifecycle"
	"github.com/sockudo-go/sockudo/internal/testenv"
	"github.com/sockudo-go/sockudo/internal/testproxy"
	"github.com/sockudo-go/sockudo/queue"
	redisqueue "github.com/sockudo-go/sockudo/queue/redis"
)

// redisOption is the standalone test Redis, without client-side caching.
func redisOption(t testing.TB) rueidis.ClientOption {
	t.Helper()
	opt := testenv.RedisStandalone(t)
	opt.DisableCache = true
	return opt
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

func redisQueue(t testing.TB, client rueidis.Client, name string, concurrency int) *redisqueue.Queue {
	t.Helper()
	q, err := redisqueue.New(client, &redisqueue.Options{
		Prefix:       "sockudo_test_webhook:",
		Name:         name,
		Lease:        500 * time.Millisecond,
		PollInterval: 20 * time.Millisecond,
		Options:      queue.Options{Concurrency: concurrency, Logger: discard()},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		q.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		client.Do(ctx, client.B().Del().Key(q.Keys()...).Build())
	})
	return q
}

// TestDeadDispatcherLeavesJobsForTheNextOne runs a Dispatcher whose Redis
// connection is cut while it delivers (its process died): a new
// Dispatcher on the same Redis delivers the webhook it held, after the
// lease, and the jobs it had not taken yet.
func TestDeadDispatcherLeavesJobsForTheNextOne(t *testing.T) {
	opt := redisOption(t)
	direct := testenv.RedisClient(t, opt)
	proxy := testproxy.New(t, opt.InitAddress[0])
	viaProxy := opt
	viaProxy.InitAddress = []string{proxy.Addr()}
	dyingClient := testenv.RedisClient(t, viaProxy)
	name := unsafeChars.ReplaceAllString(t.Name(), "_") + "-" + rand.Text()[:8]

	app := testApp("")
	rc := newReceiver(t, app)
	app.Webhooks[0].URL = rc.URL
	hung := make(chan struct{})
	release := make(chan struct{})
	rc.respond = func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n != 0 {
			return false
		}
		close(hung)
		select { // the first delivery never completes for its sender
		case <-release:
		case <-r.Context().Done():
		}
		http.Error(w, "too late", http.StatusServiceUnavailable)
		return true
	}
	t.Cleanup(func() { closeChan(release) })

	dyingQueue := redisQueue(t, dyingClient, name, 1)
	dying := New(dyingQueue, Options{LookupApp: lookupFor(app), Logger: discard()})
	dctx, dcancel := context.WithCancel(context.Background())
	defer dcancel()
	go dying.Run(dctx)
	for _, ch := range []string{"a", "b", "c"} {
		dying.Emit(app, lifecycle.Event{Name: lifecycle.ChannelOccupied, Channel: ch})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := dying.Close(ctx); err != nil {
		t.Fatalf("Close (flush to Redis): %v", err)
	}
	select {
	case <-hung:
	case <-time.After(10 * time.Second):
		t.Fatal("the first Dispatcher never delivered")
	}
	proxy.Cut() // the first Dispatcher's process is gone

	startDispatcher(t, redisQueue(t, direct, name, 2), Options{LookupApp: lookupFor(app)})
	got := rc.waitEvents(t, 3)
	seen := map[string]bool{}
	for _, e := range got {
		seen[e.Channel] = true
	}
	if len(seen) != 3 {
		t.Errorf("the new Dispatcher delivered %+v, want a, b and c", got)
	}
}

func closeChan(ch chan struct{}) {
	select {
	case <-ch:
	default:
		close(ch)
	}
}

// BenchmarkWebhooksThroughRedis measures events from Emit through the
// Redis queue to an HTTP receiver, one event per request and in batches
// of up to 100, and reports events/s.
func BenchmarkWebhooksThroughRedis(b *testing.B) {
	opt := redisOption(b)
	client := testenv.RedisClient(b, opt)
	for _, batching := range []bool{false, true} {
		b.Run(fmt.Sprintf("batching=%v", batching), func(b *testing.B) {
			var received atomic.Int64
			app := testApp(newCountingServer(b, &received))
			q := redisQueue(b, client, "bench-"+rand.Text()[:8], 32)
			d := New(q, Options{LookupApp: lookupFor(app), Logger: discard(), BatchingEnabled: batching, MaxPending: b.N + 1})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				d.Run(ctx)
			}()
			defer func() {
				d.Close(context.Background())
				cancel()
				<-done
			}()
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				d.Emit(app, lifecycle.Event{Name: lifecycle.ClientEvent, Channel: "private-bench", Event: "client-x", Data: "{}", SocketID: "1." + strconv.Itoa(i)})
			}
			deadline := time.Now().Add(2 * time.Minute)
			for received.Load() < int64(b.N) {
				if time.Now().After(deadline) {
					b.Fatalf("received %d of %d events", received.Load(), b.N)
				}
				time.Sleep(time.Millisecond)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
		})
	}
}

package sockudo_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sockudo-go/sockudo"
)

// BenchmarkFanOut publishes to one channel with many WebSocket subscribers
// on loopback and reports ns and allocations per delivered message, for
// this server (also with every hook set, to show that hooks cost the
// publish path nothing) and for the floor: the thinnest Pusher-shaped broadcaster on
// coder/websocket (one reader and one writer goroutine per socket, no
// auth, no limits), measured the same way in the same process.
func BenchmarkFanOut(b *testing.B) {
	for _, subs := range []int{100, 1000} {
		b.Run("sockudo/subs="+itoa(subs), func(b *testing.B) { benchFanOut(b, subs, newSockudoTarget(b)) })
		b.Run("sockudo+hooks/subs="+itoa(subs), func(b *testing.B) {
			benchFanOut(b, subs, newSockudoTarget(b, sockudo.WithHooks(benchHooks())))
		})
		b.Run("floor/subs="+itoa(subs), func(b *testing.B) { benchFanOut(b, subs, newFloorTarget(b)) })
	}
}

// fanOutTarget is a server under benchmark.
type fanOutTarget struct {
	url       string
	subscribe string // frame a client sends to join the channel
	publish   func(data string)
}

func benchFanOut(b *testing.B, subs int, target fanOutTarget) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var received atomic.Int64
	var ready sync.WaitGroup
	conns := make([]*websocket.Conn, subs)
	for i := range conns {
		ws, _, err := websocket.Dial(ctx, target.url, nil)
		if err != nil {
			b.Fatal(err)
		}
		conns[i] = ws
		if _, _, err := ws.Read(ctx); err != nil { // connection_established
			b.Fatal(err)
		}
		if err := ws.Write(ctx, websocket.MessageText, []byte(target.subscribe)); err != nil {
			b.Fatal(err)
		}
		if _, _, err := ws.Read(ctx); err != nil { // subscription_succeeded
			b.Fatal(err)
		}
		ready.Add(1)
		go func() {
			defer ready.Done()
			for {
				// Background context: a cancellable one costs the client an
				// allocation per read, which would blur the server's figure.
				_, r, err := ws.Reader(context.Background())
				if err != nil {
					return
				}
				if _, err := io.Copy(io.Discard, r); err != nil {
					return
				}
				received.Add(1)
			}
		}()
	}
	defer func() {
		for _, ws := range conns {
			ws.CloseNow()
		}
		cancel()
		ready.Wait()
	}()
	data := `{"message":"` + strings.Repeat("x", 100) + `"}`
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		target.publish(data)
	}
	want := int64(b.N) * int64(subs)
	deadline := time.Now().Add(30 * time.Second)
	for received.Load() < want && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	if got := received.Load(); got < want {
		b.Fatalf("delivered %d of %d messages", got, want)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(want), "ns/delivery")
	// Mallocs of the whole process (server and clients) per delivery.
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(want), "allocs/delivery")
}

// benchHooks sets every hook, each doing a trivial amount of work.
func benchHooks() sockudo.Hooks {
	var n atomic.Int64
	count := func(context.Context, sockudo.ChannelEvent) { n.Add(1) }
	return sockudo.Hooks{
		OnConnect: func(context.Context, *http.Request, sockudo.Socket) (any, error) { return &n, nil },
		OnSubscribe: func(context.Context, sockudo.Socket, sockudo.Subscription) error {
			n.Add(1)
			return nil
		},
		OnClientEvent:       func(context.Context, sockudo.Socket, sockudo.ClientEvent) error { return nil },
		OnChannelOccupied:   count,
		OnChannelVacated:    count,
		OnMemberAdded:       count,
		OnMemberRemoved:     count,
		OnSubscriptionCount: count,
	}
}

func newSockudoTarget(b *testing.B, opts ...sockudo.Option) fanOutTarget {
	opts = append([]sockudo.Option{sockudo.WithApps(testApp()), sockudo.WithLogger(slog.New(slog.DiscardHandler)), sockudo.WithOutboundQueue(100000)}, opts...)
	srv, err := sockudo.New(opts...)
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		hs.Close()
	})
	ev := sockudo.Event{Name: "tick", Channels: []string{"bench"}}
	return fanOutTarget{
		url:       "ws" + strings.TrimPrefix(hs.URL, "http") + "/app/" + testKey + "?protocol=7",
		subscribe: `{"event":"pusher:subscribe","data":{"channel":"bench"}}`,
		publish: func(data string) {
			ev.Data = data
			if err := srv.Trigger(context.Background(), testID, ev); err != nil {
				b.Fatal(err)
			}
		},
	}
}

// floor is the baseline broadcaster: one channel, one reader and one
// writer goroutine per socket, a buffered channel as the outbound queue.
type floor struct {
	mu   sync.RWMutex
	subs map[chan []byte]struct{}
}

func (f *floor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	ctx := r.Context()
	out := make(chan []byte, 100000)
	go func() {
		for m := range out {
			if ws.Write(ctx, websocket.MessageText, m) != nil {
				return
			}
		}
	}()
	out <- []byte(`{"event":"pusher:connection_established","data":"{\"socket_id\":\"1.1\",\"activity_timeout\":120}"}`)
	for {
		_, _, err := ws.Read(ctx)
		if err != nil {
			f.mu.Lock()
			delete(f.subs, out)
			f.mu.Unlock()
			close(out)
			return
		}
		f.mu.Lock()
		f.subs[out] = struct{}{}
		f.mu.Unlock()
		out <- []byte(`{"event":"pusher_internal:subscription_succeeded","channel":"bench","data":"{}"}`)
	}
}

func (f *floor) publish(data string) {
	frame := []byte(`{"event":"tick","channel":"bench","data":` + jsonString(data) + `}`)
	f.mu.RLock()
	for out := range f.subs {
		out <- frame
	}
	f.mu.RUnlock()
}

func newFloorTarget(b *testing.B) fanOutTarget {
	f := &floor{subs: make(map[chan []byte]struct{})}
	hs := httptest.NewServer(f)
	b.Cleanup(hs.Close)
	return fanOutTarget{
		url:       "ws" + strings.TrimPrefix(hs.URL, "http") + "/app/key",
		subscribe: `{"event":"pusher:subscribe","data":{"channel":"bench"}}`,
		publish:   f.publish,
	}
}

func jsonString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

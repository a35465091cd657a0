package sockudo_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sockudo-go/sockudo"
)

// A client that stops reading (frozen tab, stuck process, or an attacker)
// once the server's socket buffers are full must still be closed by the
// pong timeout: a writer blocked on it must not keep the socket, its
// subscriptions and its presence alive.
func TestStuckClientIsClosedByThePongTimeout(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts []sockudo.Option
		n    int
	}{
		{"control no traffic", nil, 0},
		{"DropMessages", []sockudo.Option{sockudo.WithSlowConsumerPolicy(sockudo.DropMessages)}, 2000},
		{"CloseSlowConsumer under the queue bound", nil, 990},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := append([]sockudo.Option{sockudo.WithApps(testApp()),
				sockudo.WithActivityTimeout(time.Second), sockudo.WithPongTimeout(time.Second)}, tc.opts...)
			s := newTestServer(t, opts...)
			ctx := context.Background()
			ws, _, err := websocket.Dial(ctx, s.ws+"/app/"+testKey+"?protocol=7", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer ws.CloseNow()
			if err := ws.Write(ctx, websocket.MessageText, []byte(`{"event":"pusher:subscribe","data":{"channel":"news"}}`)); err != nil {
				t.Fatal(err)
			}
			// Wait until subscribed.
			for i := 0; ; i++ {
				ci, _ := s.Channel(ctx, testID, "news")
				if ci.Occupied {
					break
				}
				if i > 200 {
					t.Fatal("never subscribed")
				}
				time.Sleep(10 * time.Millisecond)
			}
			data := strings.Repeat("x", 10*1024)
			for i := 0; i < tc.n; i++ {
				if err := s.Trigger(ctx, testID, sockudo.Event{Name: "e", Channels: []string{"news"}, Data: data}); err != nil {
					t.Fatal(err)
				}
			}
			// The client never reads nor answers pings: by activity (1 s) +
			// pong (1 s) + Close's 5 s handshake wait it must be gone.
			deadline := time.Now().Add(12 * time.Second)
			for time.Now().Before(deadline) {
				if s.Stats().Connections == 0 {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
			t.Fatalf("socket still open %s after its pong timeout: %d connection(s)", 12*time.Second, s.Stats().Connections)
		})
	}
}

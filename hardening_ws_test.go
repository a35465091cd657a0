package sockudo_test

import (
	"context"
	"encoding/json"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/internal/wstest"
)

// rawDial connects without reading anything: the attacker that never
// reads what the server sends.
func rawDial(t *testing.T, s *testServer) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wstest.Timeout)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, s.ws+"/app/"+testKey+"?protocol=7", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	ws.SetReadLimit(-1)
	t.Cleanup(func() { _ = ws.CloseNow() })
	return ws
}

// closeCode reads ws until it ends and returns the close code.
func closeCode(t *testing.T, ws *websocket.Conn) websocket.StatusCode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wstest.Timeout)
	defer cancel()
	for {
		if _, _, err := ws.Read(ctx); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

func subscribeFrame(channel string) []byte {
	b, _ := json.Marshal(map[string]any{"event": "pusher:subscribe", "data": map[string]string{"channel": channel}})
	return b
}

// A subscriber that never reads while broadcasts pile up is closed with
// 4100 once its queue is over the byte budget (the message bound is set
// out of reach), and the server's heap stays bounded meanwhile.
func TestNonReaderClosedOverByteBudget(t *testing.T) {
	s := newTestServer(t, sockudo.WithApps(testApp()), sockudo.WithOutboundQueue(1_000_000), sockudo.WithOutboundBytes(1<<20))
	ws := rawDial(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), wstest.Timeout)
	defer cancel()
	if err := ws.Write(ctx, websocket.MessageText, subscribeFrame("feed")); err != nil {
		t.Fatal(err)
	}
	for { // read up to the subscription's ack, then never again
		_, msg, err := ws.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(msg), "subscription_succeeded") {
			break
		}
	}
	before := heapInUse()
	data := strings.Repeat("x", 8<<10)
	// 2,000 x 8 KB = 16 MB: more than the budget plus what loopback
	// socket buffers absorb.
	for i := range 2000 {
		trigger(t, s, "tick", data+strconv.Itoa(i), "feed")
	}
	if grown := int64(heapInUse()) - int64(before); grown > 32<<20 {
		t.Errorf("heap grew by %d MB while one socket did not read", grown>>20)
	}
	if code := closeCode(t, ws); code != 4100 {
		t.Fatalf("non-reading socket closed with %d, want 4100", code)
	}
}

// Issue 12 H2: a socket that sends 990 invalid 64 KB subscribes and never
// reads cannot make the server hold the replies: they are small, and the
// server stops reading it while its queue is over the high-water mark.
// The other budgets are off so that only these two are tested.
func TestInvalidSubscribeFloodHeapBounded(t *testing.T) {
	s := newTestServer(t, sockudo.WithApps(testApp()), sockudo.WithMaxMessageSize(100<<10),
		sockudo.WithProtocolErrorLimit(0, 0), sockudo.WithInboundByteRate(0), sockudo.WithInboundFrameRate(0, 0))
	ws := rawDial(t, s)
	before := heapInUse()
	frame := subscribeFrame(strings.Repeat("!", 64<<10))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	sent := 0
	for range 990 {
		if err := ws.Write(ctx, websocket.MessageText, frame); err != nil {
			break // the server stopped reading: writes block until ctx ends
		}
		sent++
	}
	if grown := int64(heapInUse()) - int64(before); grown > 48<<20 {
		t.Errorf("heap grew by %d MB after %d invalid 64 KB subscribes from a non-reader", grown>>20, sent)
	}
}

// An error frame repeats only a bounded prefix of the channel name.
func TestErrorFrameDoesNotEchoLongName(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithApps(testApp()), sockudo.WithMaxMessageSize(100<<10))
	c := s.dial(t, testKey)
	c.Send(t, string(subscribeFrame(strings.Repeat("!", 64<<10))))
	f := c.Expect(t, "pusher:error")
	if len(f.Raw) > 1024 {
		t.Fatalf("error frame for a 64 KB channel name is %d bytes", len(f.Raw))
	}
}

// Repeated invalid frames close the socket with 4300.
func TestRepeatedProtocolErrorsClose(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithApps(testApp()), sockudo.WithProtocolErrorLimit(5, time.Minute))
	c := s.dial(t, testKey)
	// Five errors are allowed; the sixth closes. A seventh send could
	// race the close.
	for range 6 {
		c.Send(t, "not json")
	}
	if code := c.ExpectClose(t); code != 4300 {
		t.Fatalf("closed with %d, want 4300", code)
	}
}

// Issue 12 M5: a pong flooder is closed with 4100 quickly, and a normal
// subscriber on the same server keeps receiving.
func TestPongFlooderClosed(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithApps(testApp()))
	normal := s.dial(t, testKey)
	normal.SubscribeOK(t, testKey, testSecret, "news", "")
	ws := rawDial(t, s)
	done := make(chan websocket.StatusCode, 1)
	go func() { done <- closeCode(t, ws) }()
	pong := []byte(`{"event":"pusher:pong","data":{}}`)
	ctx, cancel := context.WithTimeout(context.Background(), wstest.Timeout)
	defer cancel()
	for range 200_000 {
		if err := ws.Write(ctx, websocket.MessageText, pong); err != nil {
			break
		}
	}
	select {
	case code := <-done:
		if code != 4100 {
			t.Fatalf("flooder closed with %d, want 4100", code)
		}
	case <-time.After(wstest.Timeout):
		t.Fatal("200,000 pongs did not close the flooder")
	}
	trigger(t, s, "headline", "{}", "news")
	normal.Expect(t, "headline")
}

// RFC 6455: a text frame that is not UTF-8 closes with 1007.
func TestInvalidUTF8Closes1007(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithApps(testApp()))
	c := s.dial(t, testKey)
	c.Send(t, "{\"event\":\"pusher:ping\",\"data\":\"\xff\xfe\"}")
	if code := c.ExpectClose(t); code != websocket.StatusInvalidFramePayloadData {
		t.Fatalf("closed with %d, want 1007", code)
	}
}

// A client that pipelines a burst of subscribes, as pusher-js does after a
// reconnect, and reads normally is never taken for a slow consumer, even
// when the burst's replies are many times the outbound queue.
func TestPipelinedSubscribesNotSlowConsumer(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithApps(testApp()), sockudo.WithOutboundQueue(20))
	c := s.dial(t, testKey)
	for i := range 200 {
		c.Send(t, string(subscribeFrame("c"+strconv.Itoa(i))))
	}
	for i := 0; i < 200; {
		f := c.Next(t)
		if f.Event != "pusher_internal:subscription_succeeded" {
			t.Fatalf("after %d subscriptions got %s %s", i, f.Event, f.Raw)
		}
		i++
	}
	if c.IsClosed() {
		t.Fatal("socket closed after a pipelined burst")
	}
}

func TestSocketBudgetOptionsValidated(t *testing.T) {
	t.Parallel()
	for name, opt := range map[string]sockudo.Option{
		"WithOutboundBytes":      sockudo.WithOutboundBytes(-1),
		"WithInboundFrameRate":   sockudo.WithInboundFrameRate(-1, 10),
		"WithInboundByteRate":    sockudo.WithInboundByteRate(-1),
		"WithProtocolErrorLimit": sockudo.WithProtocolErrorLimit(5, 0),
	} {
		if _, err := sockudo.New(sockudo.WithApps(testApp()), opt); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: New = %v, want an error naming the option", name, err)
		}
	}
}

package sockudo_test

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/internal/wstest"
)

func TestHandshake(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithApps(testApp()), sockudo.WithActivityTimeout(42*time.Second))
	c := s.dial(t, testKey)
	if !regexp.MustCompile(`^\d+\.\d+$`).MatchString(c.SocketID) {
		t.Fatalf("socket id %q does not match ^\\d+\\.\\d+$", c.SocketID)
	}
	if c.ActivityTimeout != 42 {
		t.Fatalf("activity_timeout = %d, want 42", c.ActivityTimeout)
	}
	other := s.dial(t, testKey)
	if other.SocketID == c.SocketID {
		t.Fatal("two sockets got the same id")
	}
}

// rejected dials and expects pusher:error with code, then a close with
// the same code.
func expectRejected(t *testing.T, base, key string, opts *wstest.Options, code int) {
	t.Helper()
	if opts == nil {
		opts = &wstest.Options{}
	}
	opts.NoHandshake = true
	c := wstest.Dial(t, base, key, opts)
	got, msg := c.ExpectError(t)
	if got != code {
		t.Fatalf("pusher:error code %d (%s), want %d", got, msg, code)
	}
	if cc := c.ExpectClose(t); int(cc) != code {
		t.Fatalf("close code %d, want %d", cc, code)
	}
}

func TestConnectRejections(t *testing.T) {
	t.Parallel()
	disabled := testApp()
	disabled.ID, disabled.Key, disabled.Enabled = "off", "off-key", false
	quota := testApp()
	quota.ID, quota.Key, quota.MaxConnections = "small", "small-key", 1
	origins := testApp()
	origins.ID, origins.Key, origins.AllowedOrigins = "web", "web-key", []string{"https://app.example.com", "*.example.org"}
	s := newTestServer(t, sockudo.WithApps(testApp(), disabled, quota, origins))

	t.Run("unknown key 4001", func(t *testing.T) { expectRejected(t, s.ws, "nope", nil, 4001) })
	t.Run("disabled 4003", func(t *testing.T) { expectRejected(t, s.ws, "off-key", nil, 4003) })
	t.Run("over quota 4004", func(t *testing.T) {
		s.dial(t, "small-key")
		expectRejected(t, s.ws, "small-key", nil, 4004)
	})
	t.Run("unsupported protocol 4007", func(t *testing.T) {
		expectRejected(t, s.ws, testKey, &wstest.Options{Query: "?protocol=99"}, 4007)
	})
	t.Run("missing protocol is lenient by default", func(t *testing.T) {
		wstest.Dial(t, s.ws, testKey, &wstest.Options{Query: "?client=js"})
	})
	t.Run("origin denied 4009", func(t *testing.T) {
		h := http.Header{"Origin": []string{"https://evil.example.com"}}
		expectRejected(t, s.ws, "web-key", &wstest.Options{Header: h}, 4009)
	})
	t.Run("origin exact and wildcard allowed", func(t *testing.T) {
		for _, o := range []string{"https://app.example.com", "https://a.example.org", "http://b.example.org"} {
			wstest.Dial(t, s.ws, "web-key", &wstest.Options{Header: http.Header{"Origin": []string{o}}})
		}
	})
}

func TestStrictProtocol(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithApps(testApp()), sockudo.WithStrictProtocol())
	expectRejected(t, s.ws, testKey, &wstest.Options{Query: "?client=js"}, 4008)
}

// failingManager is an app store that is down.
type failingManager struct{}

func (failingManager) FindByID(context.Context, string) (*appmanager.App, error) {
	return nil, errors.New("database unreachable")
}
func (failingManager) FindByKey(context.Context, string) (*appmanager.App, error) {
	return nil, errors.New("database unreachable")
}

func TestAppManagerOutageIsRetryable(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithAppManager(failingManager{}))
	c := wstest.Dial(t, s.ws, testKey, &wstest.Options{NoHandshake: true})
	code, _ := c.ExpectError(t)
	cc := c.ExpectClose(t)
	if code < 4100 || code > 4199 || int(cc) != code {
		t.Fatalf("error %d, close %d: want the same 41xx code so pusher-js retries", code, cc)
	}
}

func TestPingPong(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithApps(testApp()))
	c := s.dial(t, testKey)
	c.Send(t, `{"event":"pusher:ping","data":{}}`)
	f := c.Expect(t, "pusher:pong")
	if f.DataString(t) != "{}" {
		t.Fatalf("pong data %s", f.Data)
	}
}

func TestServerPingsIdleClientAndClosesWithoutPong(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithApps(testApp()),
		sockudo.WithActivityTimeout(time.Second), sockudo.WithPongTimeout(500*time.Millisecond))
	answering := s.dial(t, testKey)
	silent := s.dial(t, testKey)

	answering.Expect(t, "pusher:ping")
	answering.Send(t, `{"event":"pusher:pong","data":{}}`)
	silent.Expect(t, "pusher:ping")
	if code := silent.ExpectClose(t); code != 4201 {
		t.Fatalf("silent client closed with %d, want 4201", code)
	}
	// The answering client is pinged again later, not closed.
	answering.Expect(t, "pusher:ping")
	if answering.IsClosed() {
		t.Fatal("a client that answered the ping was closed")
	}
}

func TestMalformedAndUnknownFramesKeepTheConnection(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithApps(testApp()), sockudo.WithMaxMessageSize(2048))
	c := s.dial(t, testKey)
	for _, raw := range []string{
		`not json`,
		`{"data":{}}`,
		`{"event":"pusher:unknown","data":{}}`,
		`{"event":"my-event","data":{}}`,
		`{"event":"pusher:subscribe","data":{"channel":"bad channel!"}}`,
		`{"event":"pusher:subscribe","data":"not an object"}`,
		`{"event":"pusher:subscribe","data":{"channel":"` + strings.Repeat("a", 201) + `"}}`,
		`{"event":"pusher:subscribe","data":{"channel":"x","pad":"` + strings.Repeat("a", 3000) + `"}}`,
	} {
		c.Send(t, raw)
		if code, msg := c.ExpectError(t); code == 0 || msg == "" {
			t.Fatalf("%.40s: pusher:error code %d message %q", raw, code, msg)
		}
	}
	c.Send(t, `{"event":"pusher:ping","data":{}}`)
	c.Expect(t, "pusher:pong")
}

func TestShutdownClosesWith4200(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithApps(testApp()))
	c := s.dial(t, testKey)
	c.SubscribeOK(t, testKey, testSecret, "news", "")
	if err := s.Trigger(context.Background(), testID, sockudo.Event{Name: "last", Channels: []string{"news"}, Data: "bye"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	// What was queued before the shutdown is delivered before the close.
	c.Expect(t, "last")
	if code := c.ExpectClose(t); code != 4200 {
		t.Fatalf("close code %d, want 4200", code)
	}
	if err := s.Shutdown(ctx); !errors.Is(err, sockudo.ErrServerClosed) {
		t.Fatalf("second Shutdown = %v, want ErrServerClosed", err)
	}
	if err := s.Trigger(ctx, testID, sockudo.Event{Name: "x", Channels: []string{"news"}}); !errors.Is(err, sockudo.ErrServerClosed) {
		t.Fatalf("Trigger after Shutdown = %v, want ErrServerClosed", err)
	}
	resp, err := http.Get(s.http.URL + "/up")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/up after Shutdown = %d, want 503", resp.StatusCode)
	}
	if resp, body := getStatus(t, s.http.URL+"/apps/"+testID+"/channels", nil); resp.StatusCode != 503 || !strings.Contains(body, `"status":503`) {
		t.Fatalf("HTTP API after Shutdown = %d %s, want a 503 JSON error", resp.StatusCode, body)
	}
}

// TestSlowConsumerIsDisconnected: a client that never reads cannot be sent
// the 4100 close frame (its buffers are full), so what is checked is that
// the server lets go of it instead of queueing without bound.
func TestSlowConsumerIsDisconnected(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithApps(testApp()), sockudo.WithOutboundQueue(4))
	// A raw connection that never reads: its TCP buffers fill, then its
	// queue, and the server must close it rather than grow memory.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, s.ws+"/app/"+testKey+"?protocol=7", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	_, first, err := ws.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	socketID := regexp.MustCompile(`\d+\.\d+`).FindString(string(first))
	_ = socketID
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"event":"pusher:subscribe","data":{"channel":"firehose"}}`)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ws.Read(ctx); err != nil { // subscription_succeeded
		t.Fatal(err)
	}
	big := strings.Repeat("x", 8000)
	deadline := time.Now().Add(8 * time.Second)
	for time.Now().Before(deadline) {
		ch, err := s.Channel(ctx, testID, "firehose")
		if err != nil {
			t.Fatal(err)
		}
		if !ch.Occupied {
			return // closed and unsubscribed
		}
		for i := 0; i < 50; i++ {
			if err := s.Trigger(ctx, testID, sockudo.Event{Name: "e", Channels: []string{"firehose"}, Data: big}); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("a client that never reads was not disconnected")
}

func TestHealthReportsBackendOutage(t *testing.T) {
	t.Parallel()
	ok := newTestServer(t, sockudo.WithApps(testApp()))
	if resp, body := getStatus(t, ok.http.URL+"/up", nil); resp.StatusCode != 200 || body != "OK" {
		t.Fatalf("/up = %d %q", resp.StatusCode, body)
	}
	down := newTestServer(t, sockudo.WithAppManager(failingManager{}))
	resp, body := getStatus(t, down.http.URL+"/up", nil)
	if resp.StatusCode != http.StatusServiceUnavailable || body != "ERROR" || resp.Header.Get("X-Health-Check") != "ERROR" {
		t.Fatalf("/up with the app store down = %d %q", resp.StatusCode, body)
	}
}

func TestDropMessagesPolicyKeepsTheSocket(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithApps(testApp()), sockudo.WithOutboundQueue(4), sockudo.WithSlowConsumerPolicy(sockudo.DropMessages))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, s.ws+"/app/"+testKey+"?protocol=7", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	if _, _, err := ws.Read(ctx); err != nil {
		t.Fatal(err)
	}
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"event":"pusher:subscribe","data":{"channel":"firehose"}}`)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ws.Read(ctx); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 8000)
	for i := 0; i < 400 && s.Stats().Apps[testID].MessagesDropped == 0; i++ {
		for j := 0; j < 20; j++ {
			if err := s.Trigger(ctx, testID, sockudo.Event{Name: "e", Channels: []string{"firehose"}, Data: big}); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	if s.Stats().Apps[testID].MessagesDropped == 0 {
		t.Fatal("no message was dropped for a client that never reads")
	}
	ch, err := s.Channel(ctx, testID, "firehose")
	if err != nil || !ch.Occupied {
		t.Fatalf("the slow socket was closed under DropMessages: %+v, %v", ch, err)
	}
}

package main

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/cmd/sockudo/internal/config"
	"github.com/sockudo-go/sockudo/internal/testenv"
	"github.com/sockudo-go/sockudo/internal/wstest"
)

// startListener serves a sockudo server through newHTTPServer on
// 127.0.0.1 and returns its address.
func startListener(t *testing.T, c config.HTTP, log *slog.Logger) string {
	t.Helper()
	addr, _ := startLimited(t, c, log)
	return addr
}

// startLimited is startListener that also returns the connection cap
// (c.MaxConnections) in front of the server.
func startLimited(t *testing.T, c config.HTTP, log *slog.Logger) (string, *connLimiter) {
	t.Helper()
	srv, err := sockudo.New(sockudo.WithLogger(log), sockudo.WithApps(appmanager.App{ID: "id", Key: "key", Secret: "secret", Enabled: true}))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := newHTTPServer("", handler("", srv), c, log)
	lim := limitConns(ln, hs, c.MaxConnections, false, log)
	go func() { _ = hs.Serve(lim) }()
	t.Cleanup(func() { _ = hs.Close() })
	return ln.Addr().String(), lim
}

func shortHTTP() config.HTTP {
	c := config.Default().HTTP
	c.HeaderTimeout, c.BodyTimeout, c.SendTimeout, c.KeepaliveTimeout = 1, 1, 1, 1
	return c
}

// TestHugeHeaderGets431 checks the header cap: a 1 MB header is refused.
func TestHugeHeaderGets431(t *testing.T) {
	t.Parallel()
	addr := startListener(t, config.Default().HTTP, slog.New(slog.DiscardHandler))
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	go func() {
		_, _ = io.WriteString(conn, "GET /up HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 1<<20)+"\r\n\r\n")
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("status %d, want 431", resp.StatusCode)
	}
}

// TestIdleKeepAliveClosed checks that a keep-alive connection left idle is
// closed by the server after the keep-alive timeout.
func TestIdleKeepAliveClosed(t *testing.T) {
	t.Parallel()
	addr := startListener(t, shortHTTP(), slog.New(slog.DiscardHandler))
	conn := rawRequest(t, addr, 5*time.Second, "GET /up HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /up: %v %v", resp, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("idle connection: read %v, want EOF (closed by the server)", err)
	}
}

// TestSlowBodyCut checks that a body trickling in is answered within the
// body timeout instead of holding the connection.
func TestSlowBodyCut(t *testing.T) {
	t.Parallel()
	addr := startListener(t, shortHTTP(), slog.New(slog.DiscardHandler))
	conn := rawRequest(t, addr, 6*time.Second, "POST /apps/id/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
	// Nothing more is sent: the server must answer or close by itself.
	_, err := io.Copy(io.Discard, conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the server held a trickling body past its body timeout")
	}
}

// TestWebSocketOutlivesHTTPTimeouts checks that the read and write
// deadlines of the listener do not cut a WebSocket.
func TestWebSocketOutlivesHTTPTimeouts(t *testing.T) {
	t.Parallel()
	addr := startListener(t, shortHTTP(), slog.New(slog.DiscardHandler))
	c := wstest.Dial(t, "ws://"+addr, "key", nil)
	// ReadTimeout is 2 s and WriteTimeout 1 s: wait past both.
	time.Sleep(3 * time.Second)
	c.Send(t, `{"event":"pusher:ping","data":{}}`)
	c.Expect(t, "pusher:pong")
}

// TestErrorLogThroughSlog checks that net/http's own errors reach slog.
func TestErrorLogThroughSlog(t *testing.T) {
	t.Parallel()
	var buf testenv.LogBuffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	hs := newHTTPServer("", http.NotFoundHandler(), config.Default().HTTP, log)
	hs.ErrorLog.Print("http: test error")
	if !strings.Contains(buf.String(), "test error") || !strings.Contains(buf.String(), "component=http") {
		t.Fatalf("log %q", buf.String())
	}
}

// TestWarnPublicMetrics checks the warning for a public metrics address.
func TestWarnPublicMetrics(t *testing.T) {
	t.Parallel()
	for host, warn := range map[string]bool{"127.0.0.1": false, "::1": false, "localhost": false, "0.0.0.0": true, "10.0.0.1": true} {
		var buf testenv.LogBuffer
		warnPublic(slog.New(slog.NewTextHandler(&buf, nil)), "metrics", host)
		if got := buf.String() != ""; got != warn {
			t.Errorf("%s: warned %v, want %v", host, got, warn)
		}
	}
	if h := config.Default().Metrics.Host; h != "127.0.0.1" {
		t.Errorf("default metrics host %q", h)
	}
}

// rawRequest dials addr, writes req as is and returns the connection,
// closed when t ends, with its deadline limit from now.
func rawRequest(t *testing.T, addr string, limit time.Duration, req string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(limit))
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	return conn
}

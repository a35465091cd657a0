package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/cmd/sockudo/internal/config"
	"github.com/sockudo-go/sockudo/internal/testenv"
	"github.com/sockudo-go/sockudo/internal/wstest"
)

const getUp = "GET /up HTTP/1.1\r\nHost: x\r\n\r\n"

// waitFor polls cond until it holds, failing t after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// readStatus reads one response from br and returns it with its body read.
func readStatus(t *testing.T, br *bufio.Reader) *http.Response {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp
}

// TestConnCapUnderAttack plays the attacker of issue 12 (idle keep-alive
// connections using every descriptor) against a cap of 50: idle
// connections make room for a health check, WebSockets holding the cap
// get newcomers a 503, and once they close the places are all back.
func TestConnCapUnderAttack(t *testing.T) {
	t.Parallel()
	const max = 50
	c := config.Default().HTTP
	c.MaxConnections = max
	var logs testenv.LogBuffer
	addr, lim := startLimited(t, c, slog.New(slog.NewTextHandler(&logs, nil)))

	// max keep-alive connections, each left idle after one GET /up, in
	// order so that the first is the oldest idle one.
	idle := make([]*bufio.Reader, max)
	for i := range idle {
		idle[i] = bufio.NewReader(rawRequest(t, addr, 30*time.Second, getUp))
		if resp := readStatus(t, idle[i]); resp.StatusCode != http.StatusOK {
			t.Fatalf("idle %d: status %d", i, resp.StatusCode)
		}
		waitFor(t, "an idle connection", func() bool { return lim.idleCount() == i+1 })
	}
	if n := lim.Open(); n != max {
		t.Fatalf("open %d, want %d", n, max)
	}

	// At the cap, a health check still gets through: the oldest idle
	// connection is closed for it.
	probe := rawRequest(t, addr, 10*time.Second, getUp)
	if resp := readStatus(t, bufio.NewReader(probe)); resp.StatusCode != http.StatusOK {
		t.Fatalf("/up at the cap: status %d, want 200", resp.StatusCode)
	}
	if _, err := idle[0].ReadByte(); err != io.EOF {
		t.Fatalf("oldest idle connection: read %v, want EOF", err)
	}
	if n := lim.Open(); n != max {
		t.Fatalf("open %d after making room, want %d", n, max)
	}
	probe.Close()

	// max WebSockets take every place, closing the idle connections.
	ws := make([]*wstest.Client, max)
	for i := range ws {
		ws[i] = wstest.Dial(t, "ws://"+addr, "key", nil)
	}
	waitFor(t, "the idle connections closed", func() bool { return lim.idleCount() == 0 })
	if n := lim.Open(); n != max {
		t.Fatalf("open %d with %d WebSockets, want %d", n, max, max)
	}

	// Nothing is idle now: newcomers get a 503 and are closed.
	for range 2 {
		br := bufio.NewReader(rawRequest(t, addr, 10*time.Second, getUp))
		resp := readStatus(t, br)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !resp.Close {
			t.Fatalf("over the cap: %d %v close=%v, want 503 with Retry-After, closing", resp.StatusCode, resp.Header, resp.Close)
		}
		if _, err := br.ReadByte(); err != io.EOF {
			t.Fatalf("refused connection: read %v, want EOF", err)
		}
	}
	if n := strings.Count(logs.String(), "connection cap reached"); n != 1 {
		t.Fatalf("%d cap warnings for 2 refusals, want 1 (rate-limited):\n%s", n, logs.String())
	}
	// The WebSockets still work.
	ws[max-1].Send(t, `{"event":"pusher:ping","data":{}}`)
	ws[max-1].Expect(t, "pusher:pong")

	// Closed WebSockets give their places back, to the last one.
	for _, w := range ws {
		w.Close()
	}
	waitFor(t, "every place back", func() bool { return lim.Open() == 0 })
	br := bufio.NewReader(rawRequest(t, addr, 10*time.Second, getUp))
	if resp := readStatus(t, br); resp.StatusCode != http.StatusOK {
		t.Fatalf("/up after the WebSockets closed: status %d", resp.StatusCode)
	}
	if n := lim.Open(); n != 1 {
		t.Fatalf("open %d, want 1", n)
	}
}

// acceptOne dials lim and returns the connection it accepts.
func acceptOne(t *testing.T, lim *connLimiter) (server, client net.Conn) {
	t.Helper()
	client, err := net.Dial("tcp", lim.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err = lim.Accept()
	if err != nil {
		t.Fatal(err)
	}
	return server, client
}

// A connection closed twice (net/http and a WebSocket library may both
// close it) gives its place back once, and a late idle report about it
// does not put it back on the idle list.
func TestLimitedConnReleasesOnce(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lim := limitConns(ln, &http.Server{}, 2, false, slog.New(slog.DiscardHandler))
	defer lim.Close()

	a, _ := acceptOne(t, lim)
	b, _ := acceptOne(t, lim)
	if n := lim.Open(); n != 2 {
		t.Fatalf("open %d, want 2", n)
	}
	lim.connState(a, http.StateIdle)
	// net/http reports the *tls.Conn over our connection under TLS.
	lim.connState(tls.Server(b, &tls.Config{}), http.StateIdle)
	if n := lim.idleCount(); n != 2 {
		t.Fatalf("idle %d, want 2", n)
	}
	lim.connState(b, http.StateActive)
	for range 3 {
		_ = a.Close()
	}
	lim.connState(a, http.StateIdle)
	if o, i := lim.Open(), lim.idleCount(); o != 1 || i != 0 {
		t.Fatalf("after closing one thrice: open %d idle %d, want 1 and 0", o, i)
	}
	_ = b.Close()
	_ = b.Close()
	if n := lim.Open(); n != 0 {
		t.Fatalf("open %d after closing both, want 0", n)
	}
}

// Under TLS the plaintext 503 would be noise to the client: a connection
// over the cap is just closed.
func TestConnCapTLSClosesUnanswered(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lim := limitConns(ln, &http.Server{}, 1, true, slog.New(slog.DiscardHandler))
	defer lim.Close()
	acceptOne(t, lim) // holds the only place, active
	go func() { _, _ = lim.Accept() }()
	client, err := net.Dial("tcp", lim.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	_ = client.SetDeadline(time.Now().Add(5 * time.Second))
	if n, err := client.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("read %d %v, want EOF", n, err)
	}
}

// serve puts http.max_connections in front of the main listener: with a
// cap of 1 held by a WebSocket, a request gets 503.
func TestServeAppliesConnCap(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := config.Default()
	cfg.Host, cfg.Port = "127.0.0.1", ln.Addr().(*net.TCPAddr).Port
	cfg.Metrics.Enabled = false
	cfg.HTTP.MaxConnections = 1
	log := slog.New(slog.DiscardHandler)
	srv, err := sockudo.New(sockudo.WithLogger(log), sockudo.WithApps(appmanager.App{ID: "id", Key: "key", Secret: "secret", Enabled: true}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, &cfg, srv, log) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})

	// Retry while serve starts or a refused try still holds the place.
	var ws *websocket.Conn
	waitFor(t, "a WebSocket", func() bool {
		dctx, dcancel := context.WithTimeout(ctx, 2*time.Second)
		defer dcancel()
		ws, _, err = websocket.Dial(dctx, "ws://"+addr+"/app/key?protocol=7", nil)
		return err == nil
	})
	defer ws.CloseNow()
	resp := readStatus(t, bufio.NewReader(rawRequest(t, addr, 10*time.Second, getUp)))
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("request over a cap of 1: status %d, want 503", resp.StatusCode)
	}
}

// A cap above what the descriptor limit allows is warned about at start.
func TestWarnFDLimit(t *testing.T) {
	t.Parallel()
	n, ok := config.FDMaxConnections()
	if !ok {
		t.Skip("no file-descriptor limit on this platform")
	}
	for max, warn := range map[int]bool{1: false, n: false, n + 1: true} {
		var buf testenv.LogBuffer
		warnFDLimit(slog.New(slog.NewTextHandler(&buf, nil)), max)
		if got := strings.Contains(buf.String(), "http.max_connections"); got != warn {
			t.Errorf("max %d (limit allows %d): warned %v, want %v", max, n, got, warn)
		}
	}
}

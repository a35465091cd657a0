package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestSoakShort runs the soak scenario for a few seconds through the real
// client process: the churn must really happen (sessions come and go,
// abruptly too, publishes arrive, none is lost) and the server must
// return to its baseline.
func TestSoakShort(t *testing.T) {
	const pool = 20
	cfg, err := parseFlags([]string{
		"-run", "soak", "-duration", "5s", "-soak-pool", "20", "-soak-life", "1s",
		"-soak-rate", "30", "-soak-sample", "1s", "-timeout", "2m",
		"-soak-rss-slack", strconv.Itoa(testRSSSlack),
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var out, log bytes.Buffer
	if err := run(context.Background(), cfg, &out, &log); err != nil {
		t.Fatalf("run: %v\noutput:\n%s\nlog:\n%s", err, out.String(), log.String())
	}
	t.Logf("output:\n%s", out.String())
	rows := parseTable(t, out.String())
	sc := "soak/n=20/5s "
	get := func(metric string) tableRow {
		t.Helper()
		r, ok := rows[sc+metric]
		if !ok {
			t.Fatalf("no row %q", sc+metric)
		}
		return r
	}
	for k, r := range rows {
		if r.result == verdictMiss {
			t.Errorf("%s: %+v missed", k, r)
		}
	}
	for _, m := range []string{"rss_mib_final", "heap_mib_final", "goroutines_final", "fds_final",
		"sockets_final", "channels_final", "users_final", "lost", "duplicates", "errors"} {
		if r := get(m); r.result != verdictOK {
			t.Errorf("%s: %+v, want a verdict of ok", m, r)
		}
	}
	if r := get("connects"); r.sockudo <= pool {
		t.Errorf("connects = %v, want more than the pool of %d: no churn", r.sockudo, pool)
	}
	for _, m := range []string{"abrupt_disconnects", "clean_disconnects", "subscriptions", "signins", "publishes", "received", "sockets_peak", "goroutines_peak"} {
		if r := get(m); r.sockudo <= 0 {
			t.Errorf("%s = %v, want > 0", m, r.sockudo)
		}
	}
	if r := get("lost"); r.sockudo != 0 {
		t.Errorf("lost = %v", r.sockudo)
	}
	if peak, base := get("goroutines_peak"), get("goroutines_baseline"); peak.sockudo < base.sockudo+pool {
		t.Errorf("goroutines peaked at %v over a baseline of %v: the sockets were not open at once", peak.sockudo, base.sockudo)
	}
	for _, want := range []string{"# soak:", "baseline", "abrupt disconnects", "messages received"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output has no %q", want)
		}
	}
}

// TestSoakCatchesLeaks leaks goroutines, descriptors and a socket before
// the final sample and expects the verdict to fail on each.
func TestSoakCatchesLeaks(t *testing.T) {
	cfg, err := parseFlags([]string{
		"-run", "soak", "-duration", "1s", "-soak-pool", "4", "-soak-life", "500ms",
		"-soak-sample", "500ms", "-timeout", "2m",
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	targets, err := startTargets(cfg.floorQueue)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, tg := range targets {
			_ = tg.close(context.Background())
		}
	}()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	epoch := time.Now().UnixNano()
	l := &loader{cfg: cfg, self: self, epoch: epoch, clk: newClock(epoch), log: &lockedWriter{w: &log}}
	release := make(chan struct{})
	var leaked []io.Closer
	defer func() {
		close(release)
		for _, c := range leaked {
			c.Close()
		}
	}()
	sockudoTarget := targets[0]
	l.beforeFinal = func() {
		for range soakGoroutineSlack + 5 {
			go func() { <-release }()
		}
		for range soakFDSlack + 5 {
			f, err := os.Open(os.DevNull)
			if err != nil {
				t.Error(err)
				return
			}
			leaked = append(leaked, f)
		}
		// A socket the server still holds.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ws, _, err := websocket.Dial(ctx, sockudoTarget.url, &websocket.DialOptions{HTTPClient: &http.Client{}})
		if err != nil {
			t.Error(err)
			return
		}
		leaked = append(leaked, closerFunc(func() error { return ws.CloseNow() }))
		if _, err := readEstablished(ctx, ws); err != nil {
			t.Error(err)
		}
	}
	var summary bytes.Buffer
	rows, err := l.soak(context.Background(), sockudoTarget, &summary)
	if err != nil {
		t.Fatalf("soak: %v\nlog:\n%s", err, log.String())
	}
	missed := map[string]bool{}
	for _, r := range rows {
		if r.verdict == verdictMiss {
			missed[r.metric] = true
		}
	}
	for _, m := range []string{"goroutines_final", "fds_final", "sockets_final"} {
		if !missed[m] {
			t.Errorf("%s did not miss with a leak\nsummary:\n%s", m, summary.String())
		}
	}
	for _, m := range []string{"lost", "errors", "channels_final"} {
		if missed[m] {
			t.Errorf("%s missed\nsummary:\n%s", m, summary.String())
		}
	}
	var out bytes.Buffer
	if err := printTable(&out, rows); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), verdictMiss) {
		t.Errorf("the table shows no miss:\n%s", out.String())
	}
	if !errors.Is(soakVerdict(rows), errSoakFailed) {
		t.Errorf("soakVerdict = %v, want errSoakFailed", soakVerdict(rows))
	}
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

func TestSoakFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"-run", "soak", "-duration", "10m"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.timeout != 20*time.Minute {
		t.Errorf("timeout = %s, want the default 10m plus the soak's 10m", cfg.timeout)
	}
	if cfg.soakRSSSlack != 32 || cfg.soakPool != 200 || cfg.soakRate != 50 || cfg.soakChannels != 4 || cfg.soakLife != 3*time.Second || cfg.soakSample != 5*time.Second {
		t.Errorf("soak defaults: %+v", cfg)
	}
	if got := cfg.maxOpen(); got != 200 {
		t.Errorf("maxOpen = %d, want the pool", got)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-run", "soak", "-duration", "5m", "-timeout", "5m30s"}, "leaves less than"},
		{[]string{"-soak-pool", "0"}, "-soak-pool"},
		{[]string{"-soak-rate", "0"}, "-soak-rate"},
		{[]string{"-soak-channels", "101"}, "-soak-channels"},
		{[]string{"-soak-life", "1ms"}, "-soak-life"},
		{[]string{"-soak-sample", "0s"}, "-soak-sample"},
		{[]string{"-soak-rss-slack", "-1"}, "-soak-rss-slack"},
	} {
		if _, err := parseFlags(tc.args, io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseFlags(%q) = %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}

func TestSoakLimits(t *testing.T) {
	base := procSample{rss: 20 << 20, heap: 1 << 20, goroutines: 10, fds: 12}
	lim := soakLimitsFor(base, 32)
	if lim.rss != base.rss+32<<20 || lim.heap != 9<<20 || lim.goroutines != 15 || lim.fds != 15 {
		t.Errorf("limits of %+v: %+v", base, lim)
	}
	// Half a large baseline is more than 32 MiB.
	if lim := soakLimitsFor(procSample{rss: 100 << 20}, 32); lim.rss != 150<<20 {
		t.Errorf("rss limit of 100 MiB = %d MiB, want 150", lim.rss>>20)
	}
}

func TestReadRSSAndFDs(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc here")
	}
	if rss := readRSS(); rss < 1<<20 {
		t.Errorf("readRSS = %d, want at least 1 MiB", rss)
	}
	n := countFDs()
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := countFDs(); got != n+1 {
		t.Errorf("countFDs = %d after opening a file, want %d", got, n+1)
	}
}

// TestListenerTimeouts checks that the listener's deadlines cut a slow
// request and leave a hijacked WebSocket alone.
func TestListenerTimeouts(t *testing.T) {
	lim := httpLimits{readHeader: 200 * time.Millisecond, read: 300 * time.Millisecond, write: 300 * time.Millisecond, idle: time.Second, maxHeaderBytes: 4 << 10}
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer ws.CloseNow()
		for {
			typ, msg, err := ws.Read(r.Context())
			if err != nil {
				return
			}
			if ws.Write(r.Context(), typ, msg) != nil {
				return
			}
		}
	})
	mux.HandleFunc("/body", func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusRequestTimeout)
		}
	})
	addr, stop, err := serve(mux, lim)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	// Past every deadline of the listener, the socket still echoes.
	time.Sleep(3 * lim.read)
	if err := ws.Write(ctx, websocket.MessageText, []byte("hi")); err != nil {
		t.Fatalf("write after the deadlines: %v", err)
	}
	if _, msg, err := ws.Read(ctx); err != nil || string(msg) != "hi" {
		t.Fatalf("echo after the deadlines: %q, %v", msg, err)
	}

	// A body that never ends is cut at the read timeout: the server
	// answers or hangs up well before the client's own bound.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nx"); err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Errorf("a stalled body held the connection: %v", err)
	}

	// Headers over the cap are refused.
	big, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/body", nil)
	if err != nil {
		t.Fatal(err)
	}
	big.Header.Set("X-Big", strings.Repeat("a", 8<<10))
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(big)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("8 KiB of headers: status %d, want 431", resp.StatusCode)
	}
}

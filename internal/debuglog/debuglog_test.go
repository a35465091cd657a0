package debuglog

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestFloodIsCapped(t *testing.T) { synctest.Test(t, testFloodIsCapped) }

func testFloodIsCapped(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := NewWithRate(log, "connect", 10, 500*time.Millisecond)
	ctx := context.Background()
	for range 1000 {
		s.Log(ctx, "connected", slog.String("socket_id", "1.2"))
	}
	if n := strings.Count(buf.String(), "\n"); n != 10 {
		t.Fatalf("%d lines from a flood, want the burst of 10:\n%s", n, buf.String())
	}
	buf.Reset()
	time.Sleep(time.Second) // two tokens, on the bubble's clock
	s.Log(ctx, "connected")
	s.Log(ctx, "connected")
	s.Log(ctx, "connected")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], `msg="debug lines suppressed" kind=connect count=990`) {
		t.Fatalf("after a second: %q", lines)
	}
}

func TestOffIsSilentAndNilSafe(t *testing.T) {
	var buf bytes.Buffer
	s := New(slog.New(slog.NewTextHandler(&buf, nil)), "x") // info level
	if s.Enabled(context.Background()) {
		t.Fatal("enabled at info")
	}
	s.Log(context.Background(), "hidden")
	var nilS *Sampler
	nilS.Log(context.Background(), "hidden")
	if buf.Len() != 0 || nilS.Enabled(context.Background()) {
		t.Fatalf("wrote %q", buf.String())
	}
}

func TestConcurrent(t *testing.T) {
	var mu sync.Mutex
	var buf bytes.Buffer
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return buf.Write(p) })
	s := NewWithRate(slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})), "k", 20, time.Hour)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				s.Log(context.Background(), "line")
			}
		})
	}
	wg.Wait()
	if n := strings.Count(buf.String(), "\n"); n != 20 {
		t.Fatalf("%d lines, want 20", n)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

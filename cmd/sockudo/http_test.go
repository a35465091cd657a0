package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/cmd/sockudo/internal/config"
)

// TestBinaryCORSAndCompression: the binary answers a browser's preflight
// with Sockudo's default policy, and negotiates permessage-deflate only
// when websocket.compression asks for it.
func TestBinaryCORSAndCompression(t *testing.T) {
	start := func(t *testing.T, cfg config.Config) *httptest.Server {
		t.Helper()
		srv, err := sockudo.New(serverOptions(&cfg, slog.New(slog.DiscardHandler))...)
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(handler(cfg.PathPrefix, srv))
		t.Cleanup(func() {
			_ = srv.Shutdown(context.Background())
			hs.Close()
		})
		return hs
	}
	hs := start(t, config.Default())
	req, _ := http.NewRequest(http.MethodOptions, hs.URL+"/apps/app-id/events", nil)
	req.Header.Set("Origin", "https://app.example.com")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Fatalf("preflight = %d %v", resp.StatusCode, resp.Header)
	}

	extensions := func(t *testing.T, hs *httptest.Server) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ws, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/app/app-key?protocol=7",
			&websocket.DialOptions{CompressionMode: websocket.CompressionContextTakeover})
		if err != nil {
			t.Fatal(err)
		}
		ws.CloseNow()
		return resp.Header.Get("Sec-WebSocket-Extensions")
	}
	if ext := extensions(t, hs); ext != "" {
		t.Errorf("default config negotiated %q", ext)
	}
	cfg := config.Default()
	cfg.WebSocket.Compression = "dedicated"
	if ext := extensions(t, start(t, cfg)); !strings.HasPrefix(ext, "permessage-deflate") {
		t.Errorf("websocket.compression dedicated: extensions %q", ext)
	}
}

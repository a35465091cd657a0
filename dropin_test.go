package sockudo_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/internal/testenv"
	"github.com/sockudo-go/sockudo/internal/wstest"
)

// TestPathPrefixSlashIsNone: "/" is Sockudo's default path_prefix and
// means the endpoints sit at the root.
func TestPathPrefixSlashIsNone(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithApps(testApp()), sockudo.WithPathPrefix("/"))
	if resp, body := getStatus(t, s.http.URL+"/up", nil); resp.StatusCode != 200 || body != "OK" {
		t.Fatalf("/up = %d %q", resp.StatusCode, body)
	}
	s.dial(t, testKey)
	if resp, _ := getStatus(t, s.http.URL+"//up", nil); resp.StatusCode == 200 {
		t.Fatal(`"/" was taken as a prefix: //up answered 200`)
	}
}

// TestWildcardOriginAdmitsNoOrigin: pusher-js in Node and mobile SDKs send
// no Origin; "*" admits them, an explicit list does not (as Sockudo).
func TestWildcardOriginAdmitsNoOrigin(t *testing.T) {
	t.Parallel()
	star := testApp()
	star.ID, star.Key, star.AllowedOrigins = "star", "star-key", []string{"*"}
	list := testApp()
	list.ID, list.Key, list.AllowedOrigins = "list", "list-key", []string{"https://app.example.com"}
	s := newTestServer(t, sockudo.WithApps(star, list))

	wstest.Dial(t, s.ws, "star-key", nil)
	wstest.Dial(t, s.ws, "star-key", &wstest.Options{Header: http.Header{"Origin": {"https://anything.example"}}})
	expectRejected(t, s.ws, "list-key", nil, 4009)
	wstest.Dial(t, s.ws, "list-key", &wstest.Options{Header: http.Header{"Origin": {"https://app.example.com"}}})
}

func TestAppHealthAndLive(t *testing.T) {
	t.Parallel()
	off := testApp()
	off.ID, off.Key, off.Enabled = "off", "off-key", false
	s := newTestServer(t, sockudo.WithApps(testApp(), off))
	for _, tc := range []struct {
		method, path string
		status       int
		body, header string
	}{
		{"GET", "/up/" + testID, 200, "OK", "OK"},
		{"HEAD", "/up/" + testID, 200, "", "OK"},
		{"GET", "/up/nope", 404, "NOT_FOUND", "NOT_FOUND"},
		{"GET", "/up/off", 503, "ERROR", "ERROR"},
		{"GET", "/live", 200, "", ""},
		{"HEAD", "/live", 200, "", ""},
		{"POST", "/live", 405, "method not allowed\n", ""},
		{"POST", "/up/" + testID, 405, "method not allowed\n", ""},
	} {
		req, _ := http.NewRequest(tc.method, s.http.URL+tc.path, nil)
		resp, body := do(t, req)
		if resp.StatusCode != tc.status || body != tc.body || resp.Header.Get("X-Health-Check") != tc.header {
			t.Errorf("%s %s = %d %q (X-Health-Check %q), want %d %q %q", tc.method, tc.path,
				resp.StatusCode, body, resp.Header.Get("X-Health-Check"), tc.status, tc.body, tc.header)
		}
	}

	down := newTestServer(t, sockudo.WithAppManager(failingManager{}))
	if resp, body := getStatus(t, down.http.URL+"/up/"+testID, nil); resp.StatusCode != 503 || body != "ERROR" {
		t.Errorf("/up/{id} with the app store down = %d %q, want 503 ERROR", resp.StatusCode, body)
	}
	if resp, _ := getStatus(t, down.http.URL+"/live", nil); resp.StatusCode != 200 {
		t.Errorf("/live with the app store down = %d, want 200 (no dependency checked)", resp.StatusCode)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if resp, body := getStatus(t, s.http.URL+"/up/"+testID, nil); resp.StatusCode != 503 || body != "DRAINING" {
		t.Errorf("/up/{id} while draining = %d %q, want 503 DRAINING", resp.StatusCode, body)
	}
	if resp, _ := getStatus(t, s.http.URL+"/live", nil); resp.StatusCode != 200 {
		t.Errorf("/live while draining = %d, want 200", resp.StatusCode)
	}
}

// countingStore serves testApp and counts its lookups.
type countingStore struct{ lookups atomic.Int64 }

func (m *countingStore) FindByID(_ context.Context, id string) (*appmanager.App, error) {
	m.lookups.Add(1)
	if id != testID {
		return nil, appmanager.ErrNotFound
	}
	a := testApp()
	return &a, nil
}

func (m *countingStore) FindByKey(_ context.Context, key string) (*appmanager.App, error) {
	m.lookups.Add(1)
	if key != testKey {
		return nil, appmanager.ErrNotFound
	}
	a := testApp()
	return &a, nil
}

func newHTTPTest(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return hs
}

// TestAppHealthCachesVerdict: a flood of /up/{id} costs the app store one
// backend probe per verdict TTL, and the app lookup goes through the cache.
// While the app store is down, a flood of /up/{app_id} probes writes a
// bounded number of warnings, and an overlong id is answered NOT_FOUND
// without a lookup.
func TestAppHealthFailureLogThrottled(t *testing.T) {
	t.Parallel()
	var logs testenv.LogBuffer
	down := newTestServer(t, sockudo.WithAppManager(failingManager{}),
		sockudo.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	for range 100 {
		if resp, _ := getStatus(t, down.http.URL+"/up/"+testID, nil); resp.StatusCode != 503 {
			t.Fatalf("/up/{id} with the app store down = %d, want 503", resp.StatusCode)
		}
	}
	if n := strings.Count(logs.String(), "health check: app lookup failed"); n < 1 || n > 20 {
		t.Fatalf("100 failing probes wrote %d warnings; want 1 to 20", n)
	}
	if resp, body := getStatus(t, down.http.URL+"/up/"+strings.Repeat("x", 300), nil); resp.StatusCode != 404 || body != "NOT_FOUND" {
		t.Errorf("/up/{300-byte id} = %d %q, want 404 NOT_FOUND", resp.StatusCode, body)
	}
}

func TestAppHealthCachesVerdict(t *testing.T) {
	t.Parallel()
	m := &countingStore{}
	s := newTestServer(t, sockudo.WithAppManager(m))
	for i := 0; i < 50; i++ {
		if resp, body := getStatus(t, s.http.URL+"/up/"+testID, nil); resp.StatusCode != 200 || body != "OK" {
			t.Fatalf("/up/{id} = %d %q", resp.StatusCode, body)
		}
		if resp, _ := getStatus(t, s.http.URL+"/up/nope", nil); resp.StatusCode != 404 {
			t.Fatalf("/up/nope = %d", resp.StatusCode)
		}
	}
	// One lookup per id (then cached) and one health probe.
	if n := m.lookups.Load(); n > 4 {
		t.Fatalf("%d app store lookups for 100 health checks, want a few", n)
	}
}

func do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestCORS(t *testing.T) {
	t.Parallel()
	preflight := func(t *testing.T, s *testServer, origin string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodOptions, s.http.URL+"/apps/"+testID+"/events", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type")
		resp, body := do(t, req)
		if resp.StatusCode == 200 && body != "" {
			t.Errorf("preflight body %q, want empty", body)
		}
		return resp
	}

	t.Run("off by default", func(t *testing.T) {
		s := newTestServer(t, sockudo.WithApps(testApp()))
		resp := preflight(t, s, "https://app.example.com")
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("preflight without WithCORS = %d %v", resp.StatusCode, resp.Header)
		}
	})
	t.Run("Sockudo's default", func(t *testing.T) {
		s := newTestServer(t, sockudo.WithApps(testApp()), sockudo.WithCORS(sockudo.DefaultCORS()))
		resp := preflight(t, s, "https://app.example.com")
		h := resp.Header
		if resp.StatusCode != 200 || h.Get("Access-Control-Allow-Origin") != "*" ||
			!strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
			!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Content-Type") ||
			h.Get("Access-Control-Allow-Credentials") != "" { // forced off by "*"
			t.Fatalf("preflight = %d %v", resp.StatusCode, h)
		}
		// A real request gets the origin header, the API answers as usual.
		r, body := getStatus(t, s.http.URL+"/apps/"+testID+"/channels", http.Header{"Origin": {"https://app.example.com"}})
		if r.StatusCode != 401 || r.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(r.Header.Get("Vary"), "Origin") {
			t.Fatalf("unsigned GET = %d %v %s", r.StatusCode, r.Header, body)
		}
	})
	t.Run("origin list with credentials", func(t *testing.T) {
		s := newTestServer(t, sockudo.WithApps(testApp()), sockudo.WithCORS(sockudo.CORS{
			Origins: []string{"https://app.example.com", "*.example.org"}, Methods: []string{"GET", "POST"},
			Headers: []string{"Authorization"}, Credentials: true,
		}))
		resp := preflight(t, s, "https://app.example.com")
		h := resp.Header
		if resp.StatusCode != 200 || h.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
			h.Get("Access-Control-Allow-Credentials") != "true" || h.Get("Access-Control-Allow-Methods") != "GET,POST" ||
			h.Get("Access-Control-Allow-Headers") != "Authorization" {
			t.Fatalf("preflight = %d %v", resp.StatusCode, h)
		}
		if o := preflight(t, s, "https://a.example.org").Header.Get("Access-Control-Allow-Origin"); o != "https://a.example.org" {
			t.Fatalf("wildcard origin: Allow-Origin %q", o)
		}
		if o := preflight(t, s, "https://evil.example.com").Header.Get("Access-Control-Allow-Origin"); o != "" {
			t.Fatalf("foreign origin: Allow-Origin %q, want none", o)
		}
	})
	t.Run("APIHandler", func(t *testing.T) {
		srv, err := sockudo.New(sockudo.WithApps(testApp()), sockudo.WithCORS(sockudo.DefaultCORS()))
		if err != nil {
			t.Fatal(err)
		}
		s := &testServer{Server: srv}
		s.http = newHTTPTest(t, srv.APIHandler())
		if resp := preflight(t, s, "https://app.example.com"); resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("APIHandler preflight = %d %v", resp.StatusCode, resp.Header)
		}
	})
	t.Run("bad patterns", func(t *testing.T) {
		for _, c := range []sockudo.CORS{
			{Origins: []string{""}}, {Origins: []string{"*.*bad"}}, {Origins: []string{"*."}},
			{Origins: []string{"https://"}}, {Origins: []string{"*"}, Methods: []string{"GET POST"}},
			{Origins: []string{"*"}, Headers: []string{"X-A\r\nX-B"}},
		} {
			if _, err := sockudo.New(sockudo.WithCORS(c)); !errors.Is(err, sockudo.ErrInvalidOption) || !strings.Contains(err.Error(), "WithCORS") {
				t.Errorf("WithCORS(%+v) = %v, want ErrInvalidOption", c, err)
			}
		}
	})
}

func TestCompression(t *testing.T) {
	t.Parallel()
	dial := func(t *testing.T, s *testServer) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ws, resp, err := websocket.Dial(ctx, s.ws+"/app/"+testKey+"?protocol=7", &websocket.DialOptions{
			CompressionMode: websocket.CompressionContextTakeover, // offers permessage-deflate
		})
		if err != nil {
			t.Fatal(err)
		}
		defer ws.CloseNow()
		// The socket works either way, both directions, with messages
		// large enough to be compressed.
		if _, msg, err := ws.Read(ctx); err != nil || !strings.Contains(string(msg), "connection_established") {
			t.Fatalf("first frame %q, %v", msg, err)
		}
		channel := "big-" + strings.Repeat("c", 150) // a subscribe frame over the compression threshold
		if err := ws.Write(ctx, websocket.MessageText, []byte(`{"event":"pusher:subscribe","data":{"channel":"`+channel+`"}}`)); err != nil {
			t.Fatal(err)
		}
		if _, msg, err := ws.Read(ctx); err != nil || !strings.Contains(string(msg), "subscription_succeeded") {
			t.Fatalf("subscribe answer %q, %v", msg, err)
		}
		big := strings.Repeat("hello ", 500)
		if err := s.Trigger(ctx, testID, sockudo.Event{Name: "e", Channels: []string{channel}, Data: big}); err != nil {
			t.Fatal(err)
		}
		if _, msg, err := ws.Read(ctx); err != nil || !strings.Contains(string(msg), big) {
			t.Fatalf("event of %d bytes: %d bytes read, %v", len(big), len(msg), err)
		}
		return resp.Header.Get("Sec-WebSocket-Extensions")
	}
	if ext := dial(t, newTestServer(t, sockudo.WithApps(testApp()))); ext != "" {
		t.Errorf("default: Sec-WebSocket-Extensions %q, want none", ext)
	}
	for _, m := range []sockudo.Compression{sockudo.CompressionContextTakeover, sockudo.CompressionNoContextTakeover} {
		if ext := dial(t, newTestServer(t, sockudo.WithApps(testApp()), sockudo.WithCompression(m))); !strings.HasPrefix(ext, "permessage-deflate") {
			t.Errorf("mode %d: Sec-WebSocket-Extensions %q, want permessage-deflate", m, ext)
		}
	}
	if _, err := sockudo.New(sockudo.WithCompression(9)); !errors.Is(err, sockudo.ErrInvalidOption) {
		t.Errorf("WithCompression(9) = %v", err)
	}
}

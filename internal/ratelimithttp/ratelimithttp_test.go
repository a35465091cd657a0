package ratelimithttp

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sockudo-go/sockudo/ratelimit"
	"github.com/sockudo-go/sockudo/ratelimit/memory"
)

func TestClientIP(t *testing.T) {
	for _, c := range []struct {
		name   string
		remote string
		xff    []string
		realIP string
		hops   int
		want   string
		header string // RealIPHeader; "" ignores X-Real-IP
	}{
		{"peer", "192.0.2.1:5000", nil, "", 0, "192.0.2.1", ""},
		{"peer ignores forged headers", "192.0.2.1:5000", []string{"6.6.6.6"}, "7.7.7.7", 0, "192.0.2.1", ""},
		{"peer IPv6", "[2001:db8::1]:443", nil, "", 0, "2001:db8::1", ""},
		{"peer IPv4-mapped", "[::ffff:192.0.2.9]:443", nil, "", 0, "192.0.2.9", ""},
		{"peer with zone", "[fe80::1%eth0]:443", nil, "", 0, "fe80::1", ""},
		{"peer not host:port", "@", nil, "", 0, "@", ""},
		{"negative hops like 0", "192.0.2.1:5000", []string{"6.6.6.6"}, "", -1, "192.0.2.1", ""},
		{"one proxy", "10.0.0.1:80", []string{"203.0.113.7"}, "", 1, "203.0.113.7", ""},
		{"one proxy, forged entry left of it", "10.0.0.1:80", []string{"6.6.6.6, 203.0.113.7"}, "", 1, "203.0.113.7", ""},
		{"two proxies", "10.0.0.2:80", []string{"6.6.6.6, 203.0.113.7, 10.0.0.1"}, "", 2, "203.0.113.7", ""},
		{"two proxies, split headers", "10.0.0.2:80", []string{"6.6.6.6", "203.0.113.7,10.0.0.1"}, "", 2, "203.0.113.7", ""},
		{"spaces", "10.0.0.1:80", []string{" 203.0.113.7 ,  10.0.0.9 "}, "", 2, "203.0.113.7", ""},
		{"entry with port", "10.0.0.1:80", []string{"203.0.113.7:4711"}, "", 1, "203.0.113.7", ""},
		{"IPv6 entry with port", "10.0.0.1:80", []string{"[2001:db8::7]:4711"}, "", 1, "2001:db8::7", ""},
		{"list shorter than hops", "10.0.0.1:80", []string{"6.6.6.6"}, "", 2, "10.0.0.1", ""},
		{"entry not an IP", "10.0.0.1:80", []string{"unknown"}, "", 1, "10.0.0.1", ""},
		{"empty entry", "10.0.0.1:80", []string{"203.0.113.7,"}, "", 1, "10.0.0.1", ""},
		{"X-Real-IP not configured: a client bypassing the proxy cannot pick its address", "10.0.0.1:80", nil, "203.0.113.8", 1, "10.0.0.1", ""},
		{"X-Real-IP without X-Forwarded-For", "10.0.0.1:80", nil, "203.0.113.8", 1, "203.0.113.8", "X-Real-IP"},
		{"X-Forwarded-For wins over X-Real-IP", "10.0.0.1:80", []string{"203.0.113.7"}, "6.6.6.6", 1, "203.0.113.7", "X-Real-IP"},
		{"invalid X-Real-IP", "10.0.0.1:80", nil, "nope", 1, "10.0.0.1", "X-Real-IP"},
		{"X-Real-IP ignored with no trusted hop", "192.0.2.1:5000", nil, "203.0.113.8", 0, "192.0.2.1", "X-Real-IP"},
		{"no headers", "10.0.0.1:80", nil, "", 1, "10.0.0.1", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = c.remote
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if c.realIP != "" {
				r.Header.Set("X-Real-IP", c.realIP)
			}
			if got := ClientIP(r, c.hops, c.header); got != c.want {
				t.Fatalf("ClientIP = %q, want %q", got, c.want)
			}
		})
	}
}

// newServer returns a handler limited to 2 requests per 10s per IP. Call
// it inside a synctest bubble: it moves the fake clock half a second past
// a whole second, so the tests can check that Reset rounds up.
func newServer(t *testing.T, hops int) (http.Handler, *int) {
	t.Helper()
	time.Sleep(500 * time.Millisecond)
	l, err := memory.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	served := new(int)
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*served++
		_, _ = w.Write([]byte("{}"))
	})
	rule := Rule{Limiter: l, Limit: ratelimit.Limit{Max: 2, Window: 10 * time.Second}, KeyPrefix: "api:", TrustHops: hops}
	return Middleware(rule, next), served
}

func do(h http.Handler, remote string, xff string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "/apps/1/channels", nil)
	r.RemoteAddr = remote
	if xff != "" {
		r.Header.Set("X-Forwarded-For", xff)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func header(t *testing.T, w *httptest.ResponseRecorder, name, want string) {
	t.Helper()
	if got := w.Header().Get(name); got != want {
		t.Errorf("%s = %q, want %q", name, got, want)
	}
}

func TestMiddleware(t *testing.T) { synctest.Test(t, testMiddleware) }

func testMiddleware(t *testing.T) {
	h, served := newServer(t, 0)
	// The window opened at a whole second plus 0.5 ends 10 s later: rounded up.
	reset := strconv.FormatInt(time.Now().Unix()+11, 10)
	for i, remaining := range []string{"1", "0"} {
		w := do(h, "192.0.2.1:1000", "")
		if w.Code != http.StatusOK || w.Body.String() != "{}" {
			t.Fatalf("request %d: %d %q, want 200 from the handler", i+1, w.Code, w.Body)
		}
		header(t, w, "X-RateLimit-Limit", "2")
		header(t, w, "X-RateLimit-Remaining", remaining)
		header(t, w, "X-RateLimit-Reset", reset)
		header(t, w, "Retry-After", "")
	}

	time.Sleep(2500 * time.Millisecond) // 7.5s before the window ends
	w := do(h, "192.0.2.1:1001", "")
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("third request: status %d, want 429", w.Code)
	}
	if got := w.Body.String(); got != `{"error":"rate limit exceeded, retry later","code":"rate_limited","status":429}` {
		t.Fatalf("429 body = %q", got)
	}
	header(t, w, "Content-Type", "application/json")
	header(t, w, "Retry-After", "8")
	header(t, w, "X-RateLimit-Limit", "2")
	header(t, w, "X-RateLimit-Remaining", "0")
	header(t, w, "X-RateLimit-Reset", reset)
	if *served != 2 {
		t.Fatalf("handler served %d requests, want 2", *served)
	}

	// Another client is not affected, nor is the first forging a header.
	if w := do(h, "192.0.2.2:1000", ""); w.Code != http.StatusOK {
		t.Fatalf("other client: status %d, want 200", w.Code)
	}
	if w := do(h, "192.0.2.1:1000", "198.51.100.1"); w.Code != http.StatusTooManyRequests {
		t.Fatalf("limited client with a forged X-Forwarded-For: status %d, want 429", w.Code)
	}

	time.Sleep(7500 * time.Millisecond)
	if w := do(h, "192.0.2.1:1000", ""); w.Code != http.StatusOK {
		t.Fatalf("after the window: status %d, want 200", w.Code)
	}
}

func TestMiddlewareRetryAfterAtLeastOneSecond(t *testing.T) {
	synctest.Test(t, testMiddlewareRetryAfterAtLeastOneSecond)
}

func testMiddlewareRetryAfterAtLeastOneSecond(t *testing.T) {
	h, _ := newServer(t, 0)
	do(h, "192.0.2.1:1", "")
	do(h, "192.0.2.1:1", "")
	time.Sleep(10*time.Second - time.Millisecond)
	w := do(h, "192.0.2.1:1", "")
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429", w.Code)
	}
	header(t, w, "Retry-After", "1")
}

func TestMiddlewareBehindProxy(t *testing.T) { synctest.Test(t, testMiddlewareBehindProxy) }

func testMiddlewareBehindProxy(t *testing.T) {
	h, _ := newServer(t, 1)
	// Two clients behind one proxy address have separate budgets.
	for range 2 {
		do(h, "10.0.0.1:80", "203.0.113.7")
	}
	if w := do(h, "10.0.0.1:80", "203.0.113.7"); w.Code != http.StatusTooManyRequests {
		t.Fatalf("third request of 203.0.113.7: status %d, want 429", w.Code)
	}
	if w := do(h, "10.0.0.1:80", "203.0.113.8"); w.Code != http.StatusOK {
		t.Fatalf("first request of 203.0.113.8: status %d, want 200", w.Code)
	}
	// Forging an extra entry to the left does not escape the limit.
	if w := do(h, "10.0.0.1:80", "1.2.3.4, 203.0.113.7"); w.Code != http.StatusTooManyRequests {
		t.Fatalf("forged X-Forwarded-For: status %d, want 429", w.Code)
	}
}

// recorder is a Limiter that records the keys it is asked about.
type recorder struct {
	keys []string
	err  error
}

func (r *recorder) Allow(ctx context.Context, key string, l ratelimit.Limit, cost int) (ratelimit.Result, error) {
	r.keys = append(r.keys, key)
	return ratelimit.Result{Allowed: true, Limit: l.Max, Remaining: l.Max - cost, ResetAt: time.Unix(100, 0)}, r.err
}

func TestCheckKey(t *testing.T) {
	rec := &recorder{}
	rule := Rule{Limiter: rec, Limit: ratelimit.Limit{Max: 5, Window: time.Minute}, KeyPrefix: "websocket_connect:"}
	r := httptest.NewRequest(http.MethodGet, "/app/key", nil)
	r.RemoteAddr = "[::ffff:192.0.2.1]:9"
	if !rule.Check(httptest.NewRecorder(), r) {
		t.Fatal("Check = false, want true")
	}
	if len(rec.keys) != 1 || rec.keys[0] != "websocket_connect:192.0.2.1" {
		t.Fatalf("keys = %q, want [websocket_connect:192.0.2.1]", rec.keys)
	}
}

func TestCheckLimiterError(t *testing.T) {
	rule := Rule{Limiter: &recorder{err: errors.New("down")}, Limit: ratelimit.Limit{Max: 5, Window: time.Minute}}
	w := httptest.NewRecorder()
	if rule.Check(w, httptest.NewRequest(http.MethodGet, "/", nil)) {
		t.Fatal("Check = true on a limiter error")
	}
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("limiter error: %d %q, want a 503 JSON answer", w.Code, w.Body)
	}

	// A client that has gone gets no answer at all.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rule.Limiter = &recorder{err: context.Canceled}
	w = httptest.NewRecorder()
	if rule.Check(w, httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx)) {
		t.Fatal("Check = true for a cancelled request")
	}
	if w.Body.Len() != 0 || len(w.Header()) != 0 {
		t.Fatalf("cancelled request got %d %q, want nothing written", w.Code, w.Body)
	}
}

func TestResetHeaderRoundsUp(t *testing.T) {
	for _, c := range []struct {
		at   time.Time
		want int64
	}{
		{time.Unix(100, 0), 100},
		{time.Unix(100, 1), 101},
		{time.Unix(100, 999_999_999), 101},
	} {
		rule := Rule{Limiter: fixed{ratelimit.Result{Allowed: true, Limit: 1, ResetAt: c.at}}, Limit: ratelimit.Limit{Max: 1, Window: time.Second}}
		w := httptest.NewRecorder()
		rule.Check(w, httptest.NewRequest(http.MethodGet, "/", nil))
		header(t, w, "X-RateLimit-Reset", strconv.FormatInt(c.want, 10))
	}
}

type fixed struct{ res ratelimit.Result }

func (f fixed) Allow(context.Context, string, ratelimit.Limit, int) (ratelimit.Result, error) {
	return f.res, nil
}

func BenchmarkMiddleware(b *testing.B) {
	l, err := memory.New(nil)
	if err != nil {
		b.Fatal(err)
	}
	h := Middleware(Rule{Limiter: l, Limit: ratelimit.Limit{Max: 1 << 30, Window: time.Hour}, KeyPrefix: "api:"},
		http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "192.0.2.1:1234"
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}

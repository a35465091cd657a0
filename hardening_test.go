package sockudo_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/appmanager/memory"
	"github.com/sockudo-go/sockudo/internal/auth"
)

// storeProbe counts the lookups that reach the app store and can
// hold lookups of unknown keys until release is closed.
type storeProbe struct {
	appmanager.Manager
	lookups  atomic.Int64
	inFlight atomic.Int64
	peak     atomic.Int64
	hold     chan struct{} // nil: answer at once
}

func (m *storeProbe) enter(ctx context.Context, known bool) {
	m.lookups.Add(1)
	n := m.inFlight.Add(1)
	for p := m.peak.Load(); n > p && !m.peak.CompareAndSwap(p, n); p = m.peak.Load() {
	}
	if m.hold != nil && !known {
		select {
		case <-m.hold:
		case <-ctx.Done():
		}
	}
}

func (m *storeProbe) FindByID(ctx context.Context, id string) (*appmanager.App, error) {
	m.enter(ctx, id == testID)
	defer m.inFlight.Add(-1)
	return m.Manager.FindByID(ctx, id)
}

func (m *storeProbe) FindByKey(ctx context.Context, key string) (*appmanager.App, error) {
	m.enter(ctx, key == testKey)
	defer m.inFlight.Add(-1)
	return m.Manager.FindByKey(ctx, key)
}

func newStoreProbe(t *testing.T) *storeProbe {
	t.Helper()
	m, err := memory.New(testApp())
	if err != nil {
		t.Fatal(err)
	}
	return &storeProbe{Manager: m}
}

// A flood of health checks costs the backends one probe per verdict, not
// one per request, and only GET and HEAD are answered.
func TestHealthFloodProbesOnce(t *testing.T) {
	t.Parallel()
	m := newStoreProbe(t)
	s := newTestServer(t, sockudo.WithAppManager(m))
	var wg sync.WaitGroup
	var bad atomic.Int64
	for range 500 {
		wg.Go(func() {
			res, err := http.Get(s.http.URL + "/up")
			if err != nil || res.StatusCode != 200 {
				bad.Add(1)
			}
			if err == nil {
				res.Body.Close()
			}
		})
	}
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d of 500 health checks failed", bad.Load())
	}
	if n := m.lookups.Load(); n > 1 {
		t.Fatalf("500 health checks within the verdict's lifetime queried the app store %d times, want 1", n)
	}
	res, err := http.Post(s.http.URL+"/up", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /up = %d, want 405", res.StatusCode)
	}
}

// Connections with unknown keys, against an app store that is slow to
// answer, cannot pile up lookups on it: beyond the bound they are told to
// come back later (4100), and an app in use (cached) still connects.
func TestUnknownKeyFloodBoundsStoreLoad(t *testing.T) {
	t.Parallel()
	m := newStoreProbe(t)
	m.hold = make(chan struct{})
	s := newTestServer(t, sockudo.WithAppManager(m))
	s.dial(t, testKey).Close() // the app in use is cached
	const attackers = 150
	codes := make(chan websocket.StatusCode, attackers)
	var wg sync.WaitGroup
	for i := range attackers {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			ws, _, err := websocket.Dial(ctx, fmt.Sprintf("%s/app/unknown-%d?protocol=7", s.ws, i), nil)
			if err != nil {
				codes <- -1
				return
			}
			defer ws.CloseNow()
			for {
				if _, _, err := ws.Read(ctx); err != nil {
					codes <- websocket.CloseStatus(err)
					return
				}
			}
		})
	}
	// Those over the bound are answered while the others still wait.
	overloaded := 0
	deadline := time.After(10 * time.Second)
	for overloaded < attackers-64 {
		select {
		case c := <-codes:
			if c != 4100 {
				t.Fatalf("an unknown key over the bound was closed with %d, want 4100", c)
			}
			overloaded++
		case <-deadline:
			t.Fatalf("only %d connections were turned away while the store was slow", overloaded)
		}
	}
	if p := m.peak.Load(); p > 64 {
		t.Fatalf("%d app store lookups ran at once, want at most 64", p)
	}
	c := s.dial(t, testKey) // the app in use is still served
	c.SubscribeOK(t, testKey, testSecret, "a", "")
	close(m.hold)
	wg.Wait()
}

// A client that sends X-Real-IP straight to a server behind one trusted
// proxy cannot step around the per-IP connection limit by changing it.
func TestForgedRealIPDoesNotBypassRateLimit(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithConnectionRateLimit(sockudo.RateLimit{Max: 2, Window: time.Minute, TrustHops: 1}))
	limited := 0
	for i := range 5 {
		h := http.Header{"X-Real-IP": {fmt.Sprintf("203.0.113.%d", i+1)}}
		if res, _ := getStatus(t, s.http.URL+"/app/"+testKey, h); res.StatusCode == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited != 3 {
		t.Fatalf("%d of 5 attempts with forged X-Real-IP were limited, want 3 (the peer address is the key)", limited)
	}
}

// trickle sends a request head announcing a large body, then one byte of
// it every interval, and returns the status line read back and how long
// it took, or "" if none came within limit.
func trickle(t *testing.T, addr, head string, interval, limit time.Duration) (string, time.Duration) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	status := make(chan string, 1)
	go func() {
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			status <- "error: " + err.Error()
			return
		}
		status <- res.Status
		res.Body.Close()
	}()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	timeout := time.After(limit)
	for {
		select {
		case s := <-status:
			return s, time.Since(start)
		case <-tick.C:
			_, _ = conn.Write([]byte("x"))
		case <-timeout:
			return "", time.Since(start)
		}
	}
}

// An unsigned POST whose body trickles in is answered at once: the
// signature is checked before the body is read, and the answer does not
// wait for the body.
func TestTricklingUnsignedBodyAnsweredAtOnce(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	head := "POST /apps/app-id/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
	status, took := trickle(t, s.http.Listener.Addr().String(), head, 200*time.Millisecond, 5*time.Second)
	if !strings.HasPrefix(status, "401") || took > 2*time.Second {
		t.Fatalf("unsigned trickling POST: status %q after %s, want 401 within 2 s", status, took)
	}
}

// A signed POST whose body trickles in gets 408 once the body timeout is
// over, instead of holding the handler as long as the client likes.
func TestTricklingSignedBodyTimesOut(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithApps(testApp()), sockudo.WithRequestBodyTimeout(500*time.Millisecond))
	q := url.Values{"auth_key": {testKey}, "auth_timestamp": {strconv.FormatInt(time.Now().Unix(), 10)}, "auth_version": {"1.0"}}
	// body_md5 of a body the client never finishes sending
	q.Set("body_md5", "d41d8cd98f00b204e9800998ecf8427e")
	path := "/apps/" + testID + "/events"
	q.Set("auth_signature", signAPI("POST", path, q))
	head := "POST " + path + "?" + q.Encode() + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
	status, took := trickle(t, s.http.Listener.Addr().String(), head, 100*time.Millisecond, 5*time.Second)
	if !strings.HasPrefix(status, "408") || took > 3*time.Second {
		t.Fatalf("signed trickling POST: status %q after %s, want 408 soon after the 500 ms body timeout", status, took)
	}
}

// A client that sends a large body to an endpoint that refuses it early
// (bad signature, too large) reads the status instead of a reset.
func TestEarlyAnswerToLargeBodyIsReadable(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithApps(testApp()), sockudo.WithMaxRequestBody(64<<10))
	body := bytes.Repeat([]byte("x"), 4<<20)
	for i := range 40 {
		path := "/apps/app-id/events"
		if i%2 == 1 {
			q := url.Values{"auth_key": {testKey}, "auth_timestamp": {strconv.FormatInt(time.Now().Unix(), 10)}, "auth_version": {"1.0"}}
			q.Set("auth_signature", signAPI("POST", path, q))
			path += "?" + q.Encode() // signed, but the body is over the limit
		}
		res, err := http.Post(s.http.URL+path, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatalf("request %d: %v, want a 401 or 413 the client can read", i, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if want := []int{401, 413}[i%2]; res.StatusCode != want {
			t.Fatalf("request %d: status %d %s, want %d", i, res.StatusCode, b, want)
		}
	}
}

// signAPI returns the auth_signature of an HTTP API request.
func signAPI(method, path string, q url.Values) string {
	return auth.Sign(testSecret, auth.RequestString(method, path, q))
}

package sockudo_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/appmanager/memory"
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

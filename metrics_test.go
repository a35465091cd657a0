package sockudo_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/internal/testenv"
	"github.com/sockudo-go/sockudo/internal/wstest"
)

// keyManager serves apps by key, failing for the key "broken".
type keyManager map[string]appmanager.App

func (m keyManager) FindByID(_ context.Context, id string) (*appmanager.App, error) {
	for _, a := range m {
		if a.ID == id {
			return &a, nil
		}
	}
	return nil, appmanager.ErrNotFound
}

func (m keyManager) FindByKey(_ context.Context, key string) (*appmanager.App, error) {
	if key == "broken" {
		return nil, errors.New("store down")
	}
	if a, ok := m[key]; ok {
		return &a, nil
	}
	return nil, appmanager.ErrNotFound
}

// Every kind of refusal and protocol error is counted under its type, for
// its app or, before the app is known, for the server.
func TestStatsConnectionErrors(t *testing.T) {
	t.Parallel()
	app := func(id string, edit func(*appmanager.App)) appmanager.App {
		a := appmanager.App{ID: id, Key: id + "-key", Secret: "s", Enabled: true}
		edit(&a)
		return a
	}
	apps := keyManager{}
	for _, a := range []appmanager.App{
		app("main", func(*appmanager.App) {}),
		app("off", func(a *appmanager.App) { a.Enabled = false }),
		app("origin", func(a *appmanager.App) { a.AllowedOrigins = []string{"https://ok.example"} }),
		app("quota", func(a *appmanager.App) { a.MaxConnections = 1 }),
		app("hooked", func(*appmanager.App) {}),
	} {
		apps[a.Key] = a
	}
	s := newTestServer(t, sockudo.WithAppManager(apps), sockudo.WithAppCache(0),
		sockudo.WithMaxConnections(2), sockudo.WithMaxMessageSize(1024),
		sockudo.WithProtocolErrorLimit(2, time.Minute),
		sockudo.WithHooks(sockudo.Hooks{OnConnect: func(_ context.Context, _ *http.Request, so sockudo.Socket) (any, error) {
			if so.AppID == "hooked" {
				return nil, errors.New("no")
			}
			return nil, nil
		}}))
	refused := func(key, query string) {
		t.Helper()
		c := wstest.Dial(t, s.ws, key, &wstest.Options{NoHandshake: true, Query: query})
		c.ExpectClose(t)
	}
	m := s.dial(t, "main-key")
	m.Send(t, strings.Repeat("x", 1025))
	m.ExpectError(t)
	m.Send(t, `{"event":"pusher:signin","data":{"auth":"main-key:bad","user_data":"{\"id\":\"1\"}"}}`)
	m.ExpectError(t)
	m.Send(t, "{") // the third error within the limit of 2 closes
	m.ExpectClose(t)
	refused("nope", "")
	refused("broken", "")
	refused("main-key", "?protocol=99")
	refused("off-key", "")
	refused("origin-key", "")
	refused("hooked-key", "")
	q := wstest.Dial(t, s.ws, "quota-key", nil)
	refused("quota-key", "")
	testenv.Eventually(t, 5*time.Second, "the closed socket's departure", func() bool { return s.Stats().Connections == 1 })
	s.dial(t, "main-key")
	refused("main-key", "") // over the server's 2: the quota socket and this one
	_ = q

	st := s.Stats()
	want := map[string]map[string]uint64{
		"":       {"app_not_found": 1, "app_validation_failed": 1, "unsupported_protocol": 1},
		"off":    {"app_disabled": 1},
		"origin": {"origin_not_allowed": 1},
		"hooked": {"connection_refused": 1},
		"quota":  {"over_quota": 1},
		"main":   {"message_too_large": 1, "invalid_message_format": 1, "authentication_failed": 1, "too_many_errors": 1, "over_capacity": 1},
	}
	for id, errs := range want {
		got := st.ConnectionErrors
		if id != "" {
			got = st.Apps[id].ConnectionErrors
		}
		for typ, n := range got {
			if n != errs[typ] {
				t.Errorf("app %q: %s = %d, want %d", id, typ, n, errs[typ])
			}
		}
		for typ := range errs {
			if _, ok := got[typ]; !ok {
				t.Errorf("app %q: no %s", id, typ)
			}
		}
	}
}

// The inbound budget counts each frame it charges and each it refuses.
func TestStatsInboundLimiter(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithApps(testApp()), sockudo.WithInboundFrameRate(1, 2))
	c := s.dial(t, testKey)
	for range 3 {
		c.Send(t, `{"event":"pusher:ping","data":{}}`)
	}
	c.ExpectClose(t)
	k := sockudo.Limiter{Type: "messages", Context: "websocket"}
	testenv.Eventually(t, 5*time.Second, "the socket's departure", func() bool { return s.Stats().Connections == 0 })
	a := s.Stats().Apps[testID]
	if a.RateLimitChecks[k] != 3 || a.RateLimitTriggered[k] != 1 {
		t.Fatalf("messages limiter: %d checks, %d triggered; want 3 and 1", a.RateLimitChecks[k], a.RateLimitTriggered[k])
	}
}

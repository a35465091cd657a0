package sockudo_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/ratelimit"
	ratelimitmemory "github.com/sockudo-go/sockudo/ratelimit/memory"
)

func TestAppNotFoundMatchesAppManagerSentinel(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	err := s.Trigger(context.Background(), "nope", sockudo.Event{Name: "e", Channels: []string{"a"}, Data: "x"})
	if !errors.Is(err, sockudo.ErrAppNotFound) || !errors.Is(err, appmanager.ErrNotFound) {
		t.Fatalf("Trigger on an unknown app = %v, want ErrAppNotFound and appmanager.ErrNotFound", err)
	}
	if !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("error %q does not name the app id", err)
	}
}

func TestAPIErrorCarriesCode(t *testing.T) {
	t.Parallel()
	off := testApp()
	off.ID, off.Key, off.Enabled = "off", "off-key", false
	s := newTestServer(t, sockudo.WithApps(testApp(), off))
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		appID  string
		ev     sockudo.Event
		status int
		code   string
	}{
		{"bad channel", testID, sockudo.Event{Name: "e", Channels: []string{"bad name"}}, 400, "invalid_input"},
		{"too many channels", testID, sockudo.Event{Name: "e", Channels: make([]string, 101)}, 400, "limit_exceeded"},
		{"data too large", testID, sockudo.Event{Name: "e", Channels: []string{"a"}, Data: strings.Repeat("x", 10<<10+1)}, 413, "payload_too_large"},
		{"bad socket id", testID, sockudo.Event{Name: "e", Channels: []string{"a"}, ExcludeSocketID: "1.x"}, 400, "invalid_input"},
		{"disabled app", "off", sockudo.Event{Name: "e", Channels: []string{"a"}}, 403, "forbidden"},
	} {
		err := s.Trigger(ctx, tt.appID, tt.ev)
		var ae *sockudo.APIError
		if !errors.As(err, &ae) || ae.Status != tt.status || ae.Code != tt.code {
			t.Errorf("%s: Trigger = %v, want status %d code %s", tt.name, err, tt.status, tt.code)
		}
	}
}

func TestRateLimiterPolicyIsOneSwitch(t *testing.T) {
	t.Parallel()
	l, err := ratelimitmemory.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	g := ratelimit.NewGuard(l, nil)
	_, err = sockudo.New(sockudo.WithRateLimiter(g))
	if !errors.Is(err, sockudo.ErrInvalidOption) || !strings.Contains(err.Error(), "WithRateLimiterFailClosed") {
		t.Fatalf("New with a *ratelimit.Guard = %v, want ErrInvalidOption pointing to WithRateLimiterFailClosed", err)
	}
}

func TestSendToUserTakesAnEvent(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	err := s.SendToUser(context.Background(), testID, "42", sockudo.Event{Name: "e", Channels: []string{"a"}})
	var ae *sockudo.APIError
	if !errors.As(err, &ae) || ae.Status != 400 {
		t.Fatalf("SendToUser with a channel = %v, want a 400 APIError", err)
	}
	if err := s.SendToUser(context.Background(), testID, "", sockudo.Event{Name: "e"}); !errors.As(err, &ae) || ae.Status != 400 {
		t.Fatalf("SendToUser with no user id = %v, want a 400 APIError", err)
	}
}

// apiErrorBody is the one JSON shape of every /apps/... answer but 200.
type apiErrorBody struct {
	Error  string `json:"error"`
	Code   string `json:"code"`
	Status int    `json:"status"`
}

func readAPIError(t *testing.T, res *http.Response) apiErrorBody {
	t.Helper()
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var e apiErrorBody
	if err := json.Unmarshal(b, &e); err != nil || e.Error == "" || e.Code == "" || e.Status != res.StatusCode {
		t.Fatalf("status %d body %s is not the API's error shape", res.StatusCode, b)
	}
	return e
}

func TestSeparateHandlers(t *testing.T) {
	t.Parallel()
	srv, err := sockudo.New(sockudo.WithApps(testApp()), sockudo.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	public := http.NewServeMux()
	public.Handle("/app/", srv.WebSocketHandler())
	public.Handle("/healthz", srv.HealthHandler())
	internal := http.NewServeMux()
	internal.Handle("/apps/", srv.APIHandler())
	pub, in := httptest.NewServer(public), httptest.NewServer(internal)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		pub.Close()
		in.Close()
	})

	res, err := http.Get(pub.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("X-Health-Check") != "OK" {
		t.Errorf("health at /healthz: %d %q", res.StatusCode, res.Header.Get("X-Health-Check"))
	}
	// The WebSocket handler serves sockets and nothing else.
	c := (&testServer{Server: srv, ws: "ws" + strings.TrimPrefix(pub.URL, "http")}).dial(t, testKey)
	c.SubscribeOK(t, testKey, testSecret, "a", "")
	if res, err := http.Get(pub.URL + "/apps/app-id/channels"); err != nil || res.StatusCode != 404 {
		t.Errorf("API on the public listener: %v %v, want 404", res.StatusCode, err)
	}
	// The API handler answers on the internal listener, in the API's shape.
	res, err = http.Get(in.URL + "/apps/app-id/channels")
	if err != nil {
		t.Fatal(err)
	}
	if e := readAPIError(t, res); e.Status != 401 || e.Code != "auth_failed" {
		t.Errorf("unsigned API request: %+v, want 401 auth_failed", e)
	}
}

func TestNoHealthAliasAtRoot(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	res, err := http.Get(s.http.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("GET / = %d, want 404: the health check is /up (the standalone server adds /)", res.StatusCode)
	}
}

func TestAPIErrorShapeAfterShutdown(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := http.Post(s.http.URL+"/apps/app-id/events", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	if e := readAPIError(t, res); e.Status != 503 || e.Code != "service_unavailable" || res.Header.Get("Retry-After") == "" {
		t.Errorf("API after shutdown: %+v (Retry-After %q), want 503 service_unavailable with Retry-After", e, res.Header.Get("Retry-After"))
	}
}

func TestAPIErrorShapeWhenRateLimited(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithAPIRateLimit(sockudo.RateLimit{Max: 1, Window: time.Minute}))
	for i := range 2 {
		res, err := http.Get(s.http.URL + "/apps/app-id/channels")
		if err != nil {
			t.Fatal(err)
		}
		e := readAPIError(t, res)
		if i == 1 && (e.Status != 429 || e.Code != "rate_limited" || res.Header.Get("Retry-After") == "") {
			t.Errorf("second request: %+v, want 429 rate_limited with Retry-After", e)
		}
	}
}

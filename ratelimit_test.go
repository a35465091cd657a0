package sockudo_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/internal/testenv"
	"github.com/sockudo-go/sockudo/internal/testproxy"
	redislimit "github.com/sockudo-go/sockudo/ratelimit/redis"
)

func getStatus(t *testing.T, url string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestAPIRateLimit(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithApps(testApp()),
		sockudo.WithAPIRateLimit(sockudo.RateLimit{Max: 3, Window: time.Minute}))
	url := s.http.URL + "/apps/" + testID + "/channels"
	for i := 0; i < 3; i++ {
		resp, _ := getStatus(t, url, nil)
		if resp.StatusCode == http.StatusTooManyRequests {
			t.Fatalf("request %d limited", i+1)
		}
		if got := resp.Header.Get("X-RateLimit-Remaining"); got != strconv.Itoa(2-i) {
			t.Fatalf("X-RateLimit-Remaining %q after %d requests", got, i+1)
		}
	}
	resp, body := getStatus(t, url, nil)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("4th request: %d, want 429", resp.StatusCode)
	}
	for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Reset", "Retry-After"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("429 without %s", h)
		}
	}
	var e struct{ Error, Message string }
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
		t.Fatalf("429 body %q is not a JSON error", body)
	}
}

func TestForwardedForTrust(t *testing.T) {
	t.Parallel()
	for _, hops := range []int{0, 1} {
		t.Run("hops="+strconv.Itoa(hops), func(t *testing.T) {
			s := newTestServer(t, sockudo.WithApps(testApp()),
				sockudo.WithAPIRateLimit(sockudo.RateLimit{Max: 1, Window: time.Minute, TrustHops: hops}))
			url := s.http.URL + "/apps/" + testID + "/channels"
			limited := 0
			for _, ip := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.3"} {
				resp, _ := getStatus(t, url, http.Header{"X-Forwarded-For": []string{ip}})
				if resp.StatusCode == http.StatusTooManyRequests {
					limited++
				}
			}
			if hops == 0 && limited != 2 {
				t.Fatalf("with 0 hops a spoofed X-Forwarded-For escaped the limit: %d of 3 limited", limited)
			}
			if hops == 1 && limited != 0 {
				t.Fatalf("with 1 hop distinct forwarded clients were limited together: %d of 3 limited", limited)
			}
		})
	}
}

func TestConnectionRateLimit(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithApps(testApp()),
		sockudo.WithConnectionRateLimit(sockudo.RateLimit{Max: 2, Window: time.Minute}))
	s.dial(t, testKey)
	s.dial(t, testKey)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, s.ws+"/app/"+testKey+"?protocol=7", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third connection: err %v, response %v; want 429 before the upgrade", err, resp)
	}
}

func TestAppBudgets(t *testing.T) {
	t.Parallel()
	app := testApp()
	app.MaxBackendEventsPerSecond = 2
	app.MaxReadRequestsPerSecond = 1
	s := newTestServer(t, sockudo.WithApps(app))
	ctx := context.Background()
	ev := sockudo.Event{Name: "e", Channels: []string{"c"}, Data: "{}"}
	for i := 0; i < 2; i++ {
		if err := s.Trigger(ctx, testID, ev); err != nil {
			t.Fatal(err)
		}
	}
	var apiErr *sockudo.APIError
	if err := s.Trigger(ctx, testID, ev); !errors.As(err, &apiErr) || apiErr.Status != 429 {
		t.Fatalf("3rd publish in a second = %v, want a 429 APIError", err)
	}
	if _, err := s.Channels(ctx, testID, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Channels(ctx, testID, ""); !errors.As(err, &apiErr) || apiErr.Status != 429 {
		t.Fatalf("2nd read in a second = %v, want a 429 APIError", err)
	}
}

// TestSharedRedisLimit runs two servers on one Redis: their API limit is
// one global budget.
func TestSharedRedisLimit(t *testing.T) {
	t.Parallel()
	url := testenv.Lookup(t, "SOCKUDO_TEST_REDIS_URL")
	prefix := "sockudo_test_rl:" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
	var servers []*testServer
	for i := 0; i < 2; i++ {
		l, err := redislimit.New(redisClient(t, url, ""), &redislimit.Options{Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		servers = append(servers, newTestServer(t, sockudo.WithApps(testApp()), sockudo.WithRateLimiter(l),
			sockudo.WithAPIRateLimit(sockudo.RateLimit{Max: 5, Window: time.Minute})))
	}
	allowed := 0
	for i := 0; i < 10; i++ {
		resp, _ := getStatus(t, servers[i%2].http.URL+"/apps/"+testID+"/channels", nil)
		if resp.StatusCode != http.StatusTooManyRequests {
			allowed++
		}
	}
	if allowed != 5 {
		t.Fatalf("%d of 10 requests allowed across two servers, want 5", allowed)
	}
}

// TestRateLimiterOutage cuts the limiter's Redis: requests are allowed
// (fail open) or refused (fail closed), and the failures are counted.
func TestRateLimiterOutage(t *testing.T) {
	t.Parallel()
	url := testenv.Lookup(t, "SOCKUDO_TEST_REDIS_URL")
	for _, failClosed := range []bool{false, true} {
		t.Run("fail closed="+strconv.FormatBool(failClosed), func(t *testing.T) {
			proxy := testproxy.New(t, redisAddr(t, url))
			l, err := redislimit.New(redisClient(t, url, proxy.Addr()), &redislimit.Options{Prefix: "sockudo_test_outage:" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":", Timeout: 300 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			opts := []sockudo.Option{sockudo.WithApps(testApp()), sockudo.WithRateLimiter(l),
				sockudo.WithAPIRateLimit(sockudo.RateLimit{Max: 100, Window: time.Minute})}
			if failClosed {
				opts = append(opts, sockudo.WithRateLimiterFailClosed())
			}
			s := newTestServer(t, opts...)
			proxy.Cut()
			resp, _ := getStatus(t, s.http.URL+"/apps/"+testID+"/channels", nil)
			limited := resp.StatusCode == http.StatusTooManyRequests
			if limited != failClosed {
				t.Fatalf("during the outage: status %d with fail closed %v", resp.StatusCode, failClosed)
			}
			if n := s.Stats().RateLimiterErrors; n == 0 {
				t.Fatal("the limiter failure was not counted")
			}
			proxy.Restore()
		})
	}
}

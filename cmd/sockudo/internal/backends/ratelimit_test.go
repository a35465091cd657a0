package backends

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/sockudo-go/sockudo/cmd/sockudo/internal/config"
	"github.com/sockudo-go/sockudo/internal/testenv"
	"github.com/sockudo-go/sockudo/ratelimit"
)

func TestOpenRateLimiterOff(t *testing.T) {
	for _, c := range []config.RateLimiter{
		{Enabled: false, Driver: "memory"},
		{Enabled: false, Driver: "unknown"}, // not checked while disabled
		{Enabled: true, Driver: "none"},
	} {
		cfg := config.Default()
		c.APIRateLimit, c.WebSocketRateLimit = cfg.RateLimiter.APIRateLimit, cfg.RateLimiter.WebSocketRateLimit
		cfg.RateLimiter = c
		l, err := openRateLimiter(&cfg, testClients(t))
		if err != nil || l != nil {
			t.Fatalf("%+v: limiter %v, err %v; want none", c, l, err)
		}
	}
}

func TestOpenRateLimiterInvalid(t *testing.T) {
	for _, c := range []struct {
		mutate func(*config.RateLimiter)
		want   string
	}{
		{func(c *config.RateLimiter) { c.Driver = "etcd" }, "RATE_LIMITER_DRIVER"},
		{func(c *config.RateLimiter) { c.APIRateLimit.MaxRequests = 0 }, "rate_limiter.api_rate_limit.max_requests (RATE_LIMITER_API_MAX_REQUESTS)"},
		{func(c *config.RateLimiter) { c.APIRateLimit.WindowSeconds = 0 }, "rate_limiter.api_rate_limit.window_seconds"},
		{func(c *config.RateLimiter) { c.WebSocketRateLimit.MaxRequests = -1 }, "rate_limiter.websocket_rate_limit.max_requests (RATE_LIMITER_WS_MAX_REQUESTS)"},
		{func(c *config.RateLimiter) { c.WebSocketRateLimit.TrustHops = -1 }, "rate_limiter.websocket_rate_limit.trust_hops"},
		{func(c *config.RateLimiter) { c.Driver = "redis-cluster" }, "DATABASE_REDIS_CLUSTER_NODES"},
	} {
		cfg := config.Default()
		cfg.RateLimiter.Enabled = true
		c.mutate(&cfg.RateLimiter)
		_, err := openRateLimiter(&cfg, testClients(t))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("err = %v, want one naming %q", err, c.want)
		}
	}
}

func TestOpenRateLimiterMemory(t *testing.T) {
	cfg := config.Default()
	cfg.RateLimiter.Enabled = true
	cfg.RateLimiter.FailClosed = true
	l, err := openRateLimiter(&cfg, testClients(t))
	if err != nil {
		t.Fatal(err)
	}
	lim := ratelimit.Limit{Max: 1, Window: time.Minute}
	for i, want := range []bool{true, false} {
		res, err := l.Allow(context.Background(), "k", lim, 1)
		if err != nil || res.Allowed != want {
			t.Fatalf("call %d: %+v, %v; want Allowed %v", i, res, err, want)
		}
	}
}

// TestOpenRateLimiterRedis opens the redis and redis-cluster drivers from
// configuration and checks that decisions land under the configured prefix.
func TestOpenRateLimiterRedis(t *testing.T) {
	for _, c := range []struct {
		driver string
		setup  func(t *testing.T, cfg *config.Config) rueidis.ClientOption
	}{
		{"redis", func(t *testing.T, cfg *config.Config) rueidis.ClientOption {
			url := testenv.Lookup(t, "SOCKUDO_TEST_REDIS_URL")
			cfg.Database.Redis.URL = url
			opt, _ := rueidis.ParseURL(url)
			return opt
		}},
		{"redis-cluster", func(t *testing.T, cfg *config.Config) rueidis.ClientOption {
			addrs := strings.Split(testenv.Lookup(t, "SOCKUDO_TEST_REDIS_CLUSTER_ADDRS"), ",")
			cfg.Database.Redis.Cluster.Nodes = addrs
			return rueidis.ClientOption{InitAddress: addrs}
		}},
	} {
		t.Run(c.driver, func(t *testing.T) {
			cfg := config.Default()
			opt := c.setup(t, &cfg)
			b := make([]byte, 4)
			_, _ = rand.Read(b)
			cfg.RateLimiter.Enabled = true
			cfg.RateLimiter.Driver = c.driver
			cfg.RateLimiter.Redis.Prefix = "sockudo_rl_test:" + t.Name() + ":" + hex.EncodeToString(b) + ":"
			l, err := openRateLimiter(&cfg, testClients(t))
			if err != nil {
				t.Fatal(err)
			}

			ctx := context.Background()
			key := cfg.RateLimiter.APIRateLimit.KeyPrefix() + "192.0.2.1"
			lim := ratelimit.Limit{Max: 100, Window: time.Minute}
			if res, err := l.Allow(ctx, key, lim, 1); err != nil || !res.Allowed || res.Remaining != 99 {
				t.Fatalf("Allow = %+v, %v", res, err)
			}
			admin, err := rueidis.NewClient(opt)
			if err != nil {
				t.Fatal(err)
			}
			defer admin.Close()
			full := cfg.RateLimiter.Redis.Prefix + key
			defer admin.Do(ctx, admin.B().Del().Key(full).Build())
			if n, err := admin.Do(ctx, admin.B().Get().Key(full).Build()).AsInt64(); err != nil || n != 1 {
				t.Fatalf("GET %s = %d, %v; want 1", full, n, err)
			}
		})
	}
}

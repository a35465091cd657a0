package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/sockudo-go/sockudo/internal/testenv"
	"github.com/sockudo-go/sockudo/ratelimit"
)

// rateLimiterEnv is an env reading from m.
func rateLimiterEnv(m map[string]string) env {
	return env{lookup: func(k string) (string, bool) { v, ok := m[k]; return v, ok }}
}

func loadRateLimiterConfig(t *testing.T, file string, vars map[string]string) rateLimiterConfig {
	t.Helper()
	path := ""
	if file != "" {
		path = filepath.Join(t.TempDir(), "config.json")
		if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, unknown, err := loadConfig(path, rateLimiterEnv(vars))
	if err != nil {
		t.Fatal(err)
	}
	if len(unknown) != 0 {
		t.Fatalf("unknown config keys %q", unknown)
	}
	return cfg.RateLimiter
}

func TestRateLimiterDefaults(t *testing.T) {
	c := loadRateLimiterConfig(t, "", nil)
	want := rateLimiterConfig{
		Driver:             "memory",
		APIRateLimit:       rateLimitRule{MaxRequests: 100, WindowSeconds: 60, Identifier: "api"},
		WebSocketRateLimit: rateLimitRule{MaxRequests: 20, WindowSeconds: 60, Identifier: "websocket_connect"},
		Redis:              rateLimiterRedisConfig{Prefix: "sockudo_rl:"},
	}
	if c != want {
		t.Fatalf("defaults = %+v\nwant %+v", c, want)
	}
	if got := c.APIRateLimit.Limit(); got != (ratelimit.Limit{Max: 100, Window: time.Minute}) {
		t.Errorf("API Limit() = %+v", got)
	}
	if got := c.WebSocketRateLimit.Limit(); got != (ratelimit.Limit{Max: 20, Window: time.Minute}) {
		t.Errorf("WebSocket Limit() = %+v", got)
	}
	if got := c.APIRateLimit.KeyPrefix(); got != "api:" {
		t.Errorf("API KeyPrefix() = %q", got)
	}
}

func TestRateLimiterEnv(t *testing.T) {
	c := loadRateLimiterConfig(t, "", map[string]string{
		"RATE_LIMITER_ENABLED":            "true",
		"RATE_LIMITER_DRIVER":             "redis-cluster",
		"RATE_LIMITER_API_MAX_REQUESTS":   "500",
		"RATE_LIMITER_API_WINDOW_SECONDS": "30",
		"RATE_LIMITER_API_TRUST_HOPS":     "2",
		"RATE_LIMITER_WS_MAX_REQUESTS":    "7",
		"RATE_LIMITER_WS_WINDOW_SECONDS":  "10",
		"RATE_LIMITER_WS_TRUST_HOPS":      "1",
		"RATE_LIMITER_REDIS_PREFIX":       "myapp_rl:",
		"RATE_LIMITER_FAIL_CLOSED":        "1",
		// The WS names win over the WEBSOCKET ones.
		"RATE_LIMITER_WEBSOCKET_MAX_REQUESTS": "99",
	})
	want := rateLimiterConfig{
		Enabled:            true,
		Driver:             "redis-cluster",
		APIRateLimit:       rateLimitRule{MaxRequests: 500, WindowSeconds: 30, Identifier: "api", TrustHops: 2},
		WebSocketRateLimit: rateLimitRule{MaxRequests: 7, WindowSeconds: 10, Identifier: "websocket_connect", TrustHops: 1},
		Redis:              rateLimiterRedisConfig{Prefix: "myapp_rl:"},
		FailClosed:         true,
	}
	if c != want {
		t.Fatalf("from env = %+v\nwant %+v", c, want)
	}
	if got := c.APIRateLimit.Limit(); got != (ratelimit.Limit{Max: 500, Window: 30 * time.Second}) {
		t.Errorf("API Limit() = %+v", got)
	}
}

func TestRateLimiterWebsocketEnvNames(t *testing.T) {
	c := loadRateLimiterConfig(t, "", map[string]string{
		"RATE_LIMITER_WEBSOCKET_MAX_REQUESTS":   "8",
		"RATE_LIMITER_WEBSOCKET_WINDOW_SECONDS": "9",
		"RATE_LIMITER_WEBSOCKET_TRUST_HOPS":     "3",
	})
	if got, want := c.WebSocketRateLimit, (rateLimitRule{MaxRequests: 8, WindowSeconds: 9, Identifier: "websocket_connect", TrustHops: 3}); got != want {
		t.Fatalf("websocket_rate_limit = %+v, want %+v", got, want)
	}
}

func TestRateLimiterBadEnv(t *testing.T) {
	for name, value := range map[string]string{
		"RATE_LIMITER_ENABLED":          "maybe",
		"RATE_LIMITER_FAIL_CLOSED":      "sometimes",
		"RATE_LIMITER_API_MAX_REQUESTS": "lots",
		"RATE_LIMITER_WS_TRUST_HOPS":    "1.5",
	} {
		_, _, err := loadConfig("", rateLimiterEnv(map[string]string{name: value}))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: err = %v, want an error naming the variable", name, value, err)
		}
	}
}

func TestRateLimiterConfigFile(t *testing.T) {
	const file = `{"rate_limiter": {
		"enabled": true,
		"driver": "redis",
		"api_rate_limit": {"max_requests": 200, "window_seconds": 120, "identifier": "http", "trust_hops": 1},
		"websocket_rate_limit": {"max_requests": 5},
		"redis": {"prefix": "file_rl:", "url_override": "redis://rl:6379/1", "cluster_mode": true},
		"fail_closed": true
	}}`
	c := loadRateLimiterConfig(t, file, nil)
	want := rateLimiterConfig{
		Enabled:            true,
		Driver:             "redis",
		APIRateLimit:       rateLimitRule{MaxRequests: 200, WindowSeconds: 120, Identifier: "http", TrustHops: 1},
		WebSocketRateLimit: rateLimitRule{MaxRequests: 5, WindowSeconds: 60, Identifier: "websocket_connect"},
		Redis:              rateLimiterRedisConfig{Prefix: "file_rl:", URLOverride: "redis://rl:6379/1", ClusterMode: true},
		FailClosed:         true,
	}
	if c != want {
		t.Fatalf("from file = %+v\nwant %+v", c, want)
	}
	if got := c.APIRateLimit.KeyPrefix(); got != "http:" {
		t.Errorf("KeyPrefix() = %q, want http:", got)
	}

	// The environment overrides the file.
	c = loadRateLimiterConfig(t, file, map[string]string{"RATE_LIMITER_API_MAX_REQUESTS": "3", "RATE_LIMITER_ENABLED": "false"})
	if c.APIRateLimit.MaxRequests != 3 || c.Enabled || c.APIRateLimit.WindowSeconds != 120 {
		t.Fatalf("env over file = %+v", c)
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestOpenRateLimiterOff(t *testing.T) {
	for _, c := range []rateLimiterConfig{
		{Enabled: false, Driver: "memory"},
		{Enabled: false, Driver: "unknown"}, // not checked while disabled
		{Enabled: true, Driver: "none"},
	} {
		cfg := defaultConfig()
		c.APIRateLimit, c.WebSocketRateLimit = cfg.RateLimiter.APIRateLimit, cfg.RateLimiter.WebSocketRateLimit
		cfg.RateLimiter = c
		l, closeFn, err := openRateLimiter(context.Background(), &cfg, quietLogger())
		if err != nil || l != nil {
			t.Fatalf("%+v: limiter %v, err %v; want none", c, l, err)
		}
		closeFn()
	}
}

func TestOpenRateLimiterInvalid(t *testing.T) {
	for _, c := range []struct {
		mutate func(*rateLimiterConfig)
		want   string
	}{
		{func(c *rateLimiterConfig) { c.Driver = "etcd" }, "RATE_LIMITER_DRIVER"},
		{func(c *rateLimiterConfig) { c.APIRateLimit.MaxRequests = 0 }, "rate_limiter.api_rate_limit.max_requests (RATE_LIMITER_API_MAX_REQUESTS)"},
		{func(c *rateLimiterConfig) { c.APIRateLimit.WindowSeconds = 0 }, "rate_limiter.api_rate_limit.window_seconds"},
		{func(c *rateLimiterConfig) { c.WebSocketRateLimit.MaxRequests = -1 }, "rate_limiter.websocket_rate_limit.max_requests (RATE_LIMITER_WS_MAX_REQUESTS)"},
		{func(c *rateLimiterConfig) { c.WebSocketRateLimit.TrustHops = -1 }, "rate_limiter.websocket_rate_limit.trust_hops"},
		{func(c *rateLimiterConfig) { c.Driver = "redis-cluster" }, "DATABASE_REDIS_CLUSTER_NODES"},
	} {
		cfg := defaultConfig()
		cfg.RateLimiter.Enabled = true
		c.mutate(&cfg.RateLimiter)
		_, _, err := openRateLimiter(context.Background(), &cfg, quietLogger())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("err = %v, want one naming %q", err, c.want)
		}
	}
}

func TestOpenRateLimiterMemory(t *testing.T) {
	cfg := defaultConfig()
	cfg.RateLimiter.Enabled = true
	cfg.RateLimiter.FailClosed = true
	l, closeFn, err := openRateLimiter(context.Background(), &cfg, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	if _, ok := l.(*ratelimit.Guard); !ok {
		t.Fatalf("limiter is %T, want a *ratelimit.Guard", l)
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
		setup  func(t *testing.T, cfg *Config) rueidis.ClientOption
	}{
		{"redis", func(t *testing.T, cfg *Config) rueidis.ClientOption {
			url := testenv.Lookup(t, "SOCKUDO_TEST_REDIS_URL")
			cfg.Database.Redis.URL = url
			opt, _ := rueidis.ParseURL(url)
			return opt
		}},
		{"redis-cluster", func(t *testing.T, cfg *Config) rueidis.ClientOption {
			addrs := strings.Split(testenv.Lookup(t, "SOCKUDO_TEST_REDIS_CLUSTER_ADDRS"), ",")
			cfg.Database.Redis.Cluster.Nodes = addrs
			return rueidis.ClientOption{InitAddress: addrs}
		}},
	} {
		t.Run(c.driver, func(t *testing.T) {
			cfg := defaultConfig()
			opt := c.setup(t, &cfg)
			b := make([]byte, 4)
			_, _ = rand.Read(b)
			cfg.RateLimiter.Enabled = true
			cfg.RateLimiter.Driver = c.driver
			cfg.RateLimiter.Redis.Prefix = "sockudo_rl_test:" + t.Name() + ":" + hex.EncodeToString(b) + ":"
			l, closeFn, err := openRateLimiter(context.Background(), &cfg, quietLogger())
			if err != nil {
				t.Fatal(err)
			}
			defer closeFn()

			ctx := context.Background()
			key := cfg.RateLimiter.APIRateLimit.KeyPrefix() + "192.0.2.1"
			if res, err := l.Allow(ctx, key, cfg.RateLimiter.APIRateLimit.Limit(), 1); err != nil || !res.Allowed || res.Remaining != 99 {
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
			if s := l.(*ratelimit.Guard).Stats(); s.Errors != 0 {
				t.Fatalf("Guard stats %+v, want no errors", s)
			}
		})
	}
}

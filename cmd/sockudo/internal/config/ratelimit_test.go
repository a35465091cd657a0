package config

import (
	"strings"
	"testing"
)

func loadRateLimiterConfig(t *testing.T, file string, vars map[string]string) RateLimiter {
	t.Helper()
	path := ""
	if file != "" {
		path = writeConfig(t, file)
	}
	cfg, unknown, err := Load(path, mapEnv(vars))
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
	want := RateLimiter{
		Driver:             "memory",
		APIRateLimit:       RateLimitRule{MaxRequests: 100, WindowSeconds: 60, Identifier: "api"},
		WebSocketRateLimit: RateLimitRule{MaxRequests: 20, WindowSeconds: 60, Identifier: "websocket_connect"},
		Redis:              RateLimiterRedis{Prefix: "sockudo_rl:"},
	}
	if c != want {
		t.Fatalf("defaults = %+v\nwant %+v", c, want)
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
	want := RateLimiter{
		Enabled:            true,
		Driver:             "redis-cluster",
		APIRateLimit:       RateLimitRule{MaxRequests: 500, WindowSeconds: 30, Identifier: "api", TrustHops: 2},
		WebSocketRateLimit: RateLimitRule{MaxRequests: 7, WindowSeconds: 10, Identifier: "websocket_connect", TrustHops: 1},
		Redis:              RateLimiterRedis{Prefix: "myapp_rl:"},
		FailClosed:         true,
	}
	if c != want {
		t.Fatalf("from env = %+v\nwant %+v", c, want)
	}
}

func TestRateLimiterWebsocketEnvNames(t *testing.T) {
	c := loadRateLimiterConfig(t, "", map[string]string{
		"RATE_LIMITER_WEBSOCKET_MAX_REQUESTS":   "8",
		"RATE_LIMITER_WEBSOCKET_WINDOW_SECONDS": "9",
		"RATE_LIMITER_WEBSOCKET_TRUST_HOPS":     "3",
	})
	if got, want := c.WebSocketRateLimit, (RateLimitRule{MaxRequests: 8, WindowSeconds: 9, Identifier: "websocket_connect", TrustHops: 3}); got != want {
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
		_, _, err := Load("", mapEnv(map[string]string{name: value}))
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
	want := RateLimiter{
		Enabled:            true,
		Driver:             "redis",
		APIRateLimit:       RateLimitRule{MaxRequests: 200, WindowSeconds: 120, Identifier: "http", TrustHops: 1},
		WebSocketRateLimit: RateLimitRule{MaxRequests: 5, WindowSeconds: 60, Identifier: "websocket_connect"},
		Redis:              RateLimiterRedis{Prefix: "file_rl:", URLOverride: "redis://rl:6379/1", ClusterMode: true},
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

package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/redis/rueidis"

	"github.com/sockudo-go/sockudo/ratelimit"
	"github.com/sockudo-go/sockudo/ratelimit/memory"
	redislimit "github.com/sockudo-go/sockudo/ratelimit/redis"
)

// rateLimiterConfig is the "rate_limiter" section: per-client-IP limits on
// the HTTP API and on WebSocket connection attempts.
type rateLimiterConfig struct {
	Enabled bool `json:"enabled"`
	// Driver is memory, redis, redis-cluster or none.
	Driver             string                 `json:"driver"`
	APIRateLimit       rateLimitRule          `json:"api_rate_limit"`
	WebSocketRateLimit rateLimitRule          `json:"websocket_rate_limit"`
	Redis              rateLimiterRedisConfig `json:"redis"`
	// FailClosed denies requests while the limiter's backend is down;
	// by default they are allowed. Not in Sockudo's schema.
	FailClosed bool `json:"fail_closed"`
}

// rateLimitRule is one of Sockudo's RateLimit objects.
type rateLimitRule struct {
	MaxRequests   int `json:"max_requests"`
	WindowSeconds int `json:"window_seconds"`
	// Identifier names the rule; it prefixes the limiter keys
	// (identifier + ":" + client IP).
	Identifier string `json:"identifier"`
	// TrustHops is the number of reverse proxies whose X-Forwarded-For
	// entries are trusted; 0 uses the peer address.
	TrustHops int `json:"trust_hops"`
}

// Limit is the rule's budget per client IP.
func (r rateLimitRule) Limit() ratelimit.Limit {
	return ratelimit.Limit{Max: r.MaxRequests, Window: seconds(r.WindowSeconds)}
}

// KeyPrefix is what the rule's limiter keys start with.
func (r rateLimitRule) KeyPrefix() string { return r.Identifier + ":" }

// rateLimiterRedisConfig is rate_limiter.redis.
type rateLimiterRedisConfig struct {
	Prefix string `json:"prefix"`
	// URLOverride, if set, is a Redis URL used instead of database.redis.
	URLOverride string `json:"url_override"`
	// ClusterMode makes the redis driver use database.redis.cluster, like
	// driver redis-cluster.
	ClusterMode bool `json:"cluster_mode"`
}

func defaultRateLimiterConfig() rateLimiterConfig {
	return rateLimiterConfig{
		Driver:             "memory",
		APIRateLimit:       rateLimitRule{MaxRequests: 100, WindowSeconds: 60, Identifier: "api"},
		WebSocketRateLimit: rateLimitRule{MaxRequests: 20, WindowSeconds: 60, Identifier: "websocket_connect"},
		Redis:              rateLimiterRedisConfig{Prefix: redislimit.DefaultPrefix},
	}
}

func (c *rateLimiterConfig) applyEnv(e env) error {
	if err := e.boolean(&c.Enabled, "RATE_LIMITER_ENABLED"); err != nil {
		return err
	}
	e.str(&c.Driver, "RATE_LIMITER_DRIVER")
	e.str(&c.Redis.Prefix, "RATE_LIMITER_REDIS_PREFIX")
	if err := e.boolean(&c.FailClosed, "RATE_LIMITER_FAIL_CLOSED"); err != nil {
		return err
	}
	// Sockudo's documentation spells the WebSocket variables with both
	// WS and WEBSOCKET; both are read, WS first.
	for _, f := range []struct {
		dst   *int
		names []string
	}{
		{&c.APIRateLimit.MaxRequests, []string{"RATE_LIMITER_API_MAX_REQUESTS"}},
		{&c.APIRateLimit.WindowSeconds, []string{"RATE_LIMITER_API_WINDOW_SECONDS"}},
		{&c.APIRateLimit.TrustHops, []string{"RATE_LIMITER_API_TRUST_HOPS"}},
		{&c.WebSocketRateLimit.MaxRequests, []string{"RATE_LIMITER_WS_MAX_REQUESTS", "RATE_LIMITER_WEBSOCKET_MAX_REQUESTS"}},
		{&c.WebSocketRateLimit.WindowSeconds, []string{"RATE_LIMITER_WS_WINDOW_SECONDS", "RATE_LIMITER_WEBSOCKET_WINDOW_SECONDS"}},
		{&c.WebSocketRateLimit.TrustHops, []string{"RATE_LIMITER_WS_TRUST_HOPS", "RATE_LIMITER_WEBSOCKET_TRUST_HOPS"}},
	} {
		if err := e.integer(f.dst, f.names...); err != nil {
			return err
		}
	}
	return nil
}

// validate checks the section when rate limiting is enabled; errors name
// the option and its environment variable.
func (c *rateLimiterConfig) validate() error {
	if !c.Enabled {
		return nil
	}
	for _, r := range []struct {
		rule *rateLimitRule
		key  string
		env  string
	}{
		{&c.APIRateLimit, "api_rate_limit", "API"},
		{&c.WebSocketRateLimit, "websocket_rate_limit", "WS"},
	} {
		switch {
		case r.rule.MaxRequests < 1:
			return fmt.Errorf("rate_limiter.%s.max_requests (RATE_LIMITER_%s_MAX_REQUESTS) is %d, want at least 1", r.key, r.env, r.rule.MaxRequests)
		case r.rule.WindowSeconds < 1:
			return fmt.Errorf("rate_limiter.%s.window_seconds (RATE_LIMITER_%s_WINDOW_SECONDS) is %d, want at least 1", r.key, r.env, r.rule.WindowSeconds)
		case r.rule.TrustHops < 0:
			return fmt.Errorf("rate_limiter.%s.trust_hops (RATE_LIMITER_%s_TRUST_HOPS) is %d, want 0 or more", r.key, r.env, r.rule.TrustHops)
		}
	}
	return nil
}

// openRateLimiter builds the limiter that cfg.RateLimiter.Driver names,
// wrapped in a *ratelimit.Guard (fail open unless fail_closed; its Stats
// count backend failures); nil means rate limiting is off. The limits and
// trust hops to apply are cfg.RateLimiter.APIRateLimit and
// WebSocketRateLimit.
func openRateLimiter(ctx context.Context, cfg *Config, log *slog.Logger) (ratelimit.Limiter, func(), error) {
	c := &cfg.RateLimiter
	if !c.Enabled || c.Driver == "none" {
		return nil, func() {}, nil
	}
	if err := c.validate(); err != nil {
		return nil, nil, err
	}
	var (
		l       ratelimit.Limiter
		closeFn = func() {}
	)
	switch c.Driver {
	case "memory":
		m, err := memory.New(nil)
		if err != nil {
			return nil, nil, err
		}
		l = m
	case "redis", "redis-cluster":
		cluster := c.Driver == "redis-cluster" || c.Redis.ClusterMode
		redisCfg := cfg.Database.Redis
		if c.Redis.URLOverride != "" && !cluster {
			redisCfg.URL = c.Redis.URLOverride
		}
		opt, err := redisCfg.clientOption(cluster)
		if err != nil {
			return nil, nil, fmt.Errorf("rate_limiter: %w", err)
		}
		client, err := rueidis.NewClient(opt)
		if err != nil {
			return nil, nil, fmt.Errorf("rate_limiter.driver %s: connect: %w", c.Driver, err)
		}
		r, err := redislimit.New(client, &redislimit.Options{Prefix: c.Redis.Prefix})
		if err != nil {
			client.Close()
			return nil, nil, err
		}
		l, closeFn = r, client.Close
	default:
		return nil, nil, fmt.Errorf("rate_limiter.driver (RATE_LIMITER_DRIVER) %q is not one of memory, redis, redis-cluster, none", c.Driver)
	}
	return ratelimit.NewGuard(l, &ratelimit.GuardOptions{FailClosed: c.FailClosed, Logger: log}), closeFn, nil
}

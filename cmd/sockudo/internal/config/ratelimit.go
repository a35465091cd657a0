package config

import (
	"fmt"

	redislimit "github.com/sockudo-go/sockudo/ratelimit/redis"
)

// RateLimiter is the "rate_limiter" section: per-client-IP limits on the
// HTTP API and on WebSocket connection attempts.
type RateLimiter struct {
	Enabled bool `json:"enabled"`
	// Driver is memory, redis, redis-cluster or none.
	Driver             string           `json:"driver"`
	APIRateLimit       RateLimitRule    `json:"api_rate_limit"`
	WebSocketRateLimit RateLimitRule    `json:"websocket_rate_limit"`
	Redis              RateLimiterRedis `json:"redis"`
	// FailClosed denies requests while the limiter's backend is down;
	// by default they are allowed. Not in Sockudo's schema.
	FailClosed bool `json:"fail_closed"`
}

// RateLimitRule is one of Sockudo's RateLimit objects.
type RateLimitRule struct {
	MaxRequests   int `json:"max_requests"`
	WindowSeconds int `json:"window_seconds"`
	// Identifier names the rule; it prefixes the limiter keys
	// (identifier + ":" + client IP).
	Identifier string `json:"identifier"`
	// TrustHops is the number of reverse proxies whose X-Forwarded-For
	// entries are trusted; 0 uses the peer address.
	TrustHops int `json:"trust_hops"`
}

// KeyPrefix is what the rule's limiter keys start with.
func (r RateLimitRule) KeyPrefix() string { return r.Identifier + ":" }

// RateLimiterRedis is rate_limiter.redis.
type RateLimiterRedis struct {
	Prefix string `json:"prefix"`
	// URLOverride, if set, is a Redis URL used instead of database.redis.
	URLOverride string `json:"url_override"`
	// ClusterMode makes the redis driver use database.redis.cluster, like
	// driver redis-cluster.
	ClusterMode bool `json:"cluster_mode"`
}

func defaultRateLimiterConfig() RateLimiter {
	return RateLimiter{
		Driver:             "memory",
		APIRateLimit:       RateLimitRule{MaxRequests: 100, WindowSeconds: 60, Identifier: "api"},
		WebSocketRateLimit: RateLimitRule{MaxRequests: 20, WindowSeconds: 60, Identifier: "websocket_connect"},
		Redis:              RateLimiterRedis{Prefix: redislimit.DefaultPrefix},
	}
}

func (c *RateLimiter) applyEnv(e env) error {
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

// Validate checks the section when rate limiting is enabled; errors name
// the option and its environment variable.
func (c *RateLimiter) Validate() error {
	if !c.Enabled {
		return nil
	}
	for _, r := range []struct {
		rule *RateLimitRule
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

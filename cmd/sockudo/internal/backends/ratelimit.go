package backends

import (
	"fmt"

	"github.com/sockudo-go/sockudo/cmd/sockudo/internal/config"
	"github.com/sockudo-go/sockudo/ratelimit"
	"github.com/sockudo-go/sockudo/ratelimit/memory"
	redislimit "github.com/sockudo-go/sockudo/ratelimit/redis"
)

// openRateLimiter builds the limiter that cfg.RateLimiter.Driver names,
// taking its Redis client from clients; nil means rate limiting is off.
// The server guards it (fail open unless fail_closed, see
// rateLimitOptions). The limits and trust hops to apply are
// cfg.RateLimiter.APIRateLimit and WebSocketRateLimit.
func openRateLimiter(cfg *config.Config, clients *redisClients) (ratelimit.Limiter, error) {
	c := &cfg.RateLimiter
	if !c.Enabled || c.Driver == "none" {
		return nil, nil
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	switch c.Driver {
	case "memory":
		return memory.New(nil)
	case "redis", "redis-cluster":
		cluster := c.Driver == "redis-cluster" || c.Redis.ClusterMode
		opt, err := redisOption(&cfg.Database.Redis, cluster, c.Redis.URLOverride, "rate_limiter.redis.url_override")
		if err != nil {
			return nil, fmt.Errorf("rate_limiter: %w", err)
		}
		client, err := clients.client(opt)
		if err != nil {
			return nil, fmt.Errorf("rate_limiter.driver %s: %w", c.Driver, err)
		}
		l, err := redislimit.New(client, &redislimit.Options{Prefix: c.Redis.Prefix})
		if err != nil {
			return nil, fmt.Errorf("rate_limiter.redis: %w", err)
		}
		return l, nil
	default:
		return nil, fmt.Errorf("rate_limiter.driver (RATE_LIMITER_DRIVER) %q is not one of memory, redis, redis-cluster, none", c.Driver)
	}
}

package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/sockudo-go/sockudo/ratelimit"
)

// rateLimiterConfig is the "rate_limiter" section.
type rateLimiterConfig struct {
	Enabled bool   `json:"enabled"`
	Driver  string `json:"driver"`
}

func defaultRateLimiterConfig() rateLimiterConfig { return rateLimiterConfig{Driver: "memory"} }

func (c *rateLimiterConfig) applyEnv(e env) error {
	if err := e.boolean(&c.Enabled, "RATE_LIMITER_ENABLED"); err != nil {
		return err
	}
	e.str(&c.Driver, "RATE_LIMITER_DRIVER")
	return nil
}

// openRateLimiter builds the limiter that cfg.RateLimiter.Driver names; nil
// means rate limiting is off.
func openRateLimiter(ctx context.Context, cfg *Config, log *slog.Logger) (ratelimit.Limiter, func(), error) {
	if !cfg.RateLimiter.Enabled {
		return nil, func() {}, nil
	}
	switch cfg.RateLimiter.Driver {
	default:
		return nil, nil, fmt.Errorf("rate_limiter.driver (RATE_LIMITER_DRIVER) %q is not one of memory, redis, redis-cluster", cfg.RateLimiter.Driver)
	}
}

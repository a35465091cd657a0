package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/sockudo-go/sockudo/cache"
)

// cacheConfig is the "cache" section.
type cacheConfig struct {
	Driver string `json:"driver"`
}

func defaultCacheConfig() cacheConfig { return cacheConfig{Driver: "memory"} }

func (c *cacheConfig) applyEnv(e env) error {
	e.str(&c.Driver, "CACHE_DRIVER")
	return nil
}

// openCache builds the cache that cfg.Cache.Driver names; nil means the
// server's built-in memory cache.
func openCache(ctx context.Context, cfg *Config, log *slog.Logger) (cache.Cache, func(), error) {
	switch cfg.Cache.Driver {
	case "", "memory":
		return nil, func() {}, nil
	default:
		return nil, nil, fmt.Errorf("cache.driver (CACHE_DRIVER) %q is not one of memory, redis, redis-cluster, none", cfg.Cache.Driver)
	}
}

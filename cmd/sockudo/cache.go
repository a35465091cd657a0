package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/redis/rueidis"

	"github.com/sockudo-go/sockudo/cache"
	"github.com/sockudo-go/sockudo/cache/memory"
	"github.com/sockudo-go/sockudo/cache/none"
	rediscache "github.com/sockudo-go/sockudo/cache/redis"
)

// cacheConfig is the "cache" section: which cache backs cache channels and
// the server's other shared state.
type cacheConfig struct {
	// Driver is memory, redis, redis-cluster or none.
	Driver string            `json:"driver"`
	Memory memoryCacheConfig `json:"memory"`
	Redis  redisCacheConfig  `json:"redis"`
}

// memoryCacheConfig is cache.memory.
type memoryCacheConfig struct {
	// TTL is the expiry, in seconds, of entries stored without one. The
	// redis drivers use it too, so no driver keeps such entries forever.
	// Zero means they never expire.
	TTL int `json:"ttl"`
	// CleanupInterval is how often, in seconds, expired entries are swept
	// out of memory; zero turns the sweep off.
	CleanupInterval int `json:"cleanup_interval"`
	// MaxCapacity bounds the number of entries; the least recently used
	// goes first.
	MaxCapacity int `json:"max_capacity"`
}

// redisCacheConfig is cache.redis. The connection itself comes from
// database.redis.
type redisCacheConfig struct {
	// Prefix is put before every cache key.
	Prefix string `json:"prefix"`
	// URLOverride, if set, is a redis:// URL used instead of
	// database.redis for the cache alone.
	URLOverride string `json:"url_override"`
	// ClusterMode makes driver "redis" connect to database.redis.cluster
	// as "redis-cluster" does.
	ClusterMode bool `json:"cluster_mode"`
}

func defaultCacheConfig() cacheConfig {
	return cacheConfig{
		Driver: "memory",
		Memory: memoryCacheConfig{TTL: 300, CleanupInterval: 60, MaxCapacity: 10000},
		Redis:  redisCacheConfig{Prefix: rediscache.DefaultPrefix},
	}
}

func (c *cacheConfig) applyEnv(e env) error {
	e.str(&c.Driver, "CACHE_DRIVER")
	for _, f := range []struct {
		dst  *int
		name string
	}{
		{&c.Memory.TTL, "CACHE_TTL_SECONDS"},
		{&c.Memory.CleanupInterval, "CACHE_CLEANUP_INTERVAL"},
		{&c.Memory.MaxCapacity, "CACHE_MAX_CAPACITY"},
	} {
		if err := e.integer(f.dst, f.name); err != nil {
			return err
		}
	}
	return nil
}

// driver returns the normalised driver name.
func (c *cacheConfig) driver() string {
	d := strings.ToLower(strings.TrimSpace(c.Driver))
	if d == "" {
		return "memory"
	}
	return d
}

// validate checks the section, naming the option at fault.
func (c *cacheConfig) validate() error {
	switch c.driver() {
	case "memory", "redis", "redis-cluster", "none":
	default:
		return fmt.Errorf("cache.driver (CACHE_DRIVER) %q is not one of memory, redis, redis-cluster, none", c.Driver)
	}
	switch {
	case c.Memory.TTL < 0:
		return fmt.Errorf("cache.memory.ttl (CACHE_TTL_SECONDS) %d is negative", c.Memory.TTL)
	case c.Memory.CleanupInterval < 0:
		return fmt.Errorf("cache.memory.cleanup_interval (CACHE_CLEANUP_INTERVAL) %d is negative", c.Memory.CleanupInterval)
	case c.Memory.MaxCapacity < 1:
		return fmt.Errorf("cache.memory.max_capacity (CACHE_MAX_CAPACITY) %d is not positive", c.Memory.MaxCapacity)
	}
	return nil
}

// redisOption returns the rueidis options for the redis drivers: the
// cluster in db.Cluster for redis-cluster or cluster_mode, else the URL
// override, else database.redis.
func (c *cacheConfig) redisOption(db *redisConfig) (rueidis.ClientOption, error) {
	if c.driver() == "redis-cluster" || c.Redis.ClusterMode {
		return db.clientOption(true)
	}
	if c.Redis.URLOverride != "" {
		opt, err := rueidis.ParseURL(c.Redis.URLOverride)
		if err != nil {
			return rueidis.ClientOption{}, fmt.Errorf("cache.redis.url_override: %w", redactURLError(err))
		}
		return opt, nil
	}
	return db.clientOption(false)
}

// openCache builds the cache that cfg.Cache names. The returned function
// releases what it opened: the memory cache's sweep, or the Redis client.
func openCache(ctx context.Context, cfg *Config, log *slog.Logger) (cache.Cache, func(), error) {
	cc := &cfg.Cache
	if err := cc.validate(); err != nil {
		return nil, nil, err
	}
	ttl := seconds(cc.Memory.TTL)
	switch d := cc.driver(); d {
	case "memory":
		interval := seconds(cc.Memory.CleanupInterval)
		if interval == 0 {
			interval = -1 // memory.Options: below zero turns the sweep off
		}
		c := memory.New(&memory.Options{
			MaxItems:        cc.Memory.MaxCapacity,
			DefaultTTL:      ttl,
			CleanupInterval: interval,
		})
		return c, func() { c.Close() }, nil
	case "none":
		return none.New(), func() {}, nil
	default: // redis, redis-cluster
		opt, err := cc.redisOption(&cfg.Database.Redis)
		if err != nil {
			return nil, nil, err
		}
		client, err := rueidis.NewClient(opt)
		if err != nil {
			return nil, nil, fmt.Errorf("cache.driver %s: connect to Redis %v: %w", d, opt.InitAddress, err)
		}
		c, err := rediscache.New(client, &rediscache.Options{
			Prefix:     cc.Redis.Prefix,
			DefaultTTL: ttl,
			Logger:     log,
		})
		if err != nil {
			client.Close()
			return nil, nil, fmt.Errorf("cache.redis: %w", err)
		}
		return c, client.Close, nil
	}
}

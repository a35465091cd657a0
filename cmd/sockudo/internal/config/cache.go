package config

import (
	"fmt"
	"strings"

	rediscache "github.com/sockudo-go/sockudo/cache/redis"
)

// Cache is the "cache" section: which cache backs cache channels and the
// server's other shared state.
type Cache struct {
	// Driver is memory, redis, redis-cluster or none, in any case.
	Driver string      `json:"driver"`
	Memory MemoryCache `json:"memory"`
	Redis  RedisCache  `json:"redis"`
}

// MemoryCache is cache.memory.
type MemoryCache struct {
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

// RedisCache is cache.redis. The connection itself comes from
// database.redis.
type RedisCache struct {
	// Prefix is put before every cache key.
	Prefix string `json:"prefix"`
	// URLOverride, if set, is a redis:// URL used instead of
	// database.redis for the cache alone.
	URLOverride string `json:"url_override"`
	// ClusterMode makes driver "redis" connect to database.redis.cluster
	// as "redis-cluster" does.
	ClusterMode bool `json:"cluster_mode"`
}

func defaultCacheConfig() Cache {
	return Cache{
		Driver: "memory",
		Memory: MemoryCache{TTL: 300, CleanupInterval: 60, MaxCapacity: 10000},
		Redis:  RedisCache{Prefix: rediscache.DefaultPrefix},
	}
}

func (c *Cache) applyEnv(e env) error {
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

// DriverName returns Driver in lower case, memory when empty.
func (c *Cache) DriverName() string { return driverName(c.Driver) }

// driverName normalises a driver setting: lower case, memory when empty.
func driverName(d string) string {
	d = strings.ToLower(strings.TrimSpace(d))
	if d == "" {
		return "memory"
	}
	return d
}

// Validate checks the section, naming the option at fault.
func (c *Cache) Validate() error {
	switch c.DriverName() {
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

package backends

import (
	"fmt"
	"log/slog"

	"github.com/redis/rueidis"

	"github.com/sockudo-go/sockudo/cache"
	"github.com/sockudo-go/sockudo/cache/memory"
	"github.com/sockudo-go/sockudo/cache/none"
	rediscache "github.com/sockudo-go/sockudo/cache/redis"
	"github.com/sockudo-go/sockudo/cmd/sockudo/internal/config"
)

// cacheRedisOption returns the rueidis options for the cache's redis
// drivers: the cluster in database.redis.cluster for redis-cluster or
// cluster_mode, else the URL override, else database.redis.
func cacheRedisOption(cc *config.Cache, db *config.Redis) (rueidis.ClientOption, error) {
	cluster := cc.DriverName() == "redis-cluster" || cc.Redis.ClusterMode
	return redisOption(db, cluster, cc.Redis.URLOverride, "cache.redis.url_override")
}

// openCache builds the cache that cfg.Cache names, taking its Redis client
// from clients. The returned function releases what the cache itself holds
// (the memory cache's sweep); clients closes the Redis client.
func openCache(cfg *config.Config, clients *redisClients, log *slog.Logger) (cache.Cache, func(), error) {
	cc := &cfg.Cache
	if err := cc.Validate(); err != nil {
		return nil, nil, err
	}
	ttl := config.Seconds(cc.Memory.TTL)
	switch d := cc.DriverName(); d {
	case "memory":
		interval := config.Seconds(cc.Memory.CleanupInterval)
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
		opt, err := cacheRedisOption(cc, &cfg.Database.Redis)
		if err != nil {
			return nil, nil, err
		}
		client, err := clients.client(opt)
		if err != nil {
			return nil, nil, fmt.Errorf("cache.driver %s: %w", d, err)
		}
		c, err := rediscache.New(client, &rediscache.Options{
			Prefix:     cc.Redis.Prefix,
			DefaultTTL: ttl,
			Logger:     log,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("cache.redis: %w", err)
		}
		return c, func() {}, nil
	}
}

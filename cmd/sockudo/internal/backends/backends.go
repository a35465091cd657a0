// Package backends opens the drivers that the standalone server's
// configuration names (app manager, cache, webhook queue, rate limiter)
// and turns them into sockudo options. Drivers that name the same Redis
// share one rueidis client, opened here and closed once by Close.
package backends

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/cache"
	"github.com/sockudo-go/sockudo/cmd/sockudo/internal/config"
	"github.com/sockudo-go/sockudo/queue"
	"github.com/sockudo-go/sockudo/ratelimit"
)

// Backends holds the drivers opened for one configuration.
type Backends struct {
	cfg     *config.Config
	apps    appmanager.Manager
	cache   cache.Cache
	queue   queue.Queue
	limiter ratelimit.Limiter // nil when rate limiting is off
	redis   *redisClients
	closers []func()
}

// Open opens the drivers that cfg names. On error it closes what it had
// opened; otherwise the caller calls Close after the server has shut down.
func Open(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Backends, error) {
	return open(ctx, cfg, log, newRedisClients())
}

func open(ctx context.Context, cfg *config.Config, log *slog.Logger, clients *redisClients) (*Backends, error) {
	if cfg.Adapter.Driver != "" && cfg.Adapter.Driver != "local" {
		return nil, fmt.Errorf("adapter.driver (ADAPTER_DRIVER) %q: this version runs a single node; only \"local\" is supported", cfg.Adapter.Driver)
	}
	if err := cfg.Webhooks.Validate(); err != nil {
		return nil, err
	}
	b := &Backends{cfg: cfg, redis: clients}
	if err := b.open(ctx, log); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

func (b *Backends) open(ctx context.Context, log *slog.Logger) error {
	var closeFn func()
	var err error
	if b.apps, closeFn, err = openAppManager(ctx, b.cfg, log); err != nil {
		return err
	}
	b.closers = append(b.closers, closeFn)
	if err := seedApps(ctx, b.apps, b.cfg, log); err != nil {
		return err
	}
	logConfigApps(ctx, b.cfg, log)
	b.apps = newLimitedApps(b.apps, b.cfg, log)
	if b.cache, closeFn, err = openCache(b.cfg, b.redis, log); err != nil {
		return err
	}
	b.closers = append(b.closers, closeFn)
	if b.queue, closeFn, err = openQueue(ctx, b.cfg, b.redis, log); err != nil {
		return err
	}
	b.closers = append(b.closers, closeFn)
	b.limiter, err = openRateLimiter(b.cfg, b.redis)
	return err
}

// Close stops the drivers, last opened first, then closes the Redis
// clients they shared.
func (b *Backends) Close() {
	for i := len(b.closers) - 1; i >= 0; i-- {
		b.closers[i]()
	}
	b.closers = nil
	b.redis.close()
}

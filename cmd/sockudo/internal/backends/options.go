package backends

import (
	"time"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/cmd/sockudo/internal/config"
	"github.com/sockudo-go/sockudo/ratelimit"
)

// Options returns the sockudo options that plug the drivers in, with the
// configuration's app cache, webhook batching and rate limits.
func (b *Backends) Options() []sockudo.Option {
	var appCache time.Duration // zero turns the app cache off
	if c := b.cfg.AppManager.Cache; c.Enabled {
		appCache = config.Seconds(c.TTL)
	}
	opts := []sockudo.Option{
		sockudo.WithAppManager(b.apps),
		sockudo.WithAppCache(appCache),
		sockudo.WithCache(b.cache),
		sockudo.WithQueue(b.queue),
	}
	opts = append(opts, webhookOptions(&b.cfg.Webhooks)...)
	return append(opts, rateLimitOptions(&b.cfg.RateLimiter, b.limiter)...)
}

// webhookOptions turns the webhooks section into server options.
func webhookOptions(c *config.Webhooks) []sockudo.Option {
	if !c.Batching.Enabled {
		return nil
	}
	return []sockudo.Option{sockudo.WithWebhookBatching(time.Duration(c.Batching.Duration)*time.Millisecond, c.Batching.Size)}
}

// rateLimitOptions turns the rate limiter section into server options; l
// is nil when rate limiting is off.
func rateLimitOptions(c *config.RateLimiter, l ratelimit.Limiter) []sockudo.Option {
	if l == nil {
		return nil
	}
	rule := func(r config.RateLimitRule) sockudo.RateLimit {
		return sockudo.RateLimit{Max: r.MaxRequests, Window: config.Seconds(r.WindowSeconds), TrustHops: r.TrustHops, KeyPrefix: r.KeyPrefix()}
	}
	opts := []sockudo.Option{
		sockudo.WithRateLimiter(l),
		sockudo.WithAPIRateLimit(rule(c.APIRateLimit)),
		sockudo.WithConnectionRateLimit(rule(c.WebSocketRateLimit)),
	}
	if c.FailClosed {
		opts = append(opts, sockudo.WithRateLimiterFailClosed())
	}
	return opts
}

package main

import (
	"time"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/ratelimit"
)

// webhookOptions turns the webhooks section into server options.
func webhookOptions(c *webhooksConfig) []sockudo.Option {
	if !c.Batching.Enabled {
		return nil
	}
	return []sockudo.Option{sockudo.WithWebhookBatching(time.Duration(c.Batching.Duration)*time.Millisecond, c.Batching.Size)}
}

// rateLimitOptions turns the rate limiter section into server options; l
// is nil when rate limiting is off.
func rateLimitOptions(c *rateLimiterConfig, l ratelimit.Limiter) []sockudo.Option {
	if l == nil {
		return nil
	}
	rule := func(r rateLimitRule) sockudo.RateLimit {
		return sockudo.RateLimit{Max: r.MaxRequests, Window: seconds(r.WindowSeconds), TrustHops: r.TrustHops, KeyPrefix: r.KeyPrefix()}
	}
	return []sockudo.Option{
		sockudo.WithRateLimiter(l),
		sockudo.WithAPIRateLimit(rule(c.APIRateLimit)),
		sockudo.WithConnectionRateLimit(rule(c.WebSocketRateLimit)),
	}
}

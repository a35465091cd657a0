package main

import (
	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/ratelimit"
)

// webhookOptions turns the webhooks section into server options.
func webhookOptions(c *webhooksConfig) []sockudo.Option { return nil }

// rateLimitOptions turns the rate limiter section into server options.
func rateLimitOptions(c *rateLimiterConfig, l ratelimit.Limiter) []sockudo.Option { return nil }

package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/sockudo-go/sockudo/queue"
)

// queueConfig is the "queue" section.
type queueConfig struct {
	Driver string `json:"driver"`
}

func defaultQueueConfig() queueConfig { return queueConfig{Driver: "memory"} }

func (c *queueConfig) applyEnv(e env) error {
	e.str(&c.Driver, "QUEUE_DRIVER")
	return nil
}

// openQueue builds the webhook queue that cfg.Queue.Driver names; nil means
// the server's built-in memory queue.
func openQueue(ctx context.Context, cfg *Config, log *slog.Logger) (queue.Queue, func(), error) {
	switch cfg.Queue.Driver {
	case "", "memory":
		return nil, func() {}, nil
	default:
		return nil, nil, fmt.Errorf("queue.driver (QUEUE_DRIVER) %q is not one of memory, redis, redis-cluster, sqs, none", cfg.Queue.Driver)
	}
}

// webhooksConfig is the "webhooks" section.
type webhooksConfig struct{}

func defaultWebhooksConfig() webhooksConfig { return webhooksConfig{} }

func (c *webhooksConfig) applyEnv(e env) error { return nil }

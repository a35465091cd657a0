package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/redis/rueidis"

	"github.com/sockudo-go/sockudo/queue"
	"github.com/sockudo-go/sockudo/queue/memory"
	"github.com/sockudo-go/sockudo/queue/none"
	redisqueue "github.com/sockudo-go/sockudo/queue/redis"
	sqsqueue "github.com/sockudo-go/sockudo/queue/sqs"
)

// queueConfig is the "queue" section: the queue that carries webhooks.
type queueConfig struct {
	// Driver is memory, redis, redis-cluster, sqs or none.
	Driver       string                  `json:"driver"`
	Redis        redisQueueConfig        `json:"redis"`
	RedisCluster redisClusterQueueConfig `json:"redis_cluster"`
	SQS          sqsQueueConfig          `json:"sqs"`
}

// redisQueueConfig is queue.redis. The connection comes from
// database.redis unless URLOverride is set.
type redisQueueConfig struct {
	// Concurrency is the number of webhooks delivered at once per node.
	Concurrency int `json:"concurrency"`
	// Prefix starts the queue's keys.
	Prefix string `json:"prefix"`
	// URLOverride, if set, is a redis:// URL used for the queue alone.
	URLOverride string `json:"url_override"`
	// ClusterMode makes driver "redis" connect as "redis-cluster" does.
	ClusterMode bool `json:"cluster_mode"`
}

// redisClusterQueueConfig is queue.redis_cluster.
type redisClusterQueueConfig struct {
	Concurrency int    `json:"concurrency"`
	Prefix      string `json:"prefix"`
	// Nodes, if set, replace database.redis.cluster.nodes for the queue.
	Nodes []string `json:"nodes"`
	// RequestTimeoutMs is accepted for Sockudo compatibility; the client's
	// own timeouts apply.
	RequestTimeoutMs int `json:"request_timeout_ms"`
}

// sqsQueueConfig is queue.sqs. Credentials come from the AWS default
// chain (AWS_ACCESS_KEY_ID..., shared files, instance roles).
type sqsQueueConfig struct {
	Region string `json:"region"`
	// QueueURLPrefix, if set, is joined with QueueName to form the queue
	// URL; otherwise the URL is looked up and the queue created if missing.
	QueueURLPrefix string `json:"queue_url_prefix"`
	// QueueName names the queue (default "webhooks"; ".fifo" is appended
	// for a FIFO queue). Not in Sockudo's schema.
	QueueName string `json:"queue_name"`
	// VisibilityTimeout is in seconds.
	VisibilityTimeout int    `json:"visibility_timeout"`
	EndpointURL       string `json:"endpoint_url"`
	// MaxMessages is per receive, 1 to 10.
	MaxMessages int `json:"max_messages"`
	// WaitTimeSeconds is the long-poll time, 0 to 20.
	WaitTimeSeconds int    `json:"wait_time_seconds"`
	Concurrency     int    `json:"concurrency"`
	FIFO            bool   `json:"fifo"`
	MessageGroupID  string `json:"message_group_id"`
}

func defaultQueueConfig() queueConfig {
	return queueConfig{
		Driver:       "memory",
		Redis:        redisQueueConfig{Concurrency: 5, Prefix: "sockudo_queue:"},
		RedisCluster: redisClusterQueueConfig{Concurrency: 5, Prefix: "sockudo_queue:", RequestTimeoutMs: 5000},
		SQS: sqsQueueConfig{
			Region: "us-east-1", QueueName: "webhooks", VisibilityTimeout: 30, MaxMessages: 10,
			WaitTimeSeconds: 5, Concurrency: 5, MessageGroupID: "default",
		},
	}
}

func (c *queueConfig) applyEnv(e env) error {
	e.str(&c.Driver, "QUEUE_DRIVER")
	e.str(&c.Redis.Prefix, "QUEUE_REDIS_PREFIX")
	e.str(&c.RedisCluster.Prefix, "REDIS_CLUSTER_QUEUE_PREFIX")
	s := &c.SQS
	e.str(&s.Region, "QUEUE_SQS_REGION")
	e.str(&s.QueueURLPrefix, "QUEUE_SQS_QUEUE_URL_PREFIX", "SQS_QUEUE_URL_PREFIX")
	e.str(&s.QueueName, "QUEUE_SQS_QUEUE_NAME")
	e.str(&s.EndpointURL, "QUEUE_SQS_ENDPOINT_URL", "SQS_ENDPOINT_URL")
	e.str(&s.MessageGroupID, "QUEUE_SQS_MESSAGE_GROUP_ID")
	if err := e.boolean(&s.FIFO, "QUEUE_SQS_FIFO"); err != nil {
		return err
	}
	for _, f := range []struct {
		dst  *int
		name string
	}{
		{&c.Redis.Concurrency, "QUEUE_REDIS_CONCURRENCY"},
		{&c.RedisCluster.Concurrency, "REDIS_CLUSTER_QUEUE_CONCURRENCY"},
		{&s.VisibilityTimeout, "QUEUE_SQS_VISIBILITY_TIMEOUT"},
		{&s.MaxMessages, "QUEUE_SQS_MAX_MESSAGES"},
		{&s.WaitTimeSeconds, "QUEUE_SQS_WAIT_TIME_SECONDS"},
		{&s.Concurrency, "QUEUE_SQS_CONCURRENCY"},
	} {
		if err := e.integer(f.dst, f.name); err != nil {
			return err
		}
	}
	return nil
}

// driver returns the normalised driver name.
func (c *queueConfig) driver() string {
	d := strings.ToLower(strings.TrimSpace(c.Driver))
	if d == "" {
		return "memory"
	}
	return d
}

// validate checks the section, naming the option at fault.
func (c *queueConfig) validate() error {
	switch c.driver() {
	case "memory", "redis", "redis-cluster", "sqs", "none":
	default:
		return fmt.Errorf("queue.driver (QUEUE_DRIVER) %q is not one of memory, redis, redis-cluster, sqs, none", c.Driver)
	}
	s := &c.SQS
	switch {
	case c.Redis.Concurrency < 0:
		return fmt.Errorf("queue.redis.concurrency (QUEUE_REDIS_CONCURRENCY) %d is negative", c.Redis.Concurrency)
	case c.RedisCluster.Concurrency < 0:
		return fmt.Errorf("queue.redis_cluster.concurrency (REDIS_CLUSTER_QUEUE_CONCURRENCY) %d is negative", c.RedisCluster.Concurrency)
	case s.Concurrency < 0:
		return fmt.Errorf("queue.sqs.concurrency (QUEUE_SQS_CONCURRENCY) %d is negative", s.Concurrency)
	case s.MaxMessages < 1 || s.MaxMessages > 10:
		return fmt.Errorf("queue.sqs.max_messages (QUEUE_SQS_MAX_MESSAGES) %d is not between 1 and 10", s.MaxMessages)
	case s.WaitTimeSeconds < 0 || s.WaitTimeSeconds > 20:
		return fmt.Errorf("queue.sqs.wait_time_seconds (QUEUE_SQS_WAIT_TIME_SECONDS) %d is not between 0 and 20", s.WaitTimeSeconds)
	case s.VisibilityTimeout < 0 || s.VisibilityTimeout > 43200:
		return fmt.Errorf("queue.sqs.visibility_timeout (QUEUE_SQS_VISIBILITY_TIMEOUT) %d is not between 0 and 43200", s.VisibilityTimeout)
	case c.driver() == "sqs" && s.QueueName == "":
		return fmt.Errorf("queue.sqs.queue_name (QUEUE_SQS_QUEUE_NAME) is empty")
	}
	return nil
}

// redisOption returns the rueidis options for the redis drivers: a
// cluster for redis-cluster or cluster_mode (queue.redis_cluster.nodes,
// else database.redis.cluster.nodes), else the URL override, else
// database.redis.
func (c *queueConfig) redisOption(db *redisConfig) (rueidis.ClientOption, error) {
	if c.driver() == "redis-cluster" || c.Redis.ClusterMode {
		dbc := *db
		if len(c.RedisCluster.Nodes) > 0 {
			dbc.Cluster.Nodes = c.RedisCluster.Nodes
		}
		return dbc.clientOption(true)
	}
	if c.Redis.URLOverride != "" {
		opt, err := rueidis.ParseURL(c.Redis.URLOverride)
		if err != nil {
			return rueidis.ClientOption{}, fmt.Errorf("queue.redis.url_override: %w", redactURLError(err))
		}
		return opt, nil
	}
	return db.clientOption(false)
}

// openQueue builds the webhook queue that cfg.Queue names. The returned
// function stops it and releases what it opened (the Redis client).
func openQueue(ctx context.Context, cfg *Config, log *slog.Logger) (queue.Queue, func(), error) {
	qc := &cfg.Queue
	if err := qc.validate(); err != nil {
		return nil, nil, err
	}
	switch d := qc.driver(); d {
	case "memory":
		q, err := memory.New(nil)
		if err != nil {
			return nil, nil, fmt.Errorf("queue.memory: %w", err)
		}
		return q, func() { q.Close() }, nil
	case "none":
		log.Warn("queue.driver is none: webhooks are not delivered")
		q := none.New()
		return q, func() { q.Close() }, nil
	case "sqs":
		return openSQSQueue(ctx, &qc.SQS, log)
	default: // redis, redis-cluster
		opt, err := qc.redisOption(&cfg.Database.Redis)
		if err != nil {
			return nil, nil, err
		}
		client, err := rueidis.NewClient(opt)
		if err != nil {
			return nil, nil, fmt.Errorf("queue.driver %s: connect to Redis %v: %w", d, opt.InitAddress, err)
		}
		o := &redisqueue.Options{Prefix: qc.Redis.Prefix, Concurrency: qc.Redis.Concurrency, Logger: log}
		if d == "redis-cluster" {
			o.Prefix, o.Concurrency = qc.RedisCluster.Prefix, qc.RedisCluster.Concurrency
		}
		q, err := redisqueue.New(client, o)
		if err != nil {
			client.Close()
			return nil, nil, fmt.Errorf("queue.%s: %w", strings.ReplaceAll(d, "-", "_"), err)
		}
		return q, func() { q.Close(); client.Close() }, nil
	}
}

func openSQSQueue(ctx context.Context, s *sqsQueueConfig, log *slog.Logger) (queue.Queue, func(), error) {
	awsCfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(s.Region))
	if err != nil {
		return nil, nil, fmt.Errorf("queue.sqs: AWS configuration: %w", err)
	}
	client := sqs.NewFromConfig(awsCfg, func(o *sqs.Options) {
		if s.EndpointURL != "" {
			o.BaseEndpoint = &s.EndpointURL
		}
	})
	url, err := sqsqueue.QueueURL(ctx, client, s.QueueName, &sqsqueue.URLOptions{
		Prefix: s.QueueURLPrefix,
		FIFO:   s.FIFO,
		Create: true,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("queue.sqs: %w", err)
	}
	q, err := sqsqueue.New(client, url, &sqsqueue.Options{
		VisibilityTimeout: seconds(s.VisibilityTimeout),
		MaxMessages:       s.MaxMessages,
		WaitTime:          sqsWait(s.WaitTimeSeconds),
		Concurrency:       s.Concurrency,
		FIFO:              s.FIFO,
		MessageGroupID:    s.MessageGroupID,
		Logger:            log,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("queue.sqs: %w", err)
	}
	return q, func() { q.Close() }, nil
}

// sqsWait maps wait_time_seconds to sqsqueue.Options.WaitTime, where zero
// means the default and a negative value short polling.
func sqsWait(s int) time.Duration {
	if s == 0 {
		return -1
	}
	return seconds(s)
}

// webhooksConfig is the "webhooks" section.
type webhooksConfig struct {
	Batching webhookBatchingConfig `json:"batching"`
}

// webhookBatchingConfig is webhooks.batching: an app's events are grouped
// into one request per target for Duration milliseconds or Size events.
type webhookBatchingConfig struct {
	Enabled bool `json:"enabled"`
	// Duration is in milliseconds.
	Duration int `json:"duration"`
	Size     int `json:"size"`
}

func defaultWebhooksConfig() webhooksConfig {
	return webhooksConfig{Batching: webhookBatchingConfig{Enabled: true, Duration: 50, Size: 100}}
}

func (c *webhooksConfig) applyEnv(e env) error {
	if err := e.boolean(&c.Batching.Enabled, "WEBHOOK_BATCHING_ENABLED"); err != nil {
		return err
	}
	if err := e.integer(&c.Batching.Duration, "WEBHOOK_BATCHING_DURATION"); err != nil {
		return err
	}
	return e.integer(&c.Batching.Size, "WEBHOOK_BATCHING_SIZE")
}

// validate checks the section, naming the option at fault; call it before
// turning the section into sockudo options.
func (c *webhooksConfig) validate() error {
	switch {
	case c.Batching.Duration < 0:
		return fmt.Errorf("webhooks.batching.duration (WEBHOOK_BATCHING_DURATION) %d is negative", c.Batching.Duration)
	case c.Batching.Size < 0:
		return fmt.Errorf("webhooks.batching.size (WEBHOOK_BATCHING_SIZE) %d is negative", c.Batching.Size)
	}
	return nil
}

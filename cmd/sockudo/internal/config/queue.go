package config

import (
	"fmt"
)

// Queue is the "queue" section: the queue that carries webhooks.
type Queue struct {
	// Driver is memory, redis, redis-cluster, sqs or none, in any case.
	Driver       string            `json:"driver"`
	Redis        RedisQueue        `json:"redis"`
	RedisCluster RedisClusterQueue `json:"redis_cluster"`
	SQS          SQSQueue          `json:"sqs"`
}

// RedisQueue is queue.redis. The connection comes from
// database.redis unless URLOverride is set.
type RedisQueue struct {
	// Concurrency is the number of webhooks delivered at once per node.
	Concurrency int `json:"concurrency"`
	// Prefix starts the queue's keys.
	Prefix string `json:"prefix"`
	// URLOverride, if set, is a redis:// URL used for the queue alone.
	URLOverride string `json:"url_override"`
	// ClusterMode makes driver "redis" connect as "redis-cluster" does.
	ClusterMode bool `json:"cluster_mode"`
}

// RedisClusterQueue is queue.redis_cluster.
type RedisClusterQueue struct {
	Concurrency int    `json:"concurrency"`
	Prefix      string `json:"prefix"`
	// Nodes, if set, replace database.redis.cluster.nodes for the queue.
	Nodes []string `json:"nodes"`
	// RequestTimeoutMs is accepted for Sockudo compatibility; the client's
	// own timeouts apply.
	RequestTimeoutMs int `json:"request_timeout_ms"`
}

// SQSQueue is queue.sqs. Credentials come from the AWS default
// chain (AWS_ACCESS_KEY_ID..., shared files, instance roles).
type SQSQueue struct {
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

func defaultQueueConfig() Queue {
	return Queue{
		Driver:       "memory",
		Redis:        RedisQueue{Concurrency: 5, Prefix: "sockudo_queue:"},
		RedisCluster: RedisClusterQueue{Concurrency: 5, Prefix: "sockudo_queue:", RequestTimeoutMs: 5000},
		SQS: SQSQueue{
			Region: "us-east-1", QueueName: "webhooks", VisibilityTimeout: 30, MaxMessages: 10,
			WaitTimeSeconds: 5, Concurrency: 5, MessageGroupID: "default",
		},
	}
}

func (c *Queue) applyEnv(e env) error {
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

// DriverName returns Driver in lower case, memory when empty.
func (c *Queue) DriverName() string { return driverName(c.Driver) }

// Validate checks the section, naming the option at fault.
func (c *Queue) Validate() error {
	switch c.DriverName() {
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
	case c.DriverName() == "sqs" && s.QueueName == "":
		return fmt.Errorf("queue.sqs.queue_name (QUEUE_SQS_QUEUE_NAME) is empty")
	}
	return nil
}

// Webhooks is the "webhooks" section.
type Webhooks struct {
	Batching WebhookBatching `json:"batching"`
}

// WebhookBatching is webhooks.batching: an app's events are grouped
// into one request per target for Duration milliseconds or Size events.
type WebhookBatching struct {
	Enabled bool `json:"enabled"`
	// Duration is in milliseconds.
	Duration int `json:"duration"`
	Size     int `json:"size"`
}

func defaultWebhooksConfig() Webhooks {
	return Webhooks{Batching: WebhookBatching{Enabled: true, Duration: 50, Size: 100}}
}

func (c *Webhooks) applyEnv(e env) error {
	if err := e.boolean(&c.Batching.Enabled, "WEBHOOK_BATCHING_ENABLED"); err != nil {
		return err
	}
	if err := e.integer(&c.Batching.Duration, "WEBHOOK_BATCHING_DURATION"); err != nil {
		return err
	}
	return e.integer(&c.Batching.Size, "WEBHOOK_BATCHING_SIZE")
}

// Validate checks the section, naming the option at fault; call it before
// turning the section into sockudo options.
func (c *Webhooks) Validate() error {
	switch {
	case c.Batching.Duration < 0:
		return fmt.Errorf("webhooks.batching.duration (WEBHOOK_BATCHING_DURATION) %d is negative", c.Batching.Duration)
	case c.Batching.Size < 0:
		return fmt.Errorf("webhooks.batching.size (WEBHOOK_BATCHING_SIZE) %d is negative", c.Batching.Size)
	}
	return nil
}

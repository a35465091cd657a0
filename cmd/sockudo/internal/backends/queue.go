package backends

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/redis/rueidis"

	"github.com/sockudo-go/sockudo/cmd/sockudo/internal/config"
	"github.com/sockudo-go/sockudo/queue"
	"github.com/sockudo-go/sockudo/queue/memory"
	"github.com/sockudo-go/sockudo/queue/none"
	redisqueue "github.com/sockudo-go/sockudo/queue/redis"
	sqsqueue "github.com/sockudo-go/sockudo/queue/sqs"
)

// queueRedisOption returns the rueidis options for the queue's redis
// drivers: a cluster for redis-cluster or cluster_mode
// (queue.redis_cluster.nodes, else database.redis.cluster.nodes), else the
// URL override, else database.redis.
func queueRedisOption(qc *config.Queue, db *config.Redis) (rueidis.ClientOption, error) {
	cluster := qc.DriverName() == "redis-cluster" || qc.Redis.ClusterMode
	if cluster && len(qc.RedisCluster.Nodes) > 0 {
		dbc := *db
		dbc.Cluster.Nodes = qc.RedisCluster.Nodes
		db = &dbc
	}
	return redisOption(db, cluster, qc.Redis.URLOverride, "queue.redis.url_override")
}

// openQueue builds the webhook queue that cfg.Queue names, taking its
// Redis client from clients. The returned function stops the queue;
// clients closes the Redis client.
func openQueue(ctx context.Context, cfg *config.Config, clients *redisClients, log *slog.Logger) (queue.Queue, func(), error) {
	qc := &cfg.Queue
	if err := qc.Validate(); err != nil {
		return nil, nil, err
	}
	switch d := qc.DriverName(); d {
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
		opt, err := queueRedisOption(qc, &cfg.Database.Redis)
		if err != nil {
			return nil, nil, err
		}
		client, err := clients.client(opt)
		if err != nil {
			return nil, nil, fmt.Errorf("queue.driver %s: %w", d, err)
		}
		o := &redisqueue.Options{Prefix: qc.Redis.Prefix, Options: queue.Options{Concurrency: qc.Redis.Concurrency, Logger: log}}
		if d == "redis-cluster" {
			o.Prefix, o.Concurrency = qc.RedisCluster.Prefix, qc.RedisCluster.Concurrency
		}
		q, err := redisqueue.New(client, o)
		if err != nil {
			return nil, nil, fmt.Errorf("queue.%s: %w", strings.ReplaceAll(d, "-", "_"), err)
		}
		return q, func() { q.Close() }, nil
	}
}

func openSQSQueue(ctx context.Context, s *config.SQSQueue, log *slog.Logger) (queue.Queue, func(), error) {
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(s.Region))
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
		VisibilityTimeout: config.Seconds(s.VisibilityTimeout),
		MaxMessages:       s.MaxMessages,
		WaitTime:          sqsWait(s.WaitTimeSeconds),
		FIFO:              s.FIFO,
		MessageGroupID:    s.MessageGroupID,
		Options:           queue.Options{Concurrency: s.Concurrency, Logger: log},
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
	return config.Seconds(s)
}

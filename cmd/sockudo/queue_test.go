package main

import (
	"context"
	"crypto/rand"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/redis/rueidis"

	"github.com/sockudo-go/sockudo/internal/testenv"
	"github.com/sockudo-go/sockudo/queue"
	"github.com/sockudo-go/sockudo/queue/memory"
	"github.com/sockudo-go/sockudo/queue/none"
	redisqueue "github.com/sockudo-go/sockudo/queue/redis"
	sqsqueue "github.com/sockudo-go/sockudo/queue/sqs"
)

func TestQueueConfigDefaults(t *testing.T) {
	cfg, _, err := loadConfig("", mapEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Queue, defaultQueueConfig()) {
		t.Errorf("default queue config = %+v", cfg.Queue)
	}
	want := webhooksConfig{Batching: webhookBatchingConfig{Enabled: true, Duration: 50, Size: 100}}
	if cfg.Webhooks != want {
		t.Errorf("default webhooks config = %+v, want %+v", cfg.Webhooks, want)
	}
	if d := cfg.Queue.SQS; d.Region != "us-east-1" || d.VisibilityTimeout != 30 || d.MaxMessages != 10 ||
		d.WaitTimeSeconds != 5 || d.Concurrency != 5 || d.MessageGroupID != "default" || d.FIFO {
		t.Errorf("default queue.sqs = %+v, want Sockudo's defaults", d)
	}
	if cfg.Queue.Redis.Prefix != "sockudo_queue:" || cfg.Queue.Redis.Concurrency != 5 {
		t.Errorf("default queue.redis = %+v", cfg.Queue.Redis)
	}
}

func TestQueueConfigFileThenEnv(t *testing.T) {
	path := writeConfig(t, `{
		"queue": {
			"driver": "sqs",
			"redis": {"concurrency": 3, "prefix": "q:", "url_override": "redis://10.0.0.1:6379/1", "cluster_mode": true},
			"redis_cluster": {"concurrency": 4, "prefix": "qc:", "nodes": ["redis://10.0.0.2:7000"], "request_timeout_ms": 100},
			"sqs": {"region": "eu-west-1", "queue_url_prefix": "https://sqs.eu-west-1.amazonaws.com/1/",
				"queue_name": "hooks", "visibility_timeout": 60, "endpoint_url": "http://localhost:9324",
				"max_messages": 5, "wait_time_seconds": 10, "concurrency": 2, "fifo": true, "message_group_id": "g"}
		},
		"webhooks": {"batching": {"enabled": false, "duration": 20, "size": 10}}
	}`)
	cfg, unknown, err := loadConfig(path, mapEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(unknown) != 0 {
		t.Fatalf("unknown keys %v in a file with only known queue keys", unknown)
	}
	want := queueConfig{
		Driver:       "sqs",
		Redis:        redisQueueConfig{Concurrency: 3, Prefix: "q:", URLOverride: "redis://10.0.0.1:6379/1", ClusterMode: true},
		RedisCluster: redisClusterQueueConfig{Concurrency: 4, Prefix: "qc:", Nodes: []string{"redis://10.0.0.2:7000"}, RequestTimeoutMs: 100},
		SQS: sqsQueueConfig{Region: "eu-west-1", QueueURLPrefix: "https://sqs.eu-west-1.amazonaws.com/1/", QueueName: "hooks",
			VisibilityTimeout: 60, EndpointURL: "http://localhost:9324", MaxMessages: 5, WaitTimeSeconds: 10,
			Concurrency: 2, FIFO: true, MessageGroupID: "g"},
	}
	if !reflect.DeepEqual(cfg.Queue, want) {
		t.Errorf("queue from file = %+v\nwant %+v", cfg.Queue, want)
	}
	if want := (webhooksConfig{Batching: webhookBatchingConfig{Duration: 20, Size: 10}}); cfg.Webhooks != want {
		t.Errorf("webhooks from file = %+v, want %+v", cfg.Webhooks, want)
	}

	cfg, _, err = loadConfig(path, mapEnv(map[string]string{
		"QUEUE_DRIVER":                    "redis",
		"QUEUE_REDIS_CONCURRENCY":         "7",
		"QUEUE_REDIS_PREFIX":              "env:",
		"REDIS_CLUSTER_QUEUE_CONCURRENCY": "8",
		"REDIS_CLUSTER_QUEUE_PREFIX":      "envc:",
		"QUEUE_SQS_REGION":                "ap-south-1",
		"QUEUE_SQS_QUEUE_URL_PREFIX":      "http://p/",
		"QUEUE_SQS_QUEUE_NAME":            "envhooks",
		"QUEUE_SQS_VISIBILITY_TIMEOUT":    "90",
		"QUEUE_SQS_MAX_MESSAGES":          "1",
		"QUEUE_SQS_WAIT_TIME_SECONDS":     "0",
		"QUEUE_SQS_CONCURRENCY":           "9",
		"QUEUE_SQS_FIFO":                  "false",
		"QUEUE_SQS_MESSAGE_GROUP_ID":      "eg",
		"QUEUE_SQS_ENDPOINT_URL":          "http://e",
		"WEBHOOK_BATCHING_ENABLED":        "true",
		"WEBHOOK_BATCHING_DURATION":       "75",
		"WEBHOOK_BATCHING_SIZE":           "30",
	}))
	if err != nil {
		t.Fatal(err)
	}
	q, s := cfg.Queue, cfg.Queue.SQS
	if q.Driver != "redis" || q.Redis.Concurrency != 7 || q.Redis.Prefix != "env:" ||
		q.RedisCluster.Concurrency != 8 || q.RedisCluster.Prefix != "envc:" {
		t.Errorf("queue redis sections after env = %+v %+v", q.Redis, q.RedisCluster)
	}
	if s.Region != "ap-south-1" || s.QueueURLPrefix != "http://p/" || s.QueueName != "envhooks" || s.VisibilityTimeout != 90 ||
		s.MaxMessages != 1 || s.WaitTimeSeconds != 0 || s.Concurrency != 9 || s.FIFO || s.MessageGroupID != "eg" || s.EndpointURL != "http://e" {
		t.Errorf("queue.sqs after env = %+v", s)
	}
	if want := (webhooksConfig{Batching: webhookBatchingConfig{Enabled: true, Duration: 75, Size: 30}}); cfg.Webhooks != want {
		t.Errorf("webhooks after env = %+v, want %+v", cfg.Webhooks, want)
	}
}

func TestQueueConfigErrorsNameTheOption(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"QUEUE_DRIVER": "kafka"}, "QUEUE_DRIVER"},
		{map[string]string{"QUEUE_REDIS_CONCURRENCY": "-1"}, "QUEUE_REDIS_CONCURRENCY"},
		{map[string]string{"QUEUE_REDIS_CONCURRENCY": "x"}, "QUEUE_REDIS_CONCURRENCY"},
		{map[string]string{"REDIS_CLUSTER_QUEUE_CONCURRENCY": "-1"}, "REDIS_CLUSTER_QUEUE_CONCURRENCY"},
		{map[string]string{"QUEUE_SQS_MAX_MESSAGES": "11"}, "QUEUE_SQS_MAX_MESSAGES"},
		{map[string]string{"QUEUE_SQS_WAIT_TIME_SECONDS": "21"}, "QUEUE_SQS_WAIT_TIME_SECONDS"},
		{map[string]string{"QUEUE_SQS_VISIBILITY_TIMEOUT": "-1"}, "QUEUE_SQS_VISIBILITY_TIMEOUT"},
		{map[string]string{"QUEUE_SQS_CONCURRENCY": "-2"}, "QUEUE_SQS_CONCURRENCY"},
		{map[string]string{"QUEUE_SQS_FIFO": "maybe"}, "QUEUE_SQS_FIFO"},
		{map[string]string{"QUEUE_DRIVER": "sqs", "QUEUE_SQS_QUEUE_NAME": ""}, "QUEUE_SQS_QUEUE_NAME"},
		{map[string]string{"QUEUE_DRIVER": "redis-cluster"}, "DATABASE_REDIS_CLUSTER_NODES"},
	}
	for _, tc := range tests {
		cfg, _, err := loadConfig("", mapEnv(tc.env))
		if err == nil {
			_, _, err = openQueue(context.Background(), &cfg, quiet)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("env %v: error %v, want one naming %s", tc.env, err, tc.want)
		}
	}
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"WEBHOOK_BATCHING_DURATION": "-5"}, "WEBHOOK_BATCHING_DURATION"},
		{map[string]string{"WEBHOOK_BATCHING_SIZE": "-1"}, "WEBHOOK_BATCHING_SIZE"},
		{map[string]string{"WEBHOOK_BATCHING_ENABLED": "sometimes"}, "WEBHOOK_BATCHING_ENABLED"},
	} {
		cfg, _, err := loadConfig("", mapEnv(tc.env))
		if err == nil {
			err = cfg.Webhooks.validate()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("env %v: error %v, want one naming %s", tc.env, err, tc.want)
		}
	}
}

func TestOpenQueueInProcessDrivers(t *testing.T) {
	for driver, want := range map[string]queue.Queue{"memory": (*memory.Queue)(nil), "": (*memory.Queue)(nil), "none": (*none.Queue)(nil)} {
		cfg, _, err := loadConfig("", mapEnv(map[string]string{"QUEUE_DRIVER": driver}))
		if err != nil {
			t.Fatal(err)
		}
		q, closeQueue, err := openQueue(context.Background(), &cfg, quiet)
		if err != nil {
			t.Fatalf("driver %q: %v", driver, err)
		}
		if reflect.TypeOf(q) != reflect.TypeOf(want) {
			t.Errorf("driver %q opened a %T", driver, q)
		}
		closeQueue()
		if err := q.Enqueue(context.Background(), []byte("x")); !errors.Is(err, queue.ErrClosed) {
			t.Errorf("driver %q: Enqueue after the close function = %v, want ErrClosed", driver, err)
		}
	}
}

// roundTrip enqueues a payload on q and waits for a consumer to see it.
func roundTrip(t *testing.T, q queue.Queue) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	payload := []byte("hello " + rand.Text())
	if err := q.Enqueue(ctx, payload); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	got := make(chan []byte, 1)
	go q.Consume(ctx, func(ctx context.Context, j *queue.Job) error {
		if string(j.Payload) == string(payload) {
			got <- j.Payload
		}
		return nil
	})
	select {
	case <-got:
	case <-ctx.Done():
		t.Fatal("the job never came back")
	}
}

func TestOpenQueueRedis(t *testing.T) {
	url := testenv.Lookup(t, "SOCKUDO_TEST_REDIS_URL")
	nodes := testenv.Lookup(t, "SOCKUDO_TEST_REDIS_CLUSTER_ADDRS")
	for name, env := range map[string]map[string]string{
		"redis":         {"QUEUE_DRIVER": "redis", "REDIS_URL": url},
		"redis-cluster": {"QUEUE_DRIVER": "redis-cluster", "DATABASE_REDIS_CLUSTER_NODES": nodes},
	} {
		t.Run(name, func(t *testing.T) {
			prefix := "sockudo_test_server_queue:" + rand.Text()[:8] + ":"
			env["QUEUE_REDIS_PREFIX"], env["REDIS_CLUSTER_QUEUE_PREFIX"] = prefix, prefix
			cfg, _, err := loadConfig("", mapEnv(env))
			if err != nil {
				t.Fatal(err)
			}
			q, closeQueue, err := openQueue(context.Background(), &cfg, quiet)
			if err != nil {
				t.Fatal(err)
			}
			rq, ok := q.(*redisqueue.Queue)
			if !ok {
				t.Fatalf("opened a %T, want a Redis queue", q)
			}
			t.Cleanup(func() {
				opt, _ := cfg.Queue.redisOption(&cfg.Database.Redis)
				if c, err := rueidis.NewClient(opt); err == nil {
					c.Do(context.Background(), c.B().Del().Key(rq.Keys()...).Build())
					c.Close()
				}
			})
			defer closeQueue()
			if k := rq.Keys()[0]; !strings.HasPrefix(k, "{"+prefix) {
				t.Errorf("key %q does not use the configured prefix %q", k, prefix)
			}
			roundTrip(t, q)
		})
	}
}

func TestOpenQueueSQS(t *testing.T) {
	endpoint := testenv.Lookup(t, "SOCKUDO_TEST_SQS_ENDPOINT")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	client := sqs.New(sqs.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
	})
	for _, fifo := range []string{"false", "true"} {
		t.Run("fifo="+fifo, func(t *testing.T) {
			name := "sockudo-test-server-" + rand.Text()[:8]
			cfg, _, err := loadConfig("", mapEnv(map[string]string{
				"QUEUE_DRIVER":                "sqs",
				"QUEUE_SQS_ENDPOINT_URL":      endpoint,
				"QUEUE_SQS_QUEUE_NAME":        name,
				"QUEUE_SQS_FIFO":              fifo,
				"QUEUE_SQS_WAIT_TIME_SECONDS": "1",
				"QUEUE_SQS_MAX_MESSAGES":      "1",
			}))
			if err != nil {
				t.Fatal(err)
			}
			q, closeQueue, err := openQueue(context.Background(), &cfg, quiet)
			if err != nil {
				t.Fatal(err)
			}
			defer closeQueue()
			url, err := sqsqueue.QueueURL(context.Background(), client, name, &sqsqueue.URLOptions{FIFO: fifo == "true"})
			if err != nil {
				t.Fatalf("openQueue did not create the queue: %v", err)
			}
			t.Cleanup(func() { client.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: &url}) })
			if fifo == "true" && !strings.HasSuffix(url, ".fifo") {
				t.Errorf("FIFO queue URL %q lacks .fifo", url)
			}
			roundTrip(t, q)
		})
	}
}

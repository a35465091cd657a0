package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestQueueConfigDefaults(t *testing.T) {
	cfg, _, err := Load("", mapEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Queue, defaultQueueConfig()) {
		t.Errorf("default queue config = %+v", cfg.Queue)
	}
	want := Webhooks{Batching: WebhookBatching{Enabled: true, Duration: 50, Size: 100}}
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
	cfg, unknown, err := Load(path, mapEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(unknown) != 0 {
		t.Fatalf("unknown keys %v in a file with only known queue keys", unknown)
	}
	want := Queue{
		Driver:       "sqs",
		Redis:        RedisQueue{Concurrency: 3, Prefix: "q:", URLOverride: "redis://10.0.0.1:6379/1", ClusterMode: true},
		RedisCluster: RedisClusterQueue{Concurrency: 4, Prefix: "qc:", Nodes: []string{"redis://10.0.0.2:7000"}, RequestTimeoutMs: 100},
		SQS: SQSQueue{Region: "eu-west-1", QueueURLPrefix: "https://sqs.eu-west-1.amazonaws.com/1/", QueueName: "hooks",
			VisibilityTimeout: 60, EndpointURL: "http://localhost:9324", MaxMessages: 5, WaitTimeSeconds: 10,
			Concurrency: 2, FIFO: true, MessageGroupID: "g"},
	}
	if !reflect.DeepEqual(cfg.Queue, want) {
		t.Errorf("queue from file = %+v\nwant %+v", cfg.Queue, want)
	}
	if want := (Webhooks{Batching: WebhookBatching{Duration: 20, Size: 10}}); cfg.Webhooks != want {
		t.Errorf("webhooks from file = %+v, want %+v", cfg.Webhooks, want)
	}

	cfg, _, err = Load(path, mapEnv(map[string]string{
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
	if want := (Webhooks{Batching: WebhookBatching{Enabled: true, Duration: 75, Size: 30}}); cfg.Webhooks != want {
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
	}
	for _, tc := range tests {
		cfg, _, err := Load("", mapEnv(tc.env))
		if err == nil {
			err = cfg.Queue.Validate()
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
		cfg, _, err := Load("", mapEnv(tc.env))
		if err == nil {
			err = cfg.Webhooks.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("env %v: error %v, want one naming %s", tc.env, err, tc.want)
		}
	}
}

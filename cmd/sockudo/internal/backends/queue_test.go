package backends

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

	"github.com/sockudo-go/sockudo/cmd/sockudo/internal/config"
	"github.com/sockudo-go/sockudo/internal/testenv"
	"github.com/sockudo-go/sockudo/queue"
	"github.com/sockudo-go/sockudo/queue/memory"
	"github.com/sockudo-go/sockudo/queue/none"
	redisqueue "github.com/sockudo-go/sockudo/queue/redis"
	sqsqueue "github.com/sockudo-go/sockudo/queue/sqs"
)

func TestOpenQueueRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"QUEUE_DRIVER": "kafka"}, "QUEUE_DRIVER"},
		{map[string]string{"QUEUE_DRIVER": "redis-cluster"}, "DATABASE_REDIS_CLUSTER_NODES"},
		{map[string]string{"QUEUE_DRIVER": "redis", "REDIS_URL": "redis://user:s3cret@[::1"}, "REDIS_URL"},
	} {
		cfg, _, err := config.Load("", mapEnv(tc.env))
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = openQueue(context.Background(), &cfg, testClients(t), quiet)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("env %v: error %v, want one naming %s without the password", tc.env, err, tc.want)
		}
	}
}

func TestOpenQueueInProcessDrivers(t *testing.T) {
	for driver, want := range map[string]queue.Queue{"memory": (*memory.Queue)(nil), "": (*memory.Queue)(nil), "none": (*none.Queue)(nil)} {
		cfg, _, err := config.Load("", mapEnv(map[string]string{"QUEUE_DRIVER": driver}))
		if err != nil {
			t.Fatal(err)
		}
		q, closeQueue, err := openQueue(context.Background(), &cfg, testClients(t), quiet)
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
			cfg, _, err := config.Load("", mapEnv(env))
			if err != nil {
				t.Fatal(err)
			}
			q, closeQueue, err := openQueue(context.Background(), &cfg, testClients(t), quiet)
			if err != nil {
				t.Fatal(err)
			}
			rq, ok := q.(*redisqueue.Queue)
			if !ok {
				t.Fatalf("opened a %T, want a Redis queue", q)
			}
			t.Cleanup(func() {
				opt, _ := queueRedisOption(&cfg.Queue, &cfg.Database.Redis)
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
			cfg, _, err := config.Load("", mapEnv(map[string]string{
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
			q, closeQueue, err := openQueue(context.Background(), &cfg, testClients(t), quiet)
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

package sqs_test

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sockudo-go/sockudo/internal/testenv"
	"github.com/sockudo-go/sockudo/queue"
	"github.com/sockudo-go/sockudo/queue/queuetest"
	sqsqueue "github.com/sockudo-go/sockudo/queue/sqs"
)

func newClient(t testing.TB) *sqs.Client {
	t.Helper()
	endpoint := testenv.Lookup(t, "SOCKUDO_TEST_SQS_ENDPOINT")
	return sqs.New(sqs.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
	})
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// createQueue creates an SQS queue that only this test uses and deletes
// it when the test ends.
func createQueue(t testing.TB, client *sqs.Client, fifo bool) string {
	t.Helper()
	name := unsafeChars.ReplaceAllString(t.Name(), "-")
	if len(name) > 50 {
		name = name[len(name)-50:]
	}
	name = "sockudo-test-" + strings.Trim(name, "-") + "-" + rand.Text()[:8]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url, err := sqsqueue.QueueURL(ctx, client, name, &sqsqueue.URLOptions{FIFO: fifo, Create: true})
	if err != nil {
		t.Fatalf("create queue %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		client.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: &url})
	})
	return url
}

func testOptions(concurrency int) *sqsqueue.Options {
	return &sqsqueue.Options{
		VisibilityTimeout: time.Second,
		WaitTime:          time.Second,
		Options: queue.Options{
			Concurrency: concurrency,
			RetryBase:   20 * time.Millisecond,
			RetryMax:    100 * time.Millisecond,
			Logger:      slog.New(slog.DiscardHandler),
		},
	}
}

func harness(client *sqs.Client, fifo bool) queuetest.Harness {
	return queuetest.Harness{
		Open: func(t *testing.T) queuetest.Opener {
			url := createQueue(t, client, fifo)
			return func(t *testing.T, concurrency int) queue.Queue {
				q, err := sqsqueue.New(client, url, testOptions(concurrency))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { q.Close() })
				return q
			}
		},
		MultiInstance: true,
		// The visibility timeout plus a long poll.
		Lease:      2 * time.Second,
		Sequential: fifo,
		// AWS's counts lag behind, and local-aws-sqs counts a message
		// being handled both as visible and as not visible.
		ApproximateStats: true,
	}
}

func TestConformanceStandard(t *testing.T) {
	t.Parallel()
	queuetest.Run(t, harness(newClient(t), false))
}

func TestConformanceFIFO(t *testing.T) {
	t.Parallel()
	queuetest.Run(t, harness(newClient(t), true))
}

func TestQueueURL(t *testing.T) {
	t.Parallel()
	client := newClient(t)
	ctx := context.Background()

	got, err := sqsqueue.QueueURL(ctx, nil, "webhooks", &sqsqueue.URLOptions{Prefix: "https://sqs.eu-west-1.amazonaws.com/123456789012"})
	if want := "https://sqs.eu-west-1.amazonaws.com/123456789012/webhooks"; err != nil || got != want {
		t.Errorf("QueueURL with a prefix = %q, %v; want %q", got, err, want)
	}
	got, err = sqsqueue.QueueURL(ctx, nil, "webhooks", &sqsqueue.URLOptions{Prefix: "http://h/1/", FIFO: true})
	if want := "http://h/1/webhooks.fifo"; err != nil || got != want {
		t.Errorf("QueueURL with a prefix, FIFO = %q, %v; want %q", got, err, want)
	}

	name := "sockudo-test-url-" + rand.Text()[:8]
	_, err = sqsqueue.QueueURL(ctx, client, name, nil)
	var missing *types.QueueDoesNotExist
	if !errors.As(err, &missing) {
		t.Errorf("QueueURL of a missing queue without Create = %v, want a wrapped QueueDoesNotExist", err)
	}
	created, err := sqsqueue.QueueURL(ctx, client, name, &sqsqueue.URLOptions{Create: true})
	if err != nil {
		t.Fatalf("QueueURL with Create: %v", err)
	}
	t.Cleanup(func() { client.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: &created}) })
	if !strings.HasSuffix(created, "/"+name) {
		t.Errorf("created queue URL %q does not end in /%s", created, name)
	}
	found, err := sqsqueue.QueueURL(ctx, client, name, nil)
	if err != nil || found != created {
		t.Errorf("QueueURL of an existing queue = %q, %v; want %q", found, err, created)
	}
}

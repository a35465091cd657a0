package sqs_test

import (
	"context"
	"log"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/sockudo-go/sockudo/queue"
	sqsqueue "github.com/sockudo-go/sockudo/queue/sqs"
)

func Example() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"))
	if err != nil {
		log.Fatal(err)
	}
	client := sqs.NewFromConfig(cfg)

	url, err := sqsqueue.QueueURL(ctx, client, "sockudo-webhooks", &sqsqueue.URLOptions{Create: true})
	if err != nil {
		log.Fatal(err)
	}
	q, err := sqsqueue.New(client, url, &sqsqueue.Options{Options: queue.Options{Concurrency: 10}})
	if err != nil {
		log.Fatal(err)
	}
	defer q.Close()

	if err := q.Enqueue(ctx, []byte(`{"hello":"world"}`)); err != nil {
		log.Fatal(err)
	}
	// In a server, run Consume in its own goroutine until shutdown.
	_ = q.Consume(ctx, func(ctx context.Context, j *queue.Job) error {
		log.Printf("message %s, receive %d: %s", j.ID, j.Attempt, j.Payload)
		return nil
	})
}

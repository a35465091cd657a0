package redis_test

import (
	"context"
	"log"
	"time"

	"github.com/redis/rueidis"

	"github.com/sockudo-go/sockudo/queue"
	redisqueue "github.com/sockudo-go/sockudo/queue/redis"
)

// The host owns the rueidis client (standalone, Sentinel or Cluster) and
// may share it with other drivers; the queue never closes it.
func Example() {
	client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{"127.0.0.1:6379"}})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	q, err := redisqueue.New(client, &redisqueue.Options{
		Prefix:  "sockudo_queue:",
		Name:    "webhooks",
		Lease:   30 * time.Second,
		Options: queue.Options{Concurrency: 10},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer q.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := q.Enqueue(ctx, []byte(`{"hello":"world"}`)); err != nil {
		log.Fatal(err)
	}
	// Consume blocks until ctx is done; run it in its own goroutine in a
	// server.
	err = q.Consume(ctx, func(ctx context.Context, j *queue.Job) error {
		log.Printf("job %s attempt %d: %s", j.ID, j.Attempt, j.Payload)
		return nil // acknowledge; an error would retry it with back-off
	})
	log.Println("consumer stopped:", err)
}

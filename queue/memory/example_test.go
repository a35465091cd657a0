package memory_test

import (
	"context"
	"fmt"

	"github.com/sockudo-go/sockudo/queue"
	"github.com/sockudo-go/sockudo/queue/memory"
)

func Example() {
	q, err := memory.New(&memory.Options{Capacity: 1000, Options: queue.Options{Concurrency: 2}})
	if err != nil {
		panic(err)
	}
	defer q.Close()

	ctx, cancel := context.WithCancel(context.Background())
	if err := q.Enqueue(ctx, []byte("hello")); err != nil {
		panic(err)
	}
	_ = q.Consume(ctx, func(ctx context.Context, j *queue.Job) error {
		fmt.Printf("attempt %d: %s\n", j.Attempt, j.Payload)
		cancel() // stop after one job
		return nil
	})
	// Output: attempt 1: hello
}

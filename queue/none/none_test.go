package none_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sockudo-go/sockudo/queue"
	"github.com/sockudo-go/sockudo/queue/none"
)

func TestEnqueueDropsAndConsumeNeverCalls(t *testing.T) {
	q := none.New()
	defer q.Close()
	ctx, cancel := context.WithCancel(context.Background())
	for range 3 {
		if err := q.Enqueue(ctx, []byte("dropped")); err != nil {
			t.Fatalf("Enqueue = %v, want nil", err)
		}
	}
	done := make(chan error, 1)
	called := make(chan struct{}, 1)
	go func() {
		done <- q.Consume(ctx, func(context.Context, *queue.Job) error {
			called <- struct{}{}
			return nil
		})
	}()
	select {
	case err := <-done:
		t.Fatalf("Consume returned %v before its context was cancelled", err)
	case <-called:
		t.Fatal("Consume called the handler")
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Consume after cancel = %v, want context.Canceled", err)
	}
	select {
	case <-called:
		t.Fatal("Consume called the handler")
	default:
	}
}

func TestClose(t *testing.T) {
	q := none.New()
	done := make(chan error, 1)
	go func() {
		done <- q.Consume(context.Background(), func(context.Context, *queue.Job) error { return nil })
	}()
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, queue.ErrClosed) {
		t.Errorf("running Consume after Close = %v, want ErrClosed", err)
	}
	if err := q.Enqueue(context.Background(), nil); !errors.Is(err, queue.ErrClosed) {
		t.Errorf("Enqueue after Close = %v, want ErrClosed", err)
	}
	if err := q.Consume(context.Background(), nil); !errors.Is(err, queue.ErrClosed) {
		t.Errorf("Consume after Close = %v, want ErrClosed", err)
	}
	if err := q.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func Example() {
	q := none.New()
	defer q.Close()
	err := q.Enqueue(context.Background(), []byte(`{"events":[]}`))
	fmt.Println("enqueue:", err)
	// Output: enqueue: <nil>
}

package memory_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sockudo-go/sockudo/queue"
	"github.com/sockudo-go/sockudo/queue/memory"
	"github.com/sockudo-go/sockudo/queue/queuetest"
)

func TestConformance(t *testing.T) {
	queuetest.Run(t, queuetest.Harness{
		Open: func(t *testing.T) queuetest.Opener {
			return func(t *testing.T, concurrency int) queue.Queue {
				q, err := memory.New(&memory.Options{
					Concurrency: concurrency,
					RetryBase:   10 * time.Millisecond,
					RetryMax:    50 * time.Millisecond,
				})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { q.Close() })
				return q
			}
		},
		Lease: 100 * time.Millisecond,
	})
}

func TestEnqueueFullReturnsErrFull(t *testing.T) {
	q, err := memory.New(&memory.Options{Capacity: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ctx := context.Background()
	for i := range 2 {
		if err := q.Enqueue(ctx, []byte{byte(i)}); err != nil {
			t.Fatalf("Enqueue %d: %v", i, err)
		}
	}
	if err := q.Enqueue(ctx, []byte("x")); !errors.Is(err, memory.ErrFull) {
		t.Fatalf("Enqueue on a full queue = %v, want ErrFull", err)
	}

	// A job being handled still counts; an acknowledged one frees its slot.
	took := make(chan struct{}, 2)
	release := make(chan struct{})
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- q.Consume(cctx, func(ctx context.Context, j *queue.Job) error {
			took <- struct{}{}
			<-release
			return nil
		})
	}()
	<-took
	if err := q.Enqueue(ctx, []byte("x")); !errors.Is(err, memory.ErrFull) {
		t.Fatalf("Enqueue with a job in flight = %v, want ErrFull", err)
	}
	release <- struct{}{}
	<-took
	deadline := time.Now().Add(5 * time.Second)
	for q.Enqueue(ctx, []byte("x")) != nil {
		if time.Now().After(deadline) {
			t.Fatal("slot not freed after acknowledgement")
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	cancel()
	<-done
}

func TestEnqueueHonoursContext(t *testing.T) {
	q, err := memory.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := q.Enqueue(ctx, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Enqueue with a cancelled context = %v, want context.Canceled", err)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for name, o := range map[string]memory.Options{
		"Capacity":    {Capacity: -1},
		"Concurrency": {Concurrency: -1},
		"RetryBase":   {RetryBase: -time.Second},
		"RetryMax":    {RetryBase: time.Minute, RetryMax: time.Second},
	} {
		if _, err := memory.New(&o); err == nil {
			t.Errorf("New with bad %s: no error", name)
		}
	}
}

func TestRetryBackoffUsesOptions(t *testing.T) {
	q, err := memory.New(&memory.Options{RetryBase: 300 * time.Millisecond, RetryMax: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type delivery struct {
		at      time.Time
		attempt int
	}
	got := make(chan delivery, 2)
	go q.Consume(ctx, func(ctx context.Context, j *queue.Job) error {
		got <- delivery{time.Now(), j.Attempt}
		if j.Attempt == 1 {
			return errors.New("fail once")
		}
		return nil
	})
	if err := q.Enqueue(ctx, []byte("x")); err != nil {
		t.Fatal(err)
	}
	first, second := <-got, <-got
	if gap := second.at.Sub(first.at); gap < 300*time.Millisecond {
		t.Fatalf("retried after %v, want at least RetryBase (300ms)", gap)
	}
	if first.attempt != 1 || second.attempt != 2 {
		t.Errorf("attempts %d then %d, want 1 then 2", first.attempt, second.attempt)
	}
}

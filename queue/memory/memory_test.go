package memory_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sockudo-go/sockudo/queue"
	"github.com/sockudo-go/sockudo/queue/memory"
	"github.com/sockudo-go/sockudo/queue/queuetest"
)

func TestConformance(t *testing.T) {
	queuetest.Run(t, queuetest.Harness{
		Open: func(t *testing.T) queuetest.Opener {
			return func(t *testing.T, concurrency int) queue.Queue {
				q, err := memory.New(&memory.Options{Options: queue.Options{
					Concurrency: concurrency,
					RetryBase:   10 * time.Millisecond,
					RetryMax:    50 * time.Millisecond,
				}})
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
	synctest.Test(t, func(t *testing.T) {
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
		release := make(chan struct{})
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			done <- q.Consume(cctx, func(ctx context.Context, j *queue.Job) error {
				<-release
				return nil
			})
		}()
		synctest.Wait() // both jobs in handlers
		if err := q.Enqueue(ctx, []byte("x")); !errors.Is(err, memory.ErrFull) {
			t.Fatalf("Enqueue with jobs in flight = %v, want ErrFull", err)
		}
		release <- struct{}{}
		synctest.Wait() // one job acknowledged
		if err := q.Enqueue(ctx, []byte("x")); err != nil {
			t.Fatalf("Enqueue after an acknowledgement = %v, want its slot freed", err)
		}
		close(release)
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Consume = %v, want context.Canceled", err)
		}
	})
}

func TestCloseDropsEveryJob(t *testing.T) {
	q, err := memory.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := q.Enqueue(ctx, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if st, err := q.Stats(ctx); err != nil || st.Depth != 1 {
		t.Fatalf("Stats before Close = %+v, %v; want Depth 1", st, err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if st, err := q.Stats(ctx); err != nil || st.Depth != 0 {
		t.Errorf("Stats after Close = %+v, %v; want Depth 0", st, err)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for name, o := range map[string]memory.Options{
		"Capacity":    {Capacity: -1},
		"Concurrency": {Options: queue.Options{Concurrency: -1}},
		"RetryMax":    {Options: queue.Options{RetryBase: time.Minute, RetryMax: time.Second}},
	} {
		if _, err := memory.New(&o); err == nil {
			t.Errorf("New with bad %s: no error", name)
		}
	}
}

package none

import (
	"context"
	"sync"

	"github.com/sockudo-go/sockudo/queue"
)

// Queue discards jobs. The zero value is not usable; call New.
type Queue struct {
	once sync.Once
	done chan struct{}
}

var _ queue.Queue = (*Queue)(nil)

// New returns a queue that drops every job.
func New() *Queue { return &Queue{done: make(chan struct{})} }

// Enqueue drops payload. It returns queue.ErrClosed after Close and nil
// otherwise: the job is not stored and no handler will ever see it.
func (q *Queue) Enqueue(ctx context.Context, payload []byte) error {
	select {
	case <-q.done:
		return queue.ErrClosed
	default:
		return nil
	}
}

// Consume never calls h. It blocks until ctx is cancelled, returning
// ctx.Err(), or until Close, returning queue.ErrClosed.
func (q *Queue) Consume(ctx context.Context, h queue.Handler) error {
	select {
	case <-q.done:
		return queue.ErrClosed
	default:
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-q.done:
		return queue.ErrClosed
	}
}

// Close makes Enqueue and Consume return queue.ErrClosed. It is
// idempotent.
func (q *Queue) Close() error {
	q.once.Do(func() { close(q.done) })
	return nil
}

package sockudo

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/sockudo-go/sockudo/internal/webhook"
	"github.com/sockudo-go/sockudo/queue"
	queuememory "github.com/sockudo-go/sockudo/queue/memory"
)

// startWebhooks starts webhook delivery through the queue (by default an
// in-memory one owned by the server) and registers its shutdown.
func (s *Server) startWebhooks() (*webhook.Dispatcher, error) {
	q := s.cfg.queue
	owned := q == nil
	if owned {
		mq, err := queuememory.New(nil)
		if err != nil {
			return nil, fmt.Errorf("sockudo: webhook queue: %w", err)
		}
		q = mq
	}
	d := webhook.New(q, webhook.Options{
		Logger:          s.log,
		LookupApp:       s.apps.FindByID,
		BatchingEnabled: s.cfg.webhookBatch > 0,
		BatchDuration:   s.cfg.webhookBatch,
		BatchSize:       s.cfg.webhookBatchSize,
		RetryFor:        s.cfg.webhookRetryFor,
		HTTPClient:      s.cfg.webhookClient,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := d.Run(ctx); err != nil && ctx.Err() == nil {
			s.log.LogAttrs(ctx, slog.LevelError, "webhook delivery stopped", slog.Any("error", err))
		}
	}()
	s.onStop(func(ctx context.Context) error {
		// Enqueue what is batched or held, give an in-memory queue the
		// time left to deliver, then stop consuming.
		err := d.Close(ctx)
		if owned {
			waitDrained(ctx, q)
		}
		cancel()
		<-done
		if owned {
			_ = q.Close()
		}
		return err
	})
	return d, nil
}

// waitDrained waits until q has no waiting or running job, or ctx ends.
func waitDrained(ctx context.Context, q queue.Queue) {
	sr, ok := q.(queue.StatsReporter)
	if !ok {
		return
	}
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		st, err := sr.Stats(ctx)
		if err != nil || st.Depth+st.InFlight == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

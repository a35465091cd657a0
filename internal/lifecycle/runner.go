package lifecycle

import (
	"context"
	"log/slog"
	"sync"

	"github.com/sockudo-go/sockudo/appmanager"
)

// RunnerOptions configures a Runner.
type RunnerOptions struct {
	// Wants reports whether Func wants events of the given name. Required.
	Wants func(name string) bool
	// Func handles one event. It runs on the Runner's goroutine; ctx is
	// cancelled when Close gives up waiting. Required.
	Func func(ctx context.Context, app *appmanager.App, ev Event)
	// MaxPending bounds the events waiting for Func; beyond it new events
	// are dropped with a log line. Required (positive).
	MaxPending int
	// Logger receives drops. Required.
	Logger *slog.Logger
}

// Runner is a Consumer that calls a function for the events it wants, one
// at a time on a goroutine of its own, in the order it received them, so
// a slow function never blocks the Stream or the hub.
type Runner struct {
	opts   RunnerOptions
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	queue    []queued
	closed   bool
	dropping int // events dropped since the queue filled

	kick chan struct{}
	done chan struct{}
}

type queued struct {
	app *appmanager.App
	ev  Event
}

// NewRunner starts a Runner; Close stops it.
func NewRunner(opts RunnerOptions) *Runner {
	ctx, cancel := context.WithCancel(context.Background())
	r := &Runner{
		opts:   opts,
		ctx:    ctx,
		cancel: cancel,
		kick:   make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	go r.loop()
	return r
}

// Wants reports whether the Runner's function wants event name.
func (r *Runner) Wants(_ *appmanager.App, name, _ string) bool { return r.opts.Wants(name) }

// Emit queues ev for the function. It never blocks.
func (r *Runner) Emit(app *appmanager.App, ev Event) {
	if !r.opts.Wants(ev.Name) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	if len(r.queue) >= r.opts.MaxPending {
		if r.dropping == 0 {
			r.opts.Logger.LogAttrs(context.Background(), slog.LevelError,
				"lifecycle hooks are too slow: dropping channel events",
				slog.String("app_id", app.ID), slog.Int("max_pending", r.opts.MaxPending))
		}
		r.dropping++
		return
	}
	r.queue = append(r.queue, queued{app: app, ev: ev})
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

func (r *Runner) loop() {
	defer close(r.done)
	for {
		r.mu.Lock()
		if len(r.queue) == 0 {
			if r.dropping > 0 {
				r.opts.Logger.LogAttrs(context.Background(), slog.LevelWarn,
					"lifecycle hooks caught up", slog.Int("dropped", r.dropping))
				r.dropping = 0
			}
			closed := r.closed
			r.mu.Unlock()
			if closed || r.ctx.Err() != nil {
				return
			}
			select {
			case <-r.kick:
			case <-r.ctx.Done():
			}
			continue
		}
		q := r.queue[0]
		r.queue[0] = queued{}
		r.queue = r.queue[1:]
		r.mu.Unlock()
		if r.ctx.Err() != nil {
			continue // Close gave up: drop what is left
		}
		r.opts.Func(r.ctx, q.app, q.ev)
	}
}

// Close stops accepting events and waits until the queued ones are
// handled or ctx is done. In the second case it cancels the function's
// context, drops what is left without waiting for the call in progress,
// and returns ctx's error.
func (r *Runner) Close(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
	select {
	case <-r.done:
		r.cancel()
		return nil
	case <-ctx.Done():
		// The call in progress, if any, sees its context cancelled and
		// ends on its own; nothing after it runs.
		r.cancel()
		return ctx.Err()
	}
}

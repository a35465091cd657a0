package webhook

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pusher "github.com/pusher/pusher-http-go/v5"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/internal/testenv"
	"github.com/sockudo-go/sockudo/queue"
	"github.com/sockudo-go/sockudo/queue/memory"
)

// fakeClock runs AfterFunc callbacks when a test advances it.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Time
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.stopped {
		return false
	}
	t.stopped = true
	return true
}

// Advance moves the clock and runs, in order, the callbacks that fall due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	for _, t := range c.timers {
		if !t.stopped && !t.at.After(c.now) {
			t.stopped = true
			due = append(due, t)
		}
	}
	c.mu.Unlock()
	slices.SortFunc(due, func(a, b *fakeTimer) int { return a.at.Compare(b.at) })
	for _, t := range due {
		t.f()
	}
}

// receiver is an httptest webhook endpoint that checks every request with
// pusher-http-go.
type receiver struct {
	*httptest.Server
	sdk pusher.Client

	mu   sync.Mutex
	reqs []request
	// respond, if set, may answer request n (0-based) itself, returning
	// true, to simulate a failing receiver.
	respond func(n int, w http.ResponseWriter, r *http.Request) bool
}

type request struct {
	header http.Header
	body   []byte
	hook   *pusher.Webhook // nil when the request was refused or invalid
	err    error
}

func newReceiver(t *testing.T, app *appmanager.App) *receiver {
	rc := &receiver{sdk: pusher.Client{AppID: app.ID, Key: app.Key, Secret: app.Secret}}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	n := len(rc.reqs)
	respond := rc.respond
	rc.reqs = append(rc.reqs, request{header: r.Header.Clone(), body: body})
	rc.mu.Unlock()
	if respond != nil && respond(n, w, r) {
		return
	}
	hook, err := rc.sdk.Webhook(r.Header, body)
	rc.mu.Lock()
	rc.reqs[n].hook, rc.reqs[n].err = hook, err
	rc.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (rc *receiver) requests() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.reqs)
}

// events returns the events of every accepted request, in arrival order.
func (rc *receiver) events() []pusher.WebhookEvent {
	var out []pusher.WebhookEvent
	for _, r := range rc.requests() {
		if r.hook != nil {
			out = append(out, r.hook.Events...)
		}
	}
	return out
}

// waitEvents waits until the receiver accepted at least n events.
func (rc *receiver) waitEvents(t *testing.T, n int) []pusher.WebhookEvent {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, "webhook events", func() bool { return len(rc.events()) >= n })
	return rc.events()
}

func testApp(url string) *appmanager.App {
	return &appmanager.App{
		ID: "app-1", Key: "key-1", Secret: "secret-1", Enabled: true,
		Webhooks: []appmanager.Webhook{{URL: url, Headers: map[string]string{"X-Custom": "yes"}}},
	}
}

func lookupFor(apps ...*appmanager.App) func(context.Context, string) (*appmanager.App, error) {
	return func(_ context.Context, id string) (*appmanager.App, error) {
		for _, a := range apps {
			if a.ID == id {
				return a, nil
			}
		}
		return nil, appmanager.ErrNotFound
	}
}

// outcomeQueue reports every handler result of the queue it wraps.
type outcomeQueue struct {
	queue.Queue
	outcomes chan error
}

func (o *outcomeQueue) Consume(ctx context.Context, h queue.Handler) error {
	return o.Queue.Consume(ctx, func(ctx context.Context, j *queue.Job) error {
		err := h(ctx, j)
		o.outcomes <- err
		return err
	})
}

func (o *outcomeQueue) next(t *testing.T) error {
	t.Helper()
	select {
	case err := <-o.outcomes:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for a delivery outcome")
		return nil
	}
}

// newPlainQueue returns a memory queue with one handler at a time, so
// webhooks arrive in the order they were enqueued.
func newPlainQueue(t *testing.T) *memory.Queue {
	q, err := memory.New(&memory.Options{Options: queue.Options{Concurrency: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

func newMemoryQueue(t *testing.T) *outcomeQueue {
	return &outcomeQueue{Queue: newPlainQueue(t), outcomes: make(chan error, 1000)}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// startDispatcher creates a Dispatcher on q with fast retries, runs it
// and stops it when the test ends.
func startDispatcher(t *testing.T, q queue.Queue, opts Options) *Dispatcher {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.RetryBase == 0 {
		opts.RetryBase, opts.RetryMax = 10*time.Millisecond, 50*time.Millisecond
	}
	d := New(q, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Run(ctx)
	}()
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer ccancel()
		d.Close(cctx)
		cancel()
		<-done
	})
	return d
}

// logRecorder keeps log records for assertions.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, r.Message)
	return nil
}
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

func (l *logRecorder) has(msg string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.msgs, msg)
}

// newCountingServer is a minimal receiver for benchmarks: it counts the
// events of each request and answers 200. It returns its URL.
func newCountingServer(b testing.TB, n *atomic.Int64) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		n.Add(int64(bytes.Count(body, []byte(`"name":`))))
	}))
	b.Cleanup(srv.Close)
	return srv.URL
}

package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/internal/lifecycle"
	"github.com/sockudo-go/sockudo/queue"
)

// Clock lets tests control time. Now must be safe for concurrent use;
// AfterFunc runs f in its own goroutine after d, unless stopped.
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop prevents the call, reporting whether it did.
	Stop() bool
}

type realClock struct{}

func (realClock) Now() time.Time                            { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Options configures a Dispatcher. A zero or negative value selects the
// field's default.
type Options struct {
	// Logger receives delivery failures and drops (default slog.Default()).
	Logger *slog.Logger
	// HTTPClient sends the webhooks (default: a client that keeps up to
	// 64 idle connections per host and does not follow redirects, which
	// count as failures that are not retried).
	HTTPClient *http.Client
	// LookupApp finds an app by id when a job is delivered, for its key
	// and secret; appmanager.Manager's FindByID fits. An error matching
	// appmanager.ErrNotFound drops the job. Run requires it.
	LookupApp func(ctx context.Context, appID string) (*appmanager.App, error)
	// BatchingEnabled groups an app's events into one request per target.
	BatchingEnabled bool
	// BatchDuration is how long a batch collects events (default 50 ms).
	BatchDuration time.Duration
	// BatchSize flushes a batch when it holds this many events (default
	// 100).
	BatchSize int
	// RetryFor is how long after its enqueue a failing webhook is retried
	// (default 5 min).
	RetryFor time.Duration
	// RetryBase and RetryMax bound the exponential back-off between
	// attempts (defaults 1 s and 60 s).
	RetryBase, RetryMax time.Duration
	// RequestTimeout bounds one POST (default 10 s).
	RequestTimeout time.Duration
	// MaxPending bounds the jobs waiting in memory to be enqueued, for
	// when the queue is unreachable; beyond it new webhooks are dropped
	// with a log line (default 100000).
	MaxPending int
	// Clock replaces the real clock in tests.
	Clock Clock
}

func (o *Options) setDefaults() {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.BatchDuration, 50*time.Millisecond)
	def(&o.RetryFor, 5*time.Minute)
	def(&o.RetryBase, time.Second)
	def(&o.RetryMax, time.Minute)
	def(&o.RequestTimeout, 10*time.Second)
	if o.RetryMax < o.RetryBase {
		o.RetryMax = o.RetryBase
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 100
	}
	if o.MaxPending <= 0 {
		o.MaxPending = 100000
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.HTTPClient == nil {
		// Webhooks go to few hosts from many handlers at once: keep
		// more idle connections per host than net/http's default of 2.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		o.HTTPClient = &http.Client{
			Transport:     tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
}

// Dispatcher builds, batches, enqueues and delivers webhooks. Create it
// with New; its methods are safe for concurrent use.
type Dispatcher struct {
	q    queue.Queue
	opts Options
	log  *slog.Logger
	re   patterns

	mu       sync.Mutex
	closed   bool
	batches  map[string]*batch // by app id
	outbox   [][]byte          // jobs waiting to be enqueued
	dropping int               // jobs dropped since the outbox filled

	kick       chan struct{} // wakes the sender
	closing    chan struct{} // closed by Close: sender exits when the outbox is empty
	abort      chan struct{} // closed when Close gives up waiting
	abortOnce  sync.Once
	senderDone chan struct{}
}

// New returns a Dispatcher that enqueues webhook jobs on q and starts its
// background sender. Zero options take their defaults.
func New(q queue.Queue, opts Options) *Dispatcher {
	opts.setDefaults()
	d := &Dispatcher{
		q:          q,
		opts:       opts,
		log:        opts.Logger,
		batches:    make(map[string]*batch),
		kick:       make(chan struct{}, 1),
		closing:    make(chan struct{}),
		abort:      make(chan struct{}),
		senderDone: make(chan struct{}),
	}
	go d.sendLoop()
	return d
}

// batch collects an app's events until it is flushed.
type batch struct {
	appID, appKey string
	targets       []*target
	count         int
	timer         Timer
}

// target is one webhook URL's share of a batch.
type target struct {
	index   int // in the app's Webhooks when the batch started
	url     string
	headers map[string]string
	events  []json.RawMessage
}

// Emit adds ev to app's webhooks at once: the delay of channel_vacated
// and member_removed is applied before, by the lifecycle.Stream in front
// of the Dispatcher. It never blocks; see the package doc for when to
// call it. Emit after Close is ignored.
func (d *Dispatcher) Emit(app *appmanager.App, ev lifecycle.Event) {
	if app == nil || !d.Wants(app, ev.Name, ev.Channel) {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.closed {
		d.addLocked(app, ev)
	}
}

// addLocked adds ev to its app's batch, or enqueues it at once when
// batching is off. d.mu must be held.
func (d *Dispatcher) addLocked(app *appmanager.App, ev lifecycle.Event) {
	var raw json.RawMessage
	for i := range app.Webhooks {
		w := &app.Webhooks[i]
		if !d.wants(w, ev.Name, ev.Channel) {
			continue
		}
		if raw == nil {
			raw = encodeEvent(ev)
		}
		if !d.opts.BatchingEnabled {
			d.pushLocked(app.ID, app.Key, w.URL, w.Headers, []json.RawMessage{raw})
			continue
		}
		b := d.batches[app.ID]
		if b == nil {
			b = &batch{appID: app.ID, appKey: app.Key}
			d.batches[app.ID] = b
		}
		b.add(i, w, raw)
	}
	if raw == nil || !d.opts.BatchingEnabled {
		return
	}
	b := d.batches[app.ID]
	b.count++
	switch {
	case b.count >= d.opts.BatchSize || d.closed:
		d.flushLocked(b)
	case b.timer == nil:
		b.timer = d.opts.Clock.AfterFunc(d.opts.BatchDuration, func() {
			d.mu.Lock()
			defer d.mu.Unlock()
			if d.batches[b.appID] == b {
				d.flushLocked(b)
			}
		})
	}
}

func (b *batch) add(index int, w *appmanager.Webhook, raw json.RawMessage) {
	for _, t := range b.targets {
		if t.index == index && t.url == w.URL {
			t.events = append(t.events, raw)
			return
		}
	}
	b.targets = append(b.targets, &target{index: index, url: w.URL, headers: w.Headers, events: []json.RawMessage{raw}})
}

// flushLocked turns a batch into one job per target. d.mu must be held.
func (d *Dispatcher) flushLocked(b *batch) {
	if b.timer != nil {
		b.timer.Stop()
	}
	delete(d.batches, b.appID)
	for _, t := range b.targets {
		d.pushLocked(b.appID, b.appKey, t.url, t.headers, t.events)
	}
}

// job is a queued webhook request. It holds no secret.
type job struct {
	AppID   string            `json:"app_id"`
	AppKey  string            `json:"app_key"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	// Body is the exact request body, kept as a string so that it
	// survives the job's JSON encoding byte for byte.
	Body string `json:"body"`
}

// pushLocked builds a job for events and queues it for the sender. d.mu
// must be held.
func (d *Dispatcher) pushLocked(appID, appKey, url string, headers map[string]string, events []json.RawMessage) {
	if len(d.outbox) >= d.opts.MaxPending {
		if d.dropping == 0 {
			d.log.LogAttrs(context.Background(), slog.LevelError,
				"webhook backlog full: the queue is not accepting jobs; dropping webhooks",
				slog.String("app_id", appID), slog.Int("max_pending", d.opts.MaxPending))
		}
		d.dropping++
		return
	}
	body := make([]byte, 0, 64+len(events)*64)
	body = append(body, `{"time_ms":`...)
	body = strconv.AppendInt(body, d.opts.Clock.Now().UnixMilli(), 10)
	body = append(body, `,"events":[`...)
	for i, e := range events {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, e...)
	}
	body = append(body, "]}"...)
	payload, err := json.Marshal(job{AppID: appID, AppKey: appKey, URL: url, Headers: headers, Body: string(body)})
	if err != nil { // cannot happen: strings and a map of strings
		d.log.LogAttrs(context.Background(), slog.LevelError, "webhook job cannot be encoded",
			slog.String("app_id", appID), slog.Any("error", err))
		return
	}
	d.outbox = append(d.outbox, payload)
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// wireEvent is an event in a webhook body.
type wireEvent struct {
	Name              string  `json:"name"`
	Channel           string  `json:"channel"`
	Event             string  `json:"event,omitempty"`
	Data              *string `json:"data,omitempty"`
	SocketID          string  `json:"socket_id,omitempty"`
	UserID            string  `json:"user_id,omitempty"`
	SubscriptionCount *int    `json:"subscription_count,omitempty"`
}

func encodeEvent(ev lifecycle.Event) json.RawMessage {
	w := wireEvent{Name: ev.Name, Channel: ev.Channel}
	switch ev.Name {
	case lifecycle.MemberAdded, lifecycle.MemberRemoved:
		w.UserID = ev.UserID
	case lifecycle.ClientEvent:
		w.Event, w.Data, w.SocketID, w.UserID = ev.Event, &ev.Data, ev.SocketID, ev.UserID
	case lifecycle.SubscriptionCount:
		w.SubscriptionCount = &ev.SubscriptionCount
	default:
		w.UserID, w.SocketID = ev.UserID, ev.SocketID
	}
	raw, _ := json.Marshal(w) // strings and ints only: cannot fail
	return raw
}

// sendLoop moves jobs from the outbox to the queue, retrying while the
// queue fails, until Close.
func (d *Dispatcher) sendLoop() {
	defer close(d.senderDone)
	var failing time.Duration
	for {
		d.mu.Lock()
		if len(d.outbox) == 0 {
			if d.dropping > 0 {
				d.log.LogAttrs(context.Background(), slog.LevelWarn, "webhook backlog drained",
					slog.Int("dropped", d.dropping))
				d.dropping = 0
			}
			d.mu.Unlock()
			select {
			case <-d.kick:
				continue
			case <-d.closing:
				d.mu.Lock()
				empty := len(d.outbox) == 0
				d.mu.Unlock()
				if empty {
					return
				}
				continue
			}
		}
		payload := d.outbox[0]
		d.mu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := d.q.Enqueue(ctx, payload)
		cancel()
		if err != nil {
			if errors.Is(err, queue.ErrClosed) {
				d.giveUp("the queue is closed")
				return
			}
			failing = min(max(2*failing, 50*time.Millisecond), 5*time.Second)
			d.log.LogAttrs(context.Background(), slog.LevelWarn, "webhook cannot be enqueued; retrying",
				slog.Any("error", err), slog.Duration("retry_in", failing))
			t := time.NewTimer(failing)
			select {
			case <-t.C:
			case <-d.abort:
				t.Stop()
				d.giveUp("Close timed out")
				return
			}
			continue
		}
		failing = 0
		d.mu.Lock()
		d.outbox[0] = nil
		d.outbox = d.outbox[1:]
		d.mu.Unlock()
	}
}

// giveUp drops the outbox with a log line.
func (d *Dispatcher) giveUp(why string) {
	d.mu.Lock()
	n := len(d.outbox)
	d.outbox = nil
	d.mu.Unlock()
	if n > 0 {
		d.log.LogAttrs(context.Background(), slog.LevelError, "webhooks lost: "+why, slog.Int("jobs", n))
	}
}

// Close flushes every batch at once, then waits until the jobs are
// enqueued or ctx is done. Emit calls after Close are ignored; close the
// lifecycle.Stream in front first, so that what it holds gets here. Close
// does not stop Run (cancel its context) and does not close the queue.
func (d *Dispatcher) Close(ctx context.Context) error {
	d.mu.Lock()
	if !d.closed {
		d.closed = true
		for _, b := range d.batches {
			d.flushLocked(b)
		}
		close(d.closing)
	}
	d.mu.Unlock()
	select {
	case <-d.senderDone:
		return nil
	case <-ctx.Done():
		d.abortOnce.Do(func() { close(d.abort) })
		return ctx.Err()
	}
}

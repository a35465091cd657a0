package hub

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockudo-go/sockudo/cache"
	"github.com/sockudo-go/sockudo/internal/logthrottle"
	"github.com/sockudo-go/sockudo/ratelimit"
)

// SlowConsumerPolicy says what to do with a socket whose outbound queue is
// full.
type SlowConsumerPolicy uint8

const (
	// CloseSlowConsumer closes the socket with 4100 so the client
	// reconnects after a back-off and resynchronises.
	CloseSlowConsumer SlowConsumerPolicy = iota
	// DropMessages drops the messages that do not fit and keeps the socket.
	DropMessages
)

// Config configures a Hub. Every field but Events, Hooks, Cache and Now
// is required; the server's options hold the defaults.
type Config struct {
	Logger *slog.Logger
	// ActivityTimeout is announced to clients; after this much silence the
	// server pings.
	ActivityTimeout time.Duration
	// PongTimeout is how long a ping may go unanswered before the socket is
	// closed with 4201.
	PongTimeout time.Duration
	// MaxMessageBytes bounds an incoming message; larger ones get a
	// pusher:error and are discarded.
	MaxMessageBytes int
	// OutboundQueue bounds the messages waiting to be written to one
	// socket.
	OutboundQueue int
	// SlowConsumer is applied when the outbound queue is full.
	SlowConsumer SlowConsumerPolicy
	// UserAuthTimeout is how long a socket of an app with user
	// authentication enabled may stay signed out.
	UserAuthTimeout time.Duration
	// MaxConnections bounds sockets on this node (0 = unlimited); beyond
	// it new sockets are closed with 4100.
	MaxConnections int
	// Cache stores the last event of cache channels.
	Cache cache.Cache
	// CacheTTL is how long a cache channel keeps its last event.
	CacheTTL time.Duration
	// Events receives channel transitions (for webhooks and lifecycle
	// hooks); nil disables them.
	Events EventSink
	// Hooks are the host's inline callbacks.
	Hooks Hooks
	// Limiter enforces the per-app backend and read budgets. Client
	// events are limited per socket, in process. Required.
	Limiter ratelimit.Limiter
	// Now is the clock (for tests); nil means time.Now.
	Now func() time.Time

	// Caps against hostile clients; see README "Limits and hardening".
	//
	// MaxChannelsPerSocket bounds one socket's subscriptions; a subscribe
	// beyond it is refused (4100), the socket stays open. Required.
	MaxChannelsPerSocket int
	// SubscribeRate is the subscribes per second one socket may sustain.
	// Its burst is MaxChannelsPerSocket, so a client resubscribing to all
	// its channels after a reconnect is never refused. Required.
	SubscribeRate int
	// ClientEventRate is the client events per second per socket (and the
	// burst) for apps that set no max_client_events_per_second; 0 means
	// unlimited.
	ClientEventRate int
	// MaxChannelsListed bounds a channel listing (GET /channels); more
	// matching channels are a 400 limit_exceeded. Required.
	MaxChannelsListed int
	// Per-socket budgets against hostile clients. Zero disables one;
	// negative is an error. The server's options hold the defaults.
	SocketBudget SocketBudget
}

// SocketBudget bounds what one socket may cost the server.
type SocketBudget struct {
	// OutboundBytes bounds the bytes waiting to be written to one socket
	// (a broadcast frame shared by many sockets counts in each queue but
	// is not copied); above it the socket is closed with 4100 (or, under
	// DropMessages, the frame dropped). While more than half of it (or of
	// OutboundQueue) is queued, the server stops reading the socket, so a
	// client that does not read its replies cannot make it queue more.
	OutboundBytes int
	// InboundFramesPerSecond and InboundBytesPerSecond are token buckets
	// on what the socket sends, pings and pongs included; beyond either
	// the socket is closed with 4100 so the client backs off. The frame
	// bucket holds InboundFrameBurst frames; the byte bucket one second's
	// worth or four maximum messages, whichever is larger.
	InboundFramesPerSecond int
	InboundFrameBurst      int
	InboundBytesPerSecond  int
	// MaxProtocolErrors invalid frames within ProtocolErrorWindow close the
	// socket with 4300 (the client is told not to reconnect as is: it
	// would send the same frames again).
	MaxProtocolErrors   int
	ProtocolErrorWindow time.Duration
}

func (b *SocketBudget) validate() error {
	if b.OutboundBytes < 0 || b.InboundFramesPerSecond < 0 || b.InboundFrameBurst < 0 ||
		b.InboundBytesPerSecond < 0 || b.MaxProtocolErrors < 0 || b.ProtocolErrorWindow < 0 {
		return errors.New("hub: Config.SocketBudget fields must not be negative")
	}
	if b.MaxProtocolErrors > 0 && b.ProtocolErrorWindow == 0 {
		return errors.New("hub: Config.SocketBudget.ProtocolErrorWindow is needed with MaxProtocolErrors")
	}
	return nil
}

// validate checks cfg; the server's options hold the defaults, so a zero
// value here is a wiring mistake, not a request for a default.
func (c *Config) validate() error {
	switch {
	case c.Logger == nil:
		return errors.New("hub: Config.Logger is nil")
	case c.Limiter == nil:
		return errors.New("hub: Config.Limiter is nil")
	case c.ActivityTimeout < time.Second:
		return fmt.Errorf("hub: Config.ActivityTimeout %s is shorter than 1 s", c.ActivityTimeout)
	case c.PongTimeout <= 0, c.UserAuthTimeout <= 0, c.CacheTTL <= 0:
		return errors.New("hub: Config.PongTimeout, UserAuthTimeout and CacheTTL must be positive")
	case c.MaxMessageBytes <= 0 || c.OutboundQueue <= 0:
		return errors.New("hub: Config.MaxMessageBytes and OutboundQueue must be positive")
	case c.MaxChannelsPerSocket <= 0 || c.SubscribeRate <= 0 || c.MaxChannelsListed <= 0:
		return errors.New("hub: Config.MaxChannelsPerSocket, SubscribeRate and MaxChannelsListed must be positive")
	case c.ClientEventRate < 0:
		return errors.New("hub: Config.ClientEventRate is negative")
	}
	if err := c.SocketBudget.validate(); err != nil {
		return err
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// Hub holds every app's sockets and channels on this node.
type Hub struct {
	cfg  Config
	log  *slog.Logger
	dbg  debugLogs
	seed maphash.Seed

	mu      sync.RWMutex
	apps    map[string]*appState
	closing bool

	conns    atomic.Int64
	errs     [numErrTypes]atomic.Uint64 // connection errors before the app is known
	draining chan struct{}
	wg       sync.WaitGroup // one per open socket

	// lookupWarn bounds the "app lookup failed" lines: while the store is
	// down or overloaded every upgrade would write one.
	lookupWarn *logthrottle.Throttle
}

// New returns a Hub.
func New(cfg Config) (*Hub, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Hub{
		cfg:      cfg,
		log:      cfg.Logger,
		dbg:      newDebugLogs(cfg.Logger),
		seed:     maphash.MakeSeed(),
		apps:     make(map[string]*appState),
		draining: make(chan struct{}),

		lookupWarn: logthrottle.New(time.Second, 10),
	}, nil
}

// closeFlushTimeout bounds how long a closing socket may take to flush its
// queue and close: the pong timeout, at most 10 s.
func (h *Hub) closeFlushTimeout() time.Duration {
	return min(h.cfg.PongTimeout, 10*time.Second)
}

// Connections returns the number of open sockets on this node.
func (h *Hub) Connections() int { return int(h.conns.Load()) }

// app returns the state of the app with the given id, creating it.
func (h *Hub) app(id string) *appState {
	h.mu.RLock()
	a := h.apps[id]
	h.mu.RUnlock()
	if a != nil {
		return a
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if a = h.apps[id]; a == nil {
		a = newAppState(id, h.seed)
		h.apps[id] = a
	}
	return a
}

// lookupApp returns the state of an app if any socket ever used it.
func (h *Hub) lookupApp(id string) *appState {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.apps[id]
}

// Shutdown closes every socket with 4200 after flushing what is queued to
// it, and waits for them until ctx is done.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	if h.closing {
		h.mu.Unlock()
		return nil
	}
	h.closing = true
	close(h.draining)
	apps := make([]*appState, 0, len(h.apps))
	for _, a := range h.apps {
		apps = append(apps, a)
	}
	h.mu.Unlock()

	for _, a := range apps {
		for _, c := range a.allConns() {
			c.closeGracefully(4200, "Server shutting down")
		}
	}
	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		for _, a := range apps {
			for _, c := range a.allConns() {
				c.abort()
			}
		}
		return ctx.Err()
	}
}

// Closing reports whether Shutdown has started.
func (h *Hub) Closing() bool {
	select {
	case <-h.draining:
		return true
	default:
		return false
	}
}

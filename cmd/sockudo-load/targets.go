package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/appmanager"
)

const (
	benchChannel = "bench"
	benchEvent   = "tick"
	appID        = "load"
	appKey       = "load-key"
	appSecret    = "load-secret"
)

// subscribeFrame is what every client sends to join the bench channel.
var subscribeFrame = `{"event":"pusher:subscribe","data":{"channel":"` + benchChannel + `"}}`

// target is a server under measurement, listening on loopback.
type target struct {
	name string
	url  string // WebSocket URL
	// publish delivers data as a "tick" event on the bench channel.
	publish func(ctx context.Context, data string) error
	// subscribers is the number of sockets subscribed to the bench channel.
	subscribers func() int
	// conns is the number of open sockets.
	conns func() int
	close func(ctx context.Context) error
	// api is the HTTP API's host:port and stats the server's figures; the
	// floor has neither.
	api   string
	stats func() sockudo.Stats
}

// httpLimits bound the requests of a target's listener.
type httpLimits struct {
	readHeader, read, write, idle time.Duration
	maxHeaderBytes                int
}

// defaultHTTPLimits are generous for the HTTP API requests the soak
// scenario sends, and keep a stuck client from holding a connection. A
// WebSocket is hijacked, and net/http clears the connection's deadlines
// when it hands it over, so none of them cut a socket short.
var defaultHTTPLimits = httpLimits{
	readHeader:     10 * time.Second,
	read:           30 * time.Second,
	write:          30 * time.Second,
	idle:           60 * time.Second,
	maxHeaderBytes: 64 << 10,
}

// serve runs h on a new 127.0.0.1 listener and returns its address and a
// function that closes it.
func serve(h http.Handler, lim httpLimits) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: lim.readHeader,
		ReadTimeout:       lim.read,
		WriteTimeout:      lim.write,
		IdleTimeout:       lim.idle,
		MaxHeaderBytes:    lim.maxHeaderBytes,
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = hs.Serve(ln) // returns when closed
	}()
	return ln.Addr().String(), func() {
		_ = hs.Close()
		<-done
	}, nil
}

// newSockudoTarget starts a sockudo.Server with its defaults and one app.
func newSockudoTarget() (*target, error) {
	srv, err := sockudo.New(
		sockudo.WithApps(appmanager.App{ID: appID, Key: appKey, Secret: appSecret, Enabled: true}),
		sockudo.WithLogger(slog.New(slog.DiscardHandler)),
	)
	if err != nil {
		return nil, err
	}
	addr, stop, err := serve(srv, defaultHTTPLimits)
	if err != nil {
		_ = srv.Shutdown(context.Background())
		return nil, err
	}
	channels := []string{benchChannel}
	return &target{
		name: "sockudo",
		url:  "ws://" + addr + "/app/" + appKey + "?protocol=7&client=sockudo-load",
		publish: func(ctx context.Context, data string) error {
			return srv.Trigger(ctx, appID, sockudo.Event{Name: benchEvent, Channels: channels, Data: data})
		},
		subscribers: func() int {
			ci, err := srv.Channel(context.Background(), appID, benchChannel)
			if err != nil {
				return -1
			}
			return ci.SubscriptionCount
		},
		conns: func() int { return srv.Stats().Connections },
		api:   addr,
		stats: srv.Stats,
		close: func(ctx context.Context) error {
			err := srv.Shutdown(ctx)
			stop()
			return err
		},
	}, nil
}

// newFloorTarget starts the floor broadcaster.
func newFloorTarget(queue int) (*target, error) {
	f := &floor{queue: queue, subs: make(map[chan []byte]struct{})}
	addr, stop, err := serve(f, defaultHTTPLimits)
	if err != nil {
		return nil, err
	}
	return &target{
		name:        "floor",
		url:         "ws://" + addr + "/app/" + appKey,
		publish:     f.publish,
		subscribers: f.subscribers,
		conns:       func() int { return int(f.conns.Load()) },
		close: func(context.Context) error {
			stop()
			return nil
		},
	}, nil
}

// floor is the baseline broadcaster: one channel; per socket, the
// handler's goroutine reads and one goroutine writes what a buffered
// channel holds. Any frame a client sends subscribes it. Publishing
// encodes the frame once and hands the same bytes to every subscriber
// under a read lock; a full channel blocks the publisher (nothing is
// dropped).
type floor struct {
	queue int
	conns atomic.Int64

	mu   sync.RWMutex
	subs map[chan []byte]struct{}
}

var (
	floorEstablished = []byte(`{"event":"pusher:connection_established","data":"{\"socket_id\":\"1.1\",\"activity_timeout\":120}"}`)
	floorSubscribed  = []byte(`{"event":"pusher_internal:subscription_succeeded","channel":"` + benchChannel + `","data":"{}"}`)
)

func (f *floor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	f.conns.Add(1)
	defer f.conns.Add(-1)
	defer ws.CloseNow()
	ctx := r.Context()
	out := make(chan []byte, f.queue)
	go func() {
		for m := range out {
			if ws.Write(ctx, websocket.MessageText, m) != nil {
				break
			}
		}
		for range out { // the socket is dead: keep publishers from blocking
		}
	}()
	out <- floorEstablished
	subscribed := false
	for {
		if _, _, err := ws.Read(ctx); err != nil {
			break
		}
		if !subscribed {
			f.mu.Lock()
			f.subs[out] = struct{}{}
			f.mu.Unlock()
			subscribed = true
		}
		out <- floorSubscribed
	}
	if subscribed {
		f.mu.Lock()
		delete(f.subs, out)
		f.mu.Unlock()
	}
	close(out)
}

func (f *floor) publish(_ context.Context, data string) error {
	quoted, err := json.Marshal(data)
	if err != nil {
		return err
	}
	frame := []byte(`{"event":"` + benchEvent + `","channel":"` + benchChannel + `","data":` + string(quoted) + `}`)
	f.mu.RLock()
	for out := range f.subs {
		out <- frame
	}
	f.mu.RUnlock()
	return nil
}

func (f *floor) subscribers() int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return len(f.subs)
}

// startTargets starts sockudo and the floor.
func startTargets(floorQueue int) ([]*target, error) {
	s, err := newSockudoTarget()
	if err != nil {
		return nil, fmt.Errorf("start sockudo: %w", err)
	}
	f, err := newFloorTarget(floorQueue)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("start floor: %w", err), s.close(context.Background()))
	}
	return []*target{s, f}, nil
}

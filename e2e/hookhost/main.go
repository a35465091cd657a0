// Command hookhost is a tiny host program that embeds the server with
// hooks, for the end-to-end tests to drive with the real pusher-js. It
// serves the e2e default app (app-id, app-key, app-secret, client events
// on) and the app refused-key, on $HOST:$PORT:
//
//   - OnConnect refuses every socket of refused-key with 4009 and tags
//     the others with the host data "tag-<socket id>";
//   - OnSubscribe vetoes every channel whose name contains "vetoed", and
//     any subscription of a socket without its tag (which would mean the
//     host data was lost);
//   - OnClientEvent drops client-blocked silently;
//   - the lifecycle hooks record what they see, served as a JSON array of
//     {name, channel, user_id, subscription_count, at_ms} at
//     GET /hook-events.
//
// The vacate and member_removed delay is $HOOKHOST_DELAY_MS (default
// 1000). SIGTERM shuts the server down and exits 0.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/appmanager"
)

// record is one lifecycle hook call.
type record struct {
	Name              string `json:"name"`
	Channel           string `json:"channel"`
	UserID            string `json:"user_id,omitempty"`
	SubscriptionCount int    `json:"subscription_count,omitempty"`
	AtMS              int64  `json:"at_ms"`
}

type recorder struct {
	mu  sync.Mutex
	all []record
}

func (r *recorder) hook(_ context.Context, ev sockudo.ChannelEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, record{Name: ev.Name, Channel: ev.Channel, UserID: ev.UserID,
		SubscriptionCount: ev.SubscriptionCount, AtMS: time.Now().UnixMilli()})
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	r.mu.Lock()
	b, err := json.Marshal(r.all)
	r.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

func hooks(rec *recorder) sockudo.Hooks {
	return sockudo.Hooks{
		OnConnect: func(_ context.Context, _ *http.Request, s sockudo.Socket) (any, error) {
			if s.AppID == "refused-app" {
				return nil, &sockudo.ProtocolError{Code: 4009, Message: "Refused by the host"}
			}
			return "tag-" + s.ID, nil
		},
		OnSubscribe: func(_ context.Context, s sockudo.Socket, sub sockudo.Subscription) error {
			if s.Data != "tag-"+s.ID {
				return &sockudo.ProtocolError{Code: 4009, Message: "Host data lost"}
			}
			if strings.Contains(sub.Channel, "vetoed") {
				return &sockudo.ProtocolError{Code: 4009, Message: "Vetoed by the host"}
			}
			return nil
		},
		OnClientEvent: func(_ context.Context, _ sockudo.Socket, ev sockudo.ClientEvent) error {
			if ev.Name == "client-blocked" {
				return errors.New("blocked")
			}
			return nil
		},
		OnChannelOccupied:   rec.hook,
		OnChannelVacated:    rec.hook,
		OnMemberAdded:       rec.hook,
		OnMemberRemoved:     rec.hook,
		OnSubscriptionCount: rec.hook,
	}
}

func run() error {
	delay := time.Second
	if v := os.Getenv("HOOKHOST_DELAY_MS"); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms <= 0 {
			return fmt.Errorf("HOOKHOST_DELAY_MS=%q is not a positive number", v)
		}
		delay = time.Duration(ms) * time.Millisecond
	}
	rec := &recorder{}
	srv, err := sockudo.New(
		sockudo.WithApps(
			appmanager.App{ID: "app-id", Key: "app-key", Secret: "app-secret", Enabled: true, EnableClientMessages: true},
			appmanager.App{ID: "refused-app", Key: "refused-key", Secret: "refused-secret", Enabled: true},
		),
		sockudo.WithWebhookDelay(delay),
		sockudo.WithHooks(hooks(rec)),
	)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/hook-events", rec)
	mux.Handle("/", srv)
	ln, err := net.Listen("tcp", net.JoinHostPort(os.Getenv("HOST"), os.Getenv("PORT")))
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	return errors.Join(err, hs.Shutdown(sctx))
}

func main() {
	if err := run(); err != nil {
		slog.Error("hookhost failed", slog.Any("error", err))
		os.Exit(1)
	}
}

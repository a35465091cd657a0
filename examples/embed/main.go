package main

import (
	"context"
	"errors"
	"log"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/appmanager"
)

const (
	appID     = "app-id"
	appKey    = "app-key"
	appSecret = "app-secret"
)

func main() {
	srv, err := sockudo.New(sockudo.WithApps(appmanager.App{
		ID: appID, Key: appKey, Secret: appSecret, Enabled: true, EnableClientMessages: true,
	}))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/pusher/", http.StripPrefix("/pusher", srv))
	mux.HandleFunc("POST /auth/channel", authorizeChannel)
	mux.HandleFunc("POST /auth/user", authenticateUser)
	mux.HandleFunc("POST /say", func(w http.ResponseWriter, r *http.Request) {
		// Publish from Go, no HTTP API round trip.
		err := srv.Trigger(r.Context(), appID, sockudo.Event{
			Name: "message", Channels: []string{"chat"}, Data: `{"text":"hello"}`,
		})
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
	})

	// Bound slow and idle clients. WebSockets are hijacked, so these
	// deadlines do not apply to them.
	hs := &http.Server{
		Addr:              "127.0.0.1:8080",
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       20 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx) // sockets get 4200 and reconnect elsewhere
		_ = hs.Shutdown(sctx)
	}()
	slog.Info("listening", "addr", hs.Addr)
	if err := hs.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// currentUser stands in for the host's own session handling.
func currentUser(r *http.Request) (string, bool) {
	id := r.Header.Get("X-User")
	return id, id != ""
}

func authorizeChannel(w http.ResponseWriter, r *http.Request) {
	user, ok := currentUser(r)
	if !ok {
		http.Error(w, "sign in first", http.StatusForbidden)
		return
	}
	socketID, channel := r.FormValue("socket_id"), r.FormValue("channel_name")
	var body []byte
	var err error
	if strings.HasPrefix(channel, "presence-") {
		body, err = sockudo.AuthorizePresenceChannel(appKey, appSecret, socketID, channel,
			sockudo.PresenceMember{UserID: user, UserInfo: map[string]string{"name": user}})
	} else {
		body, err = sockudo.AuthorizeChannel(appKey, appSecret, socketID, channel)
	}
	writeAuth(w, body, err)
}

func authenticateUser(w http.ResponseWriter, r *http.Request) {
	user, ok := currentUser(r)
	if !ok {
		http.Error(w, "sign in first", http.StatusForbidden)
		return
	}
	body, err := sockudo.AuthenticateUser(appKey, appSecret, r.FormValue("socket_id"), sockudo.User{ID: user})
	writeAuth(w, body, err)
}

func writeAuth(w http.ResponseWriter, body []byte, err error) {
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

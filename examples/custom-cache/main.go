package main

import (
	"context"
	"errors"
	"log"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/appmanager"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	c := newMapCache(5 * time.Minute)
	go func() {
		// The host owns the driver, so the host runs its housekeeping.
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				c.Sweep(now)
			}
		}
	}()

	srv, err := sockudo.New(
		sockudo.WithApps(appmanager.App{ID: "app-id", Key: "app-key", Secret: "app-secret", Enabled: true}),
		sockudo.WithCache(c), // cache channels and the server's shared state live in mapCache
	)
	if err != nil {
		log.Fatal(err)
	}
	// Bound slow and idle clients. WebSockets are hijacked, so these
	// deadlines do not apply to them.
	hs := &http.Server{
		Addr:              "127.0.0.1:6001",
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       20 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		_ = hs.Shutdown(sctx)
	}()
	slog.Info("listening", "addr", hs.Addr)
	if err := hs.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

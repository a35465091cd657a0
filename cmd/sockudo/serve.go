package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/cmd/sockudo/internal/config"
)

// serverOptions turns the server-wide settings into sockudo options; the
// drivers' options come from package backends.
func serverOptions(cfg *config.Config, log *slog.Logger) []sockudo.Option {
	return []sockudo.Option{
		sockudo.WithLogger(log),
		sockudo.WithPathPrefix(cfg.PathPrefix),
		sockudo.WithActivityTimeout(config.Seconds(cfg.ActivityTimeout)),
		sockudo.WithUserAuthenticationTimeout(config.Seconds(cfg.UserAuthenticationTimeout)),
		sockudo.WithMaxConnections(cfg.MaxConnections),
		sockudo.WithMaxChannelsPerConnection(cfg.ChannelLimits.MaxChannelsPerConnection),
		sockudo.WithSubscribeRate(cfg.ChannelLimits.MaxSubscriptionsPerSecond),
		sockudo.WithMaxChannelsListed(cfg.ChannelLimits.MaxChannelsListed),
		sockudo.WithClientEventRate(cfg.EventLimits.MaxClientEventsPerSecond),
		sockudo.WithRequestBodyTimeout(config.Seconds(cfg.HTTP.BodyTimeout)),
		sockudo.WithMaxRequestBody(cfg.MaxBodyBytes()),
		sockudo.WithMaxMessageSize(cfg.MaxMessageBytes()),
	}
}

// handler is the binary's HTTP handler: the server, plus the health check
// at the root (prefix + "/") as well as at /up, as soketi and Sockudo
// answer it, so load balancers set up for them keep working. The library
// itself answers only /up.
func handler(prefix string, srv *sockudo.Server) http.Handler {
	// A ServeMux pattern would panic on a prefix holding a wildcard, so
	// the root is matched by hand.
	root, health := prefix+"/", srv.HealthHandler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == root {
			health.ServeHTTP(w, r)
			return
		}
		srv.ServeHTTP(w, r)
	})
}

// serve runs the HTTP (and metrics) listeners until ctx is cancelled, then
// shuts down within the grace period.
func serve(ctx context.Context, cfg *config.Config, srv *sockudo.Server, log *slog.Logger) error {
	if err := cfg.HTTP.Validate(); err != nil {
		return err
	}
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	hs := newHTTPServer(addr, handler(cfg.PathPrefix, srv), cfg.HTTP, log)
	errc := make(chan error, 2)
	go func() {
		var err error
		if cfg.SSL.Enabled {
			log.Info("serving", "addr", addr, "tls", true)
			err = hs.ListenAndServeTLS(cfg.SSL.CertPath, cfg.SSL.KeyPath)
		} else {
			log.Info("serving", "addr", addr)
			err = hs.ListenAndServe()
		}
		if !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	var ms *http.Server
	if cfg.Metrics.Enabled {
		maddr := net.JoinHostPort(cfg.Metrics.Host, strconv.Itoa(cfg.Metrics.Port))
		warnPublic(log, "metrics", cfg.Metrics.Host)
		ms = newHTTPServer(maddr, metricsHandler(srv), cfg.HTTP, log)
		go func() {
			log.Info("serving metrics", "addr", maddr+"/metrics")
			if err := ms.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("metrics: %w", err)
			}
		}()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	grace := config.Seconds(cfg.ShutdownGracePeriod)
	if grace <= 0 {
		grace = time.Second
	}
	log.Info("shutting down", "grace", grace)
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	// Close sockets (4200) first, then stop listening and drain requests.
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, sockudo.ErrServerClosed) {
		log.Warn("shutdown", "error", err)
	}
	_ = hs.Shutdown(sctx)
	if ms != nil {
		_ = ms.Shutdown(sctx)
	}
	return nil
}

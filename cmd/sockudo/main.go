package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/sockudo-go/sockudo"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "sockudo:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	configPath := fs.String("config", "", "path to a Sockudo config.json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, unknown, err := loadConfig(*configPath, env{lookup: os.LookupEnv})
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if cfg.Debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	for _, k := range unknown {
		log.Warn("config key not supported, ignored", "key", k)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	srv, closers, err := buildServer(ctx, &cfg, log)
	defer func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}()
	if err != nil {
		return err
	}
	return serve(ctx, &cfg, srv, log)
}

// buildServer opens the configured drivers and creates the Server. The
// returned closers release the drivers, last opened first.
func buildServer(ctx context.Context, cfg *Config, log *slog.Logger) (*sockudo.Server, []func(), error) {
	var closers []func()
	if cfg.Adapter.Driver != "" && cfg.Adapter.Driver != "local" {
		return nil, nil, fmt.Errorf("adapter.driver (ADAPTER_DRIVER) %q: this version runs a single node; only \"local\" is supported", cfg.Adapter.Driver)
	}
	opts := []sockudo.Option{
		sockudo.WithLogger(log),
		sockudo.WithPathPrefix(cfg.PathPrefix),
		sockudo.WithActivityTimeout(seconds(cfg.ActivityTimeout)),
		sockudo.WithUserAuthenticationTimeout(seconds(cfg.UserAuthenticationTimeout)),
		sockudo.WithMaxConnections(cfg.MaxConnections),
	}
	apps, closeApps, err := openAppManager(ctx, cfg, log)
	if err != nil {
		return nil, closers, err
	}
	closers = append(closers, closeApps)
	opts = append(opts, sockudo.WithAppManager(apps))
	if cfg.AppManager.Cache.Enabled {
		opts = append(opts, sockudo.WithAppCache(seconds(cfg.AppManager.Cache.TTL)))
	} else {
		opts = append(opts, sockudo.WithAppCache(0))
	}

	c, closeCache, err := openCache(ctx, cfg, log)
	if err != nil {
		return nil, closers, err
	}
	closers = append(closers, closeCache)
	if c != nil {
		opts = append(opts, sockudo.WithCache(c))
	}

	q, closeQueue, err := openQueue(ctx, cfg, log)
	if err != nil {
		return nil, closers, err
	}
	closers = append(closers, closeQueue)
	if q != nil {
		opts = append(opts, sockudo.WithQueue(q))
	}
	if err := cfg.Webhooks.validate(); err != nil {
		return nil, closers, err
	}
	opts = append(opts, webhookOptions(&cfg.Webhooks)...)

	l, closeLimiter, err := openRateLimiter(ctx, cfg, log)
	if err != nil {
		return nil, closers, err
	}
	closers = append(closers, closeLimiter)
	opts = append(opts, rateLimitOptions(&cfg.RateLimiter, l)...)

	srv, err := sockudo.New(opts...)
	if err != nil {
		return nil, closers, err
	}
	return srv, closers, nil
}

// serve runs the HTTP (and metrics) listeners until ctx is cancelled, then
// shuts down within the grace period.
func serve(ctx context.Context, cfg *Config, srv *sockudo.Server, log *slog.Logger) error {
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	hs := &http.Server{Addr: addr, Handler: srv, ReadHeaderTimeout: 10 * time.Second}
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
		ms = &http.Server{Addr: maddr, Handler: metricsHandler(srv), ReadHeaderTimeout: 10 * time.Second}
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
	grace := seconds(cfg.ShutdownGracePeriod)
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

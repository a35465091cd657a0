package main

import (
	"context"
	"errors"
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
	"github.com/sockudo-go/sockudo/cmd/sockudo/internal/config"
)

// serverOptions turns the server-wide settings into sockudo options; the
// drivers' options come from package backends.
func serverOptions(cfg *config.Config, log *slog.Logger) []sockudo.Option {
	compression, ok := cfg.WebSocket.CompressionMode()
	if !ok {
		log.Warn("websocket.compression not known, compression disabled (as Sockudo does)", "value", cfg.WebSocket.Compression)
	}
	return []sockudo.Option{
		sockudo.WithCORS(cfg.CORS.Policy()),
		sockudo.WithCompression(compression),
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
	if prefix == "/" {
		prefix = ""
	}
	root, health := prefix+"/", srv.HealthHandler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == root {
			health.ServeHTTP(w, r)
			return
		}
		srv.ServeHTTP(w, r)
	})
}

// metricsMaxConnections caps the metrics listener's connections: a few
// scrapers need no more, and it must not take descriptors from clients.
const metricsMaxConnections = 64

// warnFDLimit warns when http.max_connections is above what the process's
// file-descriptor limit leaves for connections: the cap would then not
// keep descriptors for health checks and the stores.
func warnFDLimit(log *slog.Logger, max int) {
	if n, ok := config.FDMaxConnections(); ok && max > n {
		log.Warn("http.max_connections is above what the file-descriptor limit (ulimit -n) leaves for connections; raise the limit or lower the cap",
			"max_connections", max, "fd_limit_allows", n)
	}
}

// listener is one bound socket and the server that will serve it.
type listener struct {
	name string
	ln   net.Listener
	hs   *http.Server
	tls  bool
}

// serve binds every listener first (main, metrics, the http->https
// redirect), so a taken port fails the start before anything is reported
// as serving, then serves them until ctx is cancelled and shuts down
// within the grace period.
func serve(ctx context.Context, cfg *config.Config, srv *sockudo.Server, log *slog.Logger) error {
	if err := listen(ctx, cfg, srv, log); err != nil {
		// Stop the server's background work (webhook delivery) before
		// the caller closes the drivers under it.
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		return err
	}
	return nil
}

// listen is serve without the cleanup after a failed start.
func listen(ctx context.Context, cfg *config.Config, srv *sockudo.Server, log *slog.Logger) error {
	if err := cfg.HTTP.Validate(); err != nil {
		return err
	}
	warnFDLimit(log, cfg.HTTP.MaxConnections)
	if err := cfg.Metrics.Validate(); err != nil {
		return err
	}
	var ls []*listener
	closeAll := func() {
		for _, l := range ls {
			_ = l.ln.Close()
		}
	}
	// bind listens on addr, holding at most maxConns connections (see
	// limitConns; tls: a refusal cannot be answered in plain text).
	bind := func(name, addr string, h http.Handler, maxConns int, tls bool) (*listener, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("%s listener: %w", name, err)
		}
		hs := newHTTPServer(addr, h, cfg.HTTP, log)
		l := &listener{name: name, ln: limitConns(ln, hs, maxConns, tls, log), hs: hs}
		ls = append(ls, l)
		return l, nil
	}

	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	var certs *certReloader
	if cfg.SSL.Enabled {
		var err error
		if certs, err = newCertReloader(cfg.SSL.CertPath, cfg.SSL.KeyPath, log); err != nil {
			return err
		}
	}
	main, err := bind("main", addr, handler(cfg.PathPrefix, srv), cfg.HTTP.MaxConnections, certs != nil)
	if err != nil {
		return err
	}
	if certs != nil {
		main.tls = true
		main.hs.TLSConfig = certs.tlsConfig()
		if cfg.SSL.RedirectHTTP {
			raddr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.SSL.HTTPPort))
			// The bound port, which differs from cfg.Port when that is 0.
			httpsPort := main.ln.Addr().(*net.TCPAddr).Port
			if _, err := bind("http redirect", raddr, redirectHandler(httpsPort), cfg.HTTP.MaxConnections, false); err != nil {
				return err
			}
		}
	}
	if cfg.Metrics.Enabled {
		maddr := net.JoinHostPort(cfg.Metrics.Host, strconv.Itoa(cfg.Metrics.Port))
		warnPublic(log, "metrics", cfg.Metrics.Host)
		if _, err := bind("metrics", maddr, metricsHandler(srv, cfg.Metrics), metricsMaxConnections, false); err != nil {
			return err
		}
	}

	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	if certs != nil {
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		go certs.watch(wctx, hup, certPollInterval)
	}
	errc := make(chan error, len(ls))
	for _, l := range ls {
		// The configured host with the bound port (the port may be 0).
		host, _, _ := net.SplitHostPort(l.hs.Addr)
		_, port, _ := net.SplitHostPort(l.ln.Addr().String())
		bound := net.JoinHostPort(host, port)
		switch {
		case l.name == "main":
			log.Info("serving", "addr", bound, "tls", l.tls, "max_connections", cfg.HTTP.MaxConnections)
		case l.name == "metrics":
			log.Info("serving metrics", "addr", bound+"/metrics")
		default:
			log.Info("serving "+l.name, "addr", bound, "to_port", main.ln.Addr().(*net.TCPAddr).Port)
		}
		go func() {
			var err error
			if l.tls {
				err = l.hs.ServeTLS(l.ln, "", "")
			} else {
				err = l.hs.Serve(l.ln)
			}
			if !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("%s listener: %w", l.name, err)
			}
		}()
	}
	var failed error
	select {
	case failed = <-errc:
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
	for _, l := range ls {
		_ = l.hs.Shutdown(sctx)
	}
	return failed
}

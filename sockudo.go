package sockudo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/appmanager/memory"
	"github.com/sockudo-go/sockudo/cache"
	"github.com/sockudo-go/sockudo/internal/appcache"
	"github.com/sockudo-go/sockudo/internal/hub"
	"github.com/sockudo-go/sockudo/internal/protocol"
	"github.com/sockudo-go/sockudo/internal/ratelimithttp"
	"github.com/sockudo-go/sockudo/ratelimit"
	ratelimitmemory "github.com/sockudo-go/sockudo/ratelimit/memory"
)

// Server is a Pusher protocol 7 server. It is an http.Handler serving
// /app/{key} (WebSocket), /apps/{app_id}/... (HTTP API) and /up (health)
// under whatever prefix the host mounts it at.
type Server struct {
	cfg      config
	log      *slog.Logger
	hub      *hub.Hub
	apps     appmanager.Manager // cached
	rawApps  appmanager.Manager // what the host gave, for health checks
	cache    cache.Cache
	appCache *appcache.Cache
	api      http.Handler
	limiter  ratelimit.Limiter
	wsRule   *ratelimithttp.Rule

	closed   atomic.Bool
	stopOnce sync.Once
	stop     []func(context.Context) error // background work to stop, in order
}

// New returns a Server configured by opts. It validates every option and
// starts background work (webhook delivery, cache cleanup); Shutdown stops
// it.
func New(opts ...Option) (*Server, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.logger}
	if err := s.init(); err != nil {
		s.stopAll(context.Background())
		return nil, err
	}
	return s, nil
}

func (s *Server) init() error {
	cfg := &s.cfg
	apps := cfg.apps
	if apps == nil {
		m, err := memory.New(cfg.staticApps...)
		if err != nil {
			return invalidOption("WithApps", "%v", err)
		}
		apps = m
	}
	s.rawApps = apps
	s.apps = s.cacheApps(apps)

	limiter := cfg.limiter
	if limiter == nil {
		l, err := ratelimitmemory.New(nil)
		if err != nil {
			return fmt.Errorf("sockudo: rate limiter: %w", err)
		}
		limiter = l
	}
	if g, ok := limiter.(*ratelimit.Guard); ok {
		s.limiter = g // the host chose its failure policy
	} else {
		s.limiter = ratelimit.NewGuard(limiter, &ratelimit.GuardOptions{FailClosed: cfg.limiterFailClosed, Logger: s.log})
	}

	hc := hub.Config{
		Logger:          s.log,
		ActivityTimeout: cfg.activityTimeout,
		PongTimeout:     cfg.pongTimeout,
		MaxMessageBytes: cfg.maxMessageBytes,
		OutboundQueue:   cfg.outboundQueue,
		SlowConsumer:    hub.SlowConsumerPolicy(cfg.slowConsumer),
		UserAuthTimeout: cfg.userAuthTimeout,
		MaxConnections:  cfg.maxConnections,
		CacheTTL:        cfg.cacheTTL,
		Limiter:         s.limiter,
		Now:             cfg.now,
	}
	if err := s.initCache(&hc); err != nil {
		return err
	}
	if err := s.initWebhooks(&hc); err != nil {
		return err
	}
	h, err := hub.New(hc)
	if err != nil {
		return fmt.Errorf("sockudo: %w", err)
	}
	s.hub = h
	return s.initAPI()
}

// ServeHTTP routes a request to the WebSocket endpoint, the HTTP API or
// the health check.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if p := s.cfg.pathPrefix; p != "" {
		rest, ok := strings.CutPrefix(path, p)
		if !ok || (rest != "" && rest[0] != '/') {
			http.NotFound(w, r)
			return
		}
		path = rest
	}
	switch {
	case strings.HasPrefix(path, "/app/"):
		key := strings.TrimPrefix(path, "/app/")
		if key == "" || strings.Contains(key, "/") {
			http.NotFound(w, r)
			return
		}
		s.serveWS(w, r, key)
	case strings.HasPrefix(path, "/apps/"):
		if s.closed.Load() {
			writeJSONError(w, http.StatusServiceUnavailable, "server is shutting down")
			return
		}
		r2 := r
		if path != r.URL.Path {
			r2 = r.Clone(r.Context())
			r2.URL.Path = path
			r2.URL.RawPath = ""
		}
		s.api.ServeHTTP(w, r2)
	case path == "/up":
		s.serveHealth(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request, key string) {
	if !s.allowConnection(w, r) {
		return
	}
	s.hub.ServeWS(w, r, key, hub.ConnectOptions{
		Apps:           s.apps,
		StrictProtocol: s.cfg.strictProtocol,
	})
}

// serveHealth answers /up: OK, DRAINING during shutdown, or ERROR when
// the app store or the cache does not answer, so a load balancer can take
// the server out of rotation.
func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	status := "OK"
	if s.closed.Load() {
		status = "DRAINING"
	} else if err := s.checkBackends(r.Context()); err != nil {
		s.log.LogAttrs(r.Context(), slog.LevelWarn, "health check failed", slog.Any("error", err))
		status = "ERROR"
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Health-Check", status)
	if status != "OK" {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	fmt.Fprintln(w, status)
}

// healthProbe is a key no app or cache entry has.
const healthProbe = "__sockudo_health_probe__"

// checkBackends asks the app store (bypassing the app cache) and the cache
// for an absent key: "not found" proves they answer.
func (s *Server) checkBackends(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := s.rawApps.FindByID(ctx, healthProbe); err != nil && !errors.Is(err, appmanager.ErrNotFound) {
		return fmt.Errorf("app manager: %w", err)
	}
	if _, err := s.cache.Get(ctx, healthProbe); err != nil && !errors.Is(err, cache.ErrNotFound) {
		return fmt.Errorf("cache: %w", err)
	}
	return nil
}

// Shutdown stops accepting connections, closes every socket with 4200 (so
// clients reconnect at once, elsewhere) after flushing what is queued to
// it, then stops background work, delivering what it can of pending
// webhooks. It returns when done or when ctx ends. Later calls return
// ErrServerClosed.
func (s *Server) Shutdown(ctx context.Context) error {
	if !s.closed.CompareAndSwap(false, true) {
		return ErrServerClosed
	}
	err := s.hub.Shutdown(ctx)
	if e := s.stopAll(ctx); err == nil {
		err = e
	}
	return err
}

func (s *Server) stopAll(ctx context.Context) error {
	var errs []error
	s.stopOnce.Do(func() {
		for i := len(s.stop) - 1; i >= 0; i-- {
			if err := s.stop[i](ctx); err != nil {
				errs = append(errs, err)
			}
		}
	})
	return errors.Join(errs...)
}

// onStop registers background work to stop at Shutdown (in reverse order).
func (s *Server) onStop(f func(context.Context) error) { s.stop = append(s.stop, f) }

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b := []byte(`{"error":`)
	b = protocol.AppendString(b, msg)
	b = fmt.Appendf(b, `,"status":%d}`, status)
	_, _ = w.Write(b)
}

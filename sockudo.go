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
	cachememory "github.com/sockudo-go/sockudo/cache/memory"
	"github.com/sockudo-go/sockudo/internal/apierr"
	"github.com/sockudo-go/sockudo/internal/appcache"
	"github.com/sockudo-go/sockudo/internal/httpapi"
	"github.com/sockudo-go/sockudo/internal/hub"
	"github.com/sockudo-go/sockudo/internal/logthrottle"
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
	limiter  *ratelimit.Guard
	wsRule   *ratelimithttp.Rule
	apiCount ruleCounter // decisions of the per-IP limits (metrics.go)
	wsCount  ruleCounter

	health healthVerdict
	// healthWarn bounds the lines of failed /up/{app_id} lookups, which a
	// prober triggers at will while the store is down.
	healthWarn *logthrottle.Throttle

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

// init builds the server from its validated config, top to bottom: apps,
// rate limiter, cache, webhooks and lifecycle events, hub, HTTP API.
func (s *Server) init() error {
	cfg := &s.cfg
	s.healthWarn = logthrottle.New(time.Second, 10)
	apps := cfg.apps
	if apps == nil {
		m, err := memory.New(cfg.staticApps...)
		if err != nil {
			return invalidOption("WithApps", "%v", err)
		}
		apps = m
	}
	s.rawApps = apps
	appOpts := appcache.DefaultOptions()
	appOpts.TTL, appOpts.NegativeTTL = cfg.appCacheTTL, cfg.appCacheNegTTL
	s.appCache = appcache.New(apps, appOpts)
	s.apps = s.appCache

	limiter := cfg.limiter
	if limiter == nil {
		l, err := ratelimitmemory.New(nil)
		if err != nil {
			return fmt.Errorf("sockudo: rate limiter: %w", err)
		}
		limiter = l
	}
	s.limiter = ratelimit.NewGuard(limiter, &ratelimit.GuardOptions{FailClosed: cfg.limiterFailClosed, Logger: s.log})

	s.cache = cfg.cache
	if s.cache == nil {
		mc := cachememory.New(nil)
		s.onStop(func(context.Context) error { return mc.Close() })
		s.cache = mc
	}

	dispatcher, err := s.startWebhooks()
	if err != nil {
		return err
	}
	events := s.startLifecycle(dispatcher)

	s.hub, err = hub.New(hub.Config{
		Logger:          s.log,
		ActivityTimeout: cfg.activityTimeout,
		PongTimeout:     cfg.pongTimeout,
		MaxMessageBytes: cfg.maxMessageBytes,
		OutboundQueue:   cfg.outboundQueue,
		SlowConsumer:    hub.SlowConsumerPolicy(cfg.slowConsumer),
		UserAuthTimeout: cfg.userAuthTimeout,
		MaxConnections:  cfg.maxConnections,
		Cache:           s.cache,
		CacheTTL:        cfg.cacheTTL,
		Events:          events,
		Hooks:           cfg.hooks.inline(s.log),
		Limiter:         s.limiter,

		MaxChannelsPerSocket: cfg.maxChannels,
		SubscribeRate:        cfg.subscribeRate,
		ClientEventRate:      cfg.clientEventRate,
		MaxChannelsListed:    cfg.maxListed,
		SocketBudget:         cfg.socketBudget,
	})
	if err != nil {
		return fmt.Errorf("sockudo: %w", err)
	}

	api, err := httpapi.New(httpapi.Config{
		Apps:            s.apps,
		Hub:             s.hub,
		Logger:          s.log,
		MaxBodyBytes:    cfg.maxBodyBytes,
		BodyReadTimeout: cfg.bodyTimeout,
		TimestampSkew:   cfg.timestampSkew,
		CountCall:       s.hub.CountAPICall,
	})
	if err != nil {
		return fmt.Errorf("sockudo: %w", err)
	}
	s.api = api
	if rule := s.rule(cfg.apiLimit, "api:", &s.apiCount); rule != nil {
		s.api = ratelimithttp.Middleware(*rule, api)
	}
	s.wsRule = s.rule(cfg.wsLimit, "ws:", &s.wsCount)
	return nil
}

// InvalidateApp drops the app with the given id from the server's app
// cache at once, so a change made in the app store applies to the next
// lookup instead of after the cache TTL. Sockets already open keep the
// settings they connected with.
func (s *Server) InvalidateApp(id string) { s.appCache.Invalidate(id) }

// ServeHTTP routes a request to the WebSocket endpoint (/app/{key}), the
// HTTP API (/apps/...) or the health checks (/up, /up/{app_id} and /live,
// see health.go), under the path prefix if one is set; WithCORS applies
// to all of them. A host that wants them on different listeners mounts
// WebSocketHandler, APIHandler and HealthHandler instead.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path, ok := s.trimPrefix(r.URL.Path)
	if ok && s.cfg.cors != nil && s.cfg.cors.serve(w, r) {
		return // a CORS preflight, answered
	}
	switch {
	case !ok:
		http.NotFound(w, r)
	case strings.HasPrefix(path, "/app/"):
		s.serveWS(w, r, path)
	case strings.HasPrefix(path, "/apps/"):
		s.serveAPI(w, r, path)
	case path == "/up":
		s.serveHealth(w, r)
	case strings.HasPrefix(path, "/up/"):
		s.serveAppHealth(w, r, strings.TrimPrefix(path, "/up/"))
	case path == "/live":
		serveLive(w, r)
	default:
		http.NotFound(w, r)
	}
}

// WebSocketHandler returns the handler of the WebSocket endpoint alone:
// it serves /app/{key} (under the path prefix, if set) and answers 404 to
// any other path.
func (s *Server) WebSocketHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path, ok := s.trimPrefix(r.URL.Path)
		if !ok || !strings.HasPrefix(path, "/app/") {
			http.NotFound(w, r)
			return
		}
		s.serveWS(w, r, path)
	})
}

// APIHandler returns the handler of the HTTP API alone: it serves
// /apps/... (under the path prefix, if set), so a host can put the API on
// an internal listener and the WebSocket endpoint on a public one.
func (s *Server) APIHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path, ok := s.trimPrefix(r.URL.Path)
		if !ok || !strings.HasPrefix(path, "/apps/") {
			apierr.Write(w, apierr.New(http.StatusNotFound, apierr.CodeNotFound, "no API endpoint at %q", r.URL.Path))
			return
		}
		if s.cfg.cors != nil && s.cfg.cors.serve(w, r) {
			return
		}
		s.serveAPI(w, r, path)
	})
}

// HealthHandler returns the health check alone. It answers any path it is
// mounted at: 200 OK, or 503 with DRAINING during shutdown or ERROR when
// a backend does not answer.
func (s *Server) HealthHandler() http.Handler { return http.HandlerFunc(s.serveHealth) }

// trimPrefix removes the configured path prefix from path, reporting
// false when path is not under it.
func (s *Server) trimPrefix(path string) (string, bool) {
	p := s.cfg.pathPrefix
	if p == "" {
		return path, true
	}
	rest, ok := strings.CutPrefix(path, p)
	if !ok || (rest != "" && rest[0] != '/') {
		return "", false
	}
	return rest, true
}

// serveAPI serves the HTTP API at path, r's path without the prefix.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, path string) {
	if s.closed.Load() {
		apierr.Write(w, apierr.New(http.StatusServiceUnavailable, apierr.CodeUnavailable, "server is shutting down"))
		return
	}
	if path != r.URL.Path {
		r = r.Clone(r.Context())
		r.URL.Path = path
		r.URL.RawPath = ""
	}
	s.api.ServeHTTP(w, r)
}

// serveWS serves the WebSocket endpoint at path, /app/{key}.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request, path string) {
	key := strings.TrimPrefix(path, "/app/")
	if key == "" || strings.Contains(key, "/") {
		http.NotFound(w, r)
		return
	}
	if !s.allowConnection(w, r) {
		return
	}
	s.hub.ServeWS(w, r, key, hub.ConnectOptions{
		Apps:           s.apps,
		StrictProtocol: s.cfg.strictProtocol,
		Compression:    s.cfg.compression.mode(),
	})
}

// serveHealth answers the health check: OK, DRAINING during shutdown, or
// ERROR when the app store or the cache does not answer, so a load
// balancer can take the server out of rotation. Only GET and HEAD are
// answered, from a verdict at most healthTTL old, so a flood of health
// requests costs the backends one probe per healthTTL.
func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	if !healthMethod(w, r) {
		return
	}
	status := healthOK
	if s.closed.Load() {
		status = healthDraining
	} else if err := s.health.check(r.Context(), s.checkBackends); err != nil {
		status = healthError
	}
	writeHealth(w, r, status)
}

// healthTTL is how long a health verdict is reused.
const healthTTL = 2 * time.Second

// healthVerdict caches the result of the backend probe.
type healthVerdict struct {
	mu      sync.Mutex
	checked time.Time
	err     error
}

// check returns the cached verdict, probing again when it is older than
// healthTTL. Concurrent callers wait for one probe.
func (v *healthVerdict) check(ctx context.Context, probe func(context.Context) error) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.checked.IsZero() && time.Since(v.checked) < healthTTL {
		return v.err
	}
	// The probe outlives a caller that gives up: its verdict serves the
	// others.
	v.err = probe(context.WithoutCancel(ctx))
	v.checked = time.Now()
	return v.err
}

// healthProbe is a key no app or cache entry has.
const healthProbe = "__sockudo_health_probe__"

// checkBackends asks the app store (bypassing the app cache) and the cache
// for an absent key: "not found" proves they answer. A failure is logged.
func (s *Server) checkBackends(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var err error
	if _, e := s.rawApps.FindByID(ctx, healthProbe); e != nil && !errors.Is(e, appmanager.ErrNotFound) {
		err = fmt.Errorf("app manager: %w", e)
	} else if _, e := s.cache.Get(ctx, healthProbe); e != nil && !errors.Is(e, cache.ErrNotFound) {
		err = fmt.Errorf("cache: %w", e)
	}
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, "health check failed", slog.Any("error", err))
	}
	return err
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

package sockudo

import (
	"context"
	"fmt"
	"net/http"

	"github.com/sockudo-go/sockudo/appmanager"
	cachememory "github.com/sockudo-go/sockudo/cache/memory"
	"github.com/sockudo-go/sockudo/internal/appcache"
	"github.com/sockudo-go/sockudo/internal/httpapi"
	"github.com/sockudo-go/sockudo/internal/hub"
	"github.com/sockudo-go/sockudo/internal/protocol"
	"github.com/sockudo-go/sockudo/internal/ratelimithttp"
	"github.com/sockudo-go/sockudo/ratelimit"
)

// cacheApps puts the in-process app cache in front of m. With a zero TTL
// every lookup goes to m, but unknown keys are still remembered briefly.
func (s *Server) cacheApps(m appmanager.Manager) appmanager.Manager {
	opts := appcache.DefaultOptions()
	opts.TTL = s.cfg.appCacheTTL
	opts.NegativeTTL = s.cfg.appCacheNegTTL
	opts.Now = s.cfg.now
	s.appCache = appcache.New(m, opts)
	return s.appCache
}

// InvalidateApp drops the app with the given id from the server's app
// cache at once, so a change made in the app store applies to the next
// lookup instead of after the cache TTL. Sockets already open keep the
// settings they connected with.
func (s *Server) InvalidateApp(id string) { s.appCache.Invalidate(id) }

// initCache sets the cache of cache channels, defaulting to memory.
func (s *Server) initCache(hc *hub.Config) error {
	c := s.cfg.cache
	if c == nil {
		mc := cachememory.New(nil)
		s.onStop(func(context.Context) error { return mc.Close() })
		c = mc
	}
	hc.Cache = c
	return nil
}

// initWebhooks starts webhook delivery through the queue.
func (s *Server) initWebhooks(hc *hub.Config) error {
	return nil
}

// initAPI builds the HTTP API handler.
func (s *Server) initAPI() error {
	api, err := httpapi.New(httpapi.Config{
		Apps:          s.apps,
		Hub:           s.hub,
		Logger:        s.log,
		MaxBodyBytes:  s.cfg.maxBodyBytes,
		TimestampSkew: s.cfg.timestampSkew,
		Now:           s.cfg.now,
	})
	if err != nil {
		return fmt.Errorf("sockudo: %w", err)
	}
	s.api = api
	if rule := s.rule(s.cfg.apiLimit, "api:"); rule != nil {
		s.api = ratelimithttp.Middleware(*rule, api)
	}
	s.wsRule = s.rule(s.cfg.wsLimit, "ws:")
	return nil
}

// allowConnection applies the per-IP connection rate limit, answering 429
// before the upgrade when it is exceeded.
func (s *Server) allowConnection(w http.ResponseWriter, r *http.Request) bool {
	if s.wsRule == nil {
		return true
	}
	return s.wsRule.Check(w, r)
}

// rule builds the per-IP rule of a RateLimit option, or nil.
func (s *Server) rule(l *RateLimit, prefix string) *ratelimithttp.Rule {
	if l == nil {
		return nil
	}
	return &ratelimithttp.Rule{
		Limiter:   s.limiter,
		Limit:     ratelimit.Limit{Max: l.Max, Window: l.Window},
		KeyPrefix: prefix,
		TrustHops: l.TrustHops,
	}
}

func appendJSONString(b []byte, s string) []byte { return protocol.AppendString(b, s) }

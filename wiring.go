package sockudo

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/sockudo-go/sockudo/appmanager"
	cachememory "github.com/sockudo-go/sockudo/cache/memory"
	"github.com/sockudo-go/sockudo/internal/appcache"
	"github.com/sockudo-go/sockudo/internal/httpapi"
	"github.com/sockudo-go/sockudo/internal/hub"
	"github.com/sockudo-go/sockudo/internal/ratelimithttp"
	"github.com/sockudo-go/sockudo/internal/webhook"
	"github.com/sockudo-go/sockudo/queue"
	queuememory "github.com/sockudo-go/sockudo/queue/memory"
	"github.com/sockudo-go/sockudo/ratelimit"
)

// cacheApps puts the in-process app cache in front of m. With a zero TTL
// every lookup, found or not, goes to m.
func (s *Server) cacheApps(m appmanager.Manager) appmanager.Manager {
	opts := appcache.DefaultOptions()
	opts.TTL = s.cfg.appCacheTTL
	opts.NegativeTTL = s.cfg.appCacheNegTTL
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
	s.cache = c
	return nil
}

// initWebhooks starts webhook delivery through the queue (by default an
// in-memory one owned by the server).
func (s *Server) initWebhooks(hc *hub.Config) error {
	q := s.cfg.queue
	owned := q == nil
	if owned {
		mq, err := queuememory.New(nil)
		if err != nil {
			return fmt.Errorf("sockudo: webhook queue: %w", err)
		}
		q = mq
	}
	d := webhook.New(q, webhook.Options{
		Logger:          s.log,
		LookupApp:       s.apps.FindByID,
		BatchingEnabled: s.cfg.webhookBatch > 0,
		BatchDuration:   s.cfg.webhookBatch,
		BatchSize:       s.cfg.webhookBatchSize,
		RetryFor:        s.cfg.webhookRetryFor,
		HTTPClient:      s.cfg.webhookClient,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := d.Run(ctx); err != nil && ctx.Err() == nil {
			s.log.LogAttrs(ctx, slog.LevelError, "webhook delivery stopped", slog.Any("error", err))
		}
	}()
	s.onStop(func(ctx context.Context) error {
		// Enqueue what is batched or held, give an in-memory queue the
		// time left to deliver, then stop consuming.
		err := d.Close(ctx)
		if owned {
			waitDrained(ctx, q)
		}
		cancel()
		<-done
		if owned {
			_ = q.Close()
		}
		return err
	})
	s.initLifecycle(hc, d)
	return nil
}

// waitDrained waits until q has no waiting or running job, or ctx ends.
func waitDrained(ctx context.Context, q queue.Queue) {
	sr, ok := q.(queue.StatsReporter)
	if !ok {
		return
	}
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		st, err := sr.Stats(ctx)
		if err != nil || st.Depth+st.InFlight == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// initAPI builds the HTTP API handler.
func (s *Server) initAPI() error {
	api, err := httpapi.New(httpapi.Config{
		Apps:            s.apps,
		Hub:             s.hub,
		Logger:          s.log,
		MaxBodyBytes:    s.cfg.maxBodyBytes,
		BodyReadTimeout: s.cfg.bodyTimeout,
		TimestampSkew:   s.cfg.timestampSkew,
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
	if l.KeyPrefix != "" {
		prefix = l.KeyPrefix
	}
	return &ratelimithttp.Rule{
		Limiter:      s.limiter,
		Limit:        ratelimit.Limit{Max: l.Max, Window: l.Window},
		KeyPrefix:    prefix,
		TrustHops:    l.TrustHops,
		RealIPHeader: l.RealIPHeader,
	}
}

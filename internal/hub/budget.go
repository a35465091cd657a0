package hub

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/internal/apierr"
	"github.com/sockudo-go/sockudo/ratelimit"
)

// allowAppBudget enforces a per-app events-per-second budget (0 = none).
func (h *Hub) allowAppBudget(ctx context.Context, app *appmanager.App, kind string, perSecond, cost int) error {
	if perSecond <= 0 {
		return nil
	}
	res, err := h.cfg.Limiter.Allow(ctx, "app:"+app.ID+":"+kind, ratelimit.Limit{Max: perSecond, Window: time.Second}, cost)
	if err != nil {
		h.log.LogAttrs(ctx, slog.LevelWarn, "rate limiter unavailable", slog.String("app_id", app.ID), slog.Any("error", err))
		return nil // fail open: the limiter's own policy decides if it wraps one
	}
	if !res.Allowed {
		return apierr.New(http.StatusTooManyRequests, apierr.CodeRateLimited, "app %s is over its %s budget of %d per second; retry in %s",
			app.ID, kind, perSecond, res.RetryAfter.Round(time.Millisecond))
	}
	return nil
}

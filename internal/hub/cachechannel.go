package hub

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/sockudo-go/sockudo/appmanager"
)

// cacheKey is where a cache channel's last event is stored.
func cacheKey(appID, channel string) string {
	return "app:" + appID + ":channel:" + channel + ":cache"
}

type cachedEvent struct {
	Event string `json:"event"`
	Data  string `json:"data"`
}

func decodeCached(b []byte) (cachedEvent, bool) {
	var ev cachedEvent
	if err := json.Unmarshal(b, &ev); err != nil || ev.Event == "" {
		return cachedEvent{}, false
	}
	return ev, true
}

func (h *Hub) storeCached(ctx context.Context, app *appmanager.App, channel, event, data string) {
	if h.cfg.Cache == nil {
		return
	}
	b, _ := json.Marshal(cachedEvent{Event: event, Data: data})
	if err := h.cfg.Cache.Set(ctx, cacheKey(app.ID, channel), b, h.cfg.CacheTTL); err != nil {
		h.log.LogAttrs(ctx, slog.LevelWarn, "storing cache channel event failed",
			slog.String("app_id", app.ID), slog.String("channel", channel), slog.Any("error", err))
	}
}

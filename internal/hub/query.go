package hub

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/cache"
	"github.com/sockudo-go/sockudo/internal/apierr"
	"github.com/sockudo-go/sockudo/internal/protocol"
)

func (h *Hub) channelInfo(state *appState, name string, info Info) ChannelInfo {
	var ch *channel
	if state != nil {
		ch = state.channel(name)
	}
	return ch.info(info)
}

// info reports the channel's counts; a nil channel is unoccupied.
func (ch *channel) info(info Info) ChannelInfo {
	ci := ChannelInfo{}
	subs, users := 0, 0
	if ch != nil {
		subs = ch.subscribers()
		if info&InfoUserCount != 0 {
			users = ch.userCount()
		}
	}
	ci.Occupied = subs > 0
	if info&InfoSubscriptionCount != 0 {
		ci.SubscriptionCount = &subs
	}
	if info&InfoUserCount != 0 {
		ci.UserCount = &users
	}
	return ci
}

// Channels lists occupied channels whose names start with prefix.
func (h *Hub) Channels(ctx context.Context, app *appmanager.App, prefix string, info Info) (map[string]ChannelInfo, error) {
	if info&InfoUserCount != 0 && !strings.HasPrefix(prefix, protocol.PrefixPresence) {
		return nil, badRequest("info=user_count needs filter_by_prefix to start with presence-")
	}
	if info&InfoCache != 0 {
		return nil, badRequest("info=cache is only available for a single channel")
	}
	if err := h.allowAppBudget(ctx, app, "read", app.MaxReadRequestsPerSecond, 1); err != nil {
		return nil, err
	}
	state := h.lookupApp(app.ID)
	if state == nil {
		return map[string]ChannelInfo{}, nil
	}
	// Unauthenticated clients create public channels, so the listing is
	// bounded: past the bound it is refused rather than silently cut, as
	// a partial list would read as "not occupied".
	chans, more := state.channelNames(prefix, h.cfg.MaxChannelsListed)
	if more {
		state.listRefused.Add(1)
		return nil, limitExceeded("more than %d channels match filter_by_prefix %q; narrow the prefix", h.cfg.MaxChannelsListed, prefix)
	}
	out := make(map[string]ChannelInfo, len(chans))
	for _, ch := range chans {
		chInfo := info
		if ch.kind.Kind == protocol.Presence && info&InfoPresenceUserCount != 0 {
			chInfo |= InfoUserCount
		}
		if ci := ch.info(chInfo); ci.Occupied {
			out[ch.name] = ci
		}
	}
	return out, nil
}

// Channel reports one channel; InfoUserCount on a non-presence channel is
// a 400 *apierr.Error.
func (h *Hub) Channel(ctx context.Context, app *appmanager.App, name string, info Info) (ChannelInfo, error) {
	if err := protocol.ValidateChannelName(name, app.MaxChannelNameLength); err != nil {
		return ChannelInfo{}, badRequest("%v", err)
	}
	kind := protocol.Classify(name)
	if info&InfoUserCount != 0 && kind.Kind != protocol.Presence {
		return ChannelInfo{}, badRequest("info=user_count is only available for presence channels")
	}
	if info&InfoCache != 0 && !kind.Cache {
		return ChannelInfo{}, badRequest("info=cache is only available for cache channels")
	}
	if err := h.allowAppBudget(ctx, app, "read", app.MaxReadRequestsPerSecond, 1); err != nil {
		return ChannelInfo{}, err
	}
	ci := h.channelInfo(h.lookupApp(app.ID), name, info)
	if info&InfoCache != 0 && h.cfg.Cache != nil {
		e, err := h.cfg.Cache.Get(ctx, cacheKey(app.ID, name))
		switch {
		case err == nil:
			if ev, ok := decodeCached(e.Value); ok {
				ci.Cache = &CachedEvent{Event: ev.Event, Data: ev.Data, TTL: e.TTL(h.cfg.Now())}
			}
		case !errors.Is(err, cache.ErrNotFound):
			// "Nothing cached" would be a wrong answer: say the cache is down.
			h.log.LogAttrs(ctx, slog.LevelWarn, "reading a cache channel failed",
				slog.String("app_id", app.ID), slog.String("channel", name), slog.Any("error", err))
			return ChannelInfo{}, apierr.New(http.StatusServiceUnavailable, apierr.CodeUnavailable, "the cache is unavailable; retry later")
		}
	}
	return ci, nil
}

// ChannelUsers lists the user ids of a presence channel.
func (h *Hub) ChannelUsers(ctx context.Context, app *appmanager.App, name string) ([]string, error) {
	if err := protocol.ValidateChannelName(name, app.MaxChannelNameLength); err != nil {
		return nil, badRequest("%v", err)
	}
	if protocol.Classify(name).Kind != protocol.Presence {
		return nil, badRequest("users are only available for presence channels")
	}
	if err := h.allowAppBudget(ctx, app, "read", app.MaxReadRequestsPerSecond, 1); err != nil {
		return nil, err
	}
	state := h.lookupApp(app.ID)
	if state == nil {
		return []string{}, nil
	}
	ch := state.channel(name)
	if ch == nil {
		return []string{}, nil
	}
	return ch.userIDs(), nil
}

// TerminateUser closes every socket signed in as userID with 4009.
func (h *Hub) TerminateUser(ctx context.Context, app *appmanager.App, userID string) error {
	if userID == "" {
		return badRequest("user id is empty")
	}
	state := h.lookupApp(app.ID)
	if state == nil {
		return nil
	}
	for _, c := range state.userConns(userID) {
		c.closeWith(protocol.CodeUnauthorized, protocol.ReasonTerminated)
	}
	return nil
}

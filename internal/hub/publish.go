package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/cache"
	"github.com/sockudo-go/sockudo/internal/apierr"
	"github.com/sockudo-go/sockudo/internal/protocol"
	"github.com/sockudo-go/sockudo/ratelimit"
)

// ValidatePublish checks req against the app's limits without publishing:
// event name, 1..max channels with valid names, socket id, data size (413).
func ValidatePublish(app *appmanager.App, req *PublishRequest) error {
	if err := protocol.ValidateEventName(req.Name, app.MaxEventNameLength); err != nil {
		return badRequest("%v", err)
	}
	max := protocol.Limit(app.MaxEventChannelsAtOnce, protocol.DefaultMaxEventChannels)
	switch n := len(req.Channels); {
	case n == 0:
		return badRequest("channels: at least one channel is required")
	case n > max:
		return limitExceeded("channels: %d channels given, at most %d are allowed", n, max)
	}
	for _, ch := range req.Channels {
		if err := protocol.ValidateChannelName(ch, app.MaxChannelNameLength); err != nil {
			return badRequest("channel %q: %v", ch, err)
		}
		if len(req.Channels) > 1 && protocol.Classify(ch).Kind == protocol.Encrypted {
			return badRequest("channel %q: an event for an encrypted channel must name that channel alone", ch)
		}
	}
	if req.SocketID != "" && !protocol.ValidSocketID(req.SocketID) {
		return badRequest("socket_id %q is not of the form 1234.5678", req.SocketID)
	}
	if limit := protocol.PayloadLimit(app.MaxEventPayloadInKB); len(req.Data) > limit {
		return apierr.New(http.StatusRequestEntityTooLarge, apierr.CodePayloadTooLarge,
			"event data is %d bytes, more than the limit of %d", len(req.Data), limit)
	}
	if req.Info&InfoCache != 0 {
		return badRequest("info=cache is not available when publishing")
	}
	return nil
}

// Publisher publishes one event; *Hub is one.
type Publisher interface {
	Publish(ctx context.Context, app *appmanager.App, req PublishRequest) (map[string]ChannelInfo, error)
}

// PublishBatch publishes a batch through p with Pusher's batch rules: 1 to
// max_event_batch_size events (10 by default), one channel each, every
// event validated before any is published. It returns each event's
// requested Info for its channel (nil when no event asked for any). If
// publishing fails part-way, the events before the failing one have been
// delivered; the error names the failing index.
func PublishBatch(ctx context.Context, p Publisher, app *appmanager.App, reqs []PublishRequest) ([]ChannelInfo, error) {
	max := protocol.Limit(app.MaxEventBatchSize, protocol.DefaultMaxBatchSize)
	switch {
	case len(reqs) == 0:
		return nil, badRequest("batch is empty")
	case len(reqs) > max:
		return nil, limitExceeded("batch has %d events; the limit is %d", len(reqs), max)
	}
	anyInfo := false
	for i := range reqs {
		if len(reqs[i].Channels) != 1 {
			return nil, batchError(i, badRequest("a batched event names exactly one channel"))
		}
		if err := ValidatePublish(app, &reqs[i]); err != nil {
			return nil, batchError(i, err)
		}
		anyInfo = anyInfo || reqs[i].Info != 0
	}
	var infos []ChannelInfo
	if anyInfo {
		infos = make([]ChannelInfo, len(reqs))
	}
	for i := range reqs {
		m, err := p.Publish(ctx, app, reqs[i])
		if err != nil {
			return nil, batchError(i, err)
		}
		if anyInfo {
			infos[i] = m[reqs[i].Channels[0]]
		}
	}
	return infos, nil
}

func batchError(i int, err error) error { return apierr.Prefix(fmt.Sprintf("batch[%d]", i), err) }

// Publish validates req and delivers it: each frame is encoded once and
// queued to every subscriber of its channel (a #server-to-user-{id}
// channel reaches that user's signed-in sockets); cache channels keep it.
// It returns the requested Info per channel, or nil when none was asked.
func (h *Hub) Publish(ctx context.Context, app *appmanager.App, req PublishRequest) (map[string]ChannelInfo, error) {
	if err := ValidatePublish(app, &req); err != nil {
		return nil, err
	}
	if err := h.allowAppBudget(ctx, app, "backend", app.MaxBackendEventsPerSecond, 1); err != nil {
		return nil, err
	}
	state := h.lookupApp(app.ID)
	if state != nil {
		state.published.Add(1)
	}
	for _, name := range req.Channels {
		kind := protocol.Classify(name)
		if kind.Cache {
			h.storeCached(ctx, app, name, req.Name, req.Data)
		}
		if state == nil {
			continue
		}
		frame := protocol.Event(req.Name, name, req.Data, "")
		if kind.Kind == protocol.ServerToUser {
			for _, c := range state.userConns(strings.TrimPrefix(name, protocol.PrefixServerToUser)) {
				if c.id != req.SocketID && c.send(frame) {
					state.delivered.Add(1)
				}
			}
			continue
		}
		if ch := state.channel(name); ch != nil {
			state.delivered.Add(uint64(ch.broadcastExcept(frame, req.SocketID)))
		}
	}
	if req.Info == 0 {
		return nil, nil
	}
	out := make(map[string]ChannelInfo, len(req.Channels))
	for _, name := range req.Channels {
		info := req.Info
		if protocol.Classify(name).Kind != protocol.Presence {
			info &^= InfoUserCount
		}
		out[name] = h.channelInfo(state, name, info)
	}
	return out, nil
}

// broadcastExcept is broadcast excluding the socket with the given id.
func (ch *channel) broadcastExcept(frame []byte, socketID string) int {
	if socketID == "" {
		return ch.broadcast(frame, nil)
	}
	n := 0
	ch.mu.RLock()
	for c := range ch.subs {
		if c.id != socketID && c.send(frame) {
			n++
		}
	}
	ch.mu.RUnlock()
	return n
}

func (h *Hub) channelInfo(state *appState, name string, info Info) ChannelInfo {
	var ch *channel
	if state != nil {
		ch = state.channel(name)
	}
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
	out := make(map[string]ChannelInfo)
	state := h.lookupApp(app.ID)
	if state == nil {
		return out, nil
	}
	for _, ch := range state.channelNames(prefix) {
		chInfo := info
		if ch.kind.Kind == protocol.Presence && info&InfoPresenceUserCount != 0 {
			chInfo |= InfoUserCount
		}
		ci := h.channelInfo(state, ch.name, chInfo)
		if ci.Occupied {
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

// Stats is a snapshot of one app's registry and counters on this node.
type Stats struct {
	Connections  int
	Channels     int
	Users        int
	Connected    uint64
	Disconnected uint64
	Received     uint64
	Delivered    uint64
	Published    uint64
	Dropped      uint64
	SlowClosed   uint64
}

// AppStats returns a snapshot for the app with the given id.
func (h *Hub) AppStats(appID string) Stats {
	a := h.lookupApp(appID)
	if a == nil {
		return Stats{}
	}
	st := Stats{
		Connections:  int(a.conns.Load()),
		Connected:    a.connected.Load(),
		Disconnected: a.disconnected.Load(),
		Received:     a.received.Load(),
		Delivered:    a.delivered.Load(),
		Published:    a.published.Load(),
		Dropped:      a.dropped.Load(),
		SlowClosed:   a.slowClosed.Load(),
	}
	for i := range a.shards {
		s := &a.shards[i]
		s.mu.RLock()
		st.Channels += len(s.channels)
		s.mu.RUnlock()
	}
	a.usersMu.Lock()
	st.Users = len(a.users)
	a.usersMu.Unlock()
	return st
}

// AppIDs lists the apps that have had sockets on this node.
func (h *Hub) AppIDs() []string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	ids := make([]string, 0, len(h.apps))
	for id := range h.apps {
		ids = append(ids, id)
	}
	return ids
}

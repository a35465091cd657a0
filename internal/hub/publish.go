package hub

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/internal/apierr"
	"github.com/sockudo-go/sockudo/internal/protocol"
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

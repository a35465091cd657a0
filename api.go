package sockudo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/internal/hub"
	"github.com/sockudo-go/sockudo/internal/protocol"
)

// Event is an event to publish from Go, as the HTTP API's POST events
// body: a name, one or more channels, data sent as is, and optionally the
// socket to exclude (the publishing client's own).
type Event struct {
	Name     string
	Channels []string
	Data     string
	// ExcludeSocketID is not delivered to.
	ExcludeSocketID string
}

// ChannelInfo describes a channel. UserCount is set for presence channels
// and SubscriptionCount when asked for.
type ChannelInfo struct {
	Occupied          bool
	UserCount         int
	SubscriptionCount int
	// Cached is the last event of a cache channel, if any.
	Cached *CachedEvent
}

// CachedEvent is a cache channel's last event and how long it is kept.
type CachedEvent struct {
	Name string
	Data string
	TTL  time.Duration
}

// Trigger publishes ev to the subscribers of its channels on the app with
// the given id. It validates and delivers exactly as the HTTP API does.
func (s *Server) Trigger(ctx context.Context, appID string, ev Event) error {
	app, err := s.findApp(ctx, appID)
	if err != nil {
		return err
	}
	_, err = s.hub.Publish(ctx, app, toRequest(ev))
	return apiErr(err)
}

// TriggerBatch validates every event, then publishes them in order, with
// the HTTP API's batch rules: at most max_event_batch_size events (10 by
// default) and one channel per event.
func (s *Server) TriggerBatch(ctx context.Context, appID string, evs []Event) error {
	app, err := s.findApp(ctx, appID)
	if err != nil {
		return err
	}
	max := app.MaxEventBatchSize
	if max <= 0 {
		max = defaultMaxBatch
	}
	if len(evs) == 0 || len(evs) > max {
		return &APIError{Status: 400, Message: fmt.Sprintf("a batch holds 1 to %d events, not %d", max, len(evs))}
	}
	reqs := make([]hub.PublishRequest, len(evs))
	for i, ev := range evs {
		if len(ev.Channels) != 1 {
			return &APIError{Status: 400, Message: fmt.Sprintf("batch[%d]: a batched event names exactly one channel", i)}
		}
		reqs[i] = toRequest(ev)
		if err := s.hub.ValidatePublish(app, &reqs[i]); err != nil {
			return fmt.Errorf("batch[%d]: %w", i, apiErr(err))
		}
	}
	for i := range reqs {
		if _, err := s.hub.Publish(ctx, app, reqs[i]); err != nil {
			return fmt.Errorf("batch[%d]: %w", i, apiErr(err))
		}
	}
	return nil
}

// SendToUser publishes an event to every socket signed in as userID.
func (s *Server) SendToUser(ctx context.Context, appID, userID, name, data string) error {
	return s.Trigger(ctx, appID, Event{Name: name, Channels: []string{"#server-to-user-" + userID}, Data: data})
}

// Channels lists the app's occupied channels whose names start with
// prefix, with their subscription counts (and user counts for presence
// channels).
func (s *Server) Channels(ctx context.Context, appID, prefix string) (map[string]ChannelInfo, error) {
	app, err := s.findApp(ctx, appID)
	if err != nil {
		return nil, err
	}
	m, err := s.hub.Channels(ctx, app, prefix, hub.InfoSubscriptionCount|hub.InfoPresenceUserCount)
	if err != nil {
		return nil, apiErr(err)
	}
	out := make(map[string]ChannelInfo, len(m))
	for name, ci := range m {
		out[name] = fromInfo(ci)
	}
	return out, nil
}

// Channel describes one channel of the app, including its cached event
// for a cache channel.
func (s *Server) Channel(ctx context.Context, appID, name string) (ChannelInfo, error) {
	app, err := s.findApp(ctx, appID)
	if err != nil {
		return ChannelInfo{}, err
	}
	info := hub.InfoSubscriptionCount
	kind := protocol.Classify(name)
	if kind.Kind == protocol.Presence {
		info |= hub.InfoUserCount
	}
	if kind.Cache {
		info |= hub.InfoCache
	}
	ci, err := s.hub.Channel(ctx, app, name, info)
	if err != nil {
		return ChannelInfo{}, apiErr(err)
	}
	return fromInfo(ci), nil
}

// ChannelUsers lists the user ids of a presence channel.
func (s *Server) ChannelUsers(ctx context.Context, appID, name string) ([]string, error) {
	app, err := s.findApp(ctx, appID)
	if err != nil {
		return nil, err
	}
	ids, err := s.hub.ChannelUsers(ctx, app, name)
	return ids, apiErr(err)
}

// TerminateUserConnections closes every socket signed in as userID (with
// 4009, so clients do not reconnect on their own).
func (s *Server) TerminateUserConnections(ctx context.Context, appID, userID string) error {
	app, err := s.findApp(ctx, appID)
	if err != nil {
		return err
	}
	return apiErr(s.hub.TerminateUser(ctx, app, userID))
}

func (s *Server) findApp(ctx context.Context, id string) (*appmanager.App, error) {
	if s.closed.Load() {
		return nil, ErrServerClosed
	}
	app, err := s.apps.FindByID(ctx, id)
	switch {
	case errors.Is(err, appmanager.ErrNotFound):
		return nil, fmt.Errorf("%w: %q", ErrAppNotFound, id)
	case err != nil:
		return nil, fmt.Errorf("sockudo: app %q: %w", id, err)
	case !app.Enabled:
		return nil, &APIError{Status: 403, Message: fmt.Sprintf("app %q is disabled", id)}
	}
	return app, nil
}

// defaultMaxBatch is Pusher's limit of events per batch.
const defaultMaxBatch = 10

func toRequest(ev Event) hub.PublishRequest {
	return hub.PublishRequest{Name: ev.Name, Channels: ev.Channels, Data: ev.Data, SocketID: ev.ExcludeSocketID}
}

func fromInfo(ci hub.ChannelInfo) ChannelInfo {
	out := ChannelInfo{Occupied: ci.Occupied}
	if ci.UserCount != nil {
		out.UserCount = *ci.UserCount
	}
	if ci.SubscriptionCount != nil {
		out.SubscriptionCount = *ci.SubscriptionCount
	}
	if ci.Cache != nil {
		out.Cached = &CachedEvent{Name: ci.Cache.Event, Data: ci.Cache.Data, TTL: ci.Cache.TTL}
	}
	return out
}

// apiErr turns the hub's request errors into *APIError.
func apiErr(err error) error {
	var re *hub.RequestError
	if errors.As(err, &re) {
		return &APIError{Status: re.Status, Message: re.Message}
	}
	return err
}

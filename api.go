package sockudo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/internal/apierr"
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

// TriggerBatch publishes evs in order with the HTTP API's batch rules: at
// most max_event_batch_size events (10 by default), one channel each,
// every event validated before any is published. An error for one event
// names its index ("batch[3]: ...").
func (s *Server) TriggerBatch(ctx context.Context, appID string, evs []Event) error {
	app, err := s.findApp(ctx, appID)
	if err != nil {
		return err
	}
	reqs := make([]hub.PublishRequest, len(evs))
	for i, ev := range evs {
		reqs[i] = toRequest(ev)
	}
	_, err = hub.PublishBatch(ctx, s.hub, app, reqs)
	return apiErr(err)
}

// SendToUser publishes ev to every socket signed in as userID (Pusher's
// server-to-user messages). ev names no channel: it goes to the user's
// #server-to-user channel; ExcludeSocketID is honoured.
func (s *Server) SendToUser(ctx context.Context, appID, userID string, ev Event) error {
	if len(ev.Channels) != 0 {
		return &APIError{Status: http.StatusBadRequest, Code: apierr.CodeInvalidInput,
			Message: "SendToUser: the event must name no channel; it goes to the user's own"}
	}
	if userID == "" {
		return &APIError{Status: http.StatusBadRequest, Code: apierr.CodeInvalidInput, Message: "SendToUser: user id is empty"}
	}
	ev.Channels = []string{protocol.PrefixServerToUser + userID}
	return s.Trigger(ctx, appID, ev)
}

// Channels lists the app's occupied channels whose names start with
// prefix, with their subscription counts (and user counts for presence
// channels). When more channels match than WithMaxChannelsListed allows,
// it returns a 400 limit_exceeded *APIError; narrow the prefix.
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

// findApp looks up an app for the Go API with the HTTP API's rules.
func (s *Server) findApp(ctx context.Context, id string) (*appmanager.App, error) {
	if s.closed.Load() {
		return nil, ErrServerClosed
	}
	app, err := hub.FindApp(ctx, s.apps, id)
	if errors.Is(err, appmanager.ErrNotFound) {
		return nil, fmt.Errorf("%w: %q", ErrAppNotFound, id)
	}
	if err == nil {
		err = hub.CheckEnabled(app)
	}
	if err != nil {
		return nil, apiErr(err)
	}
	return app, nil
}

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

// apiErr turns the API's request errors into *APIError. An error with a
// cause (a failed app store) keeps it in the chain, so the host can log it.
func apiErr(err error) error {
	ae, ok := errors.AsType[*apierr.Error](err)
	if !ok {
		return err
	}
	out := &APIError{Status: ae.Status, Code: ae.Code, Message: ae.Message}
	if ae.Err != nil {
		return fmt.Errorf("%w: %w", out, ae.Err)
	}
	return out
}

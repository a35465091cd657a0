package sockudo

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/internal/hub"
	"github.com/sockudo-go/sockudo/internal/lifecycle"
	"github.com/sockudo-go/sockudo/internal/protocol"
)

// Hooks are the host's functions that the server calls to let it observe
// and veto what clients do, in process. Every field is optional; set the
// ones you need. Pass them to the server with WithHooks.
//
// # Inline hooks
//
// OnConnect, OnSubscribe and OnClientEvent run inline: OnConnect on the
// goroutine of the upgrading request, the others on the goroutine that
// reads the socket, which reads nothing else until the hook returns. They
// must be fast (an in-memory check, not a network round trip): a slow
// OnClientEvent delays every later message of that socket, and a slow
// OnConnect delays the client's handshake. They run concurrently for
// different sockets. Their ctx ends when the socket closes (OnConnect:
// when the request's does).
//
// # Lifecycle hooks
//
// OnChannelOccupied, OnChannelVacated, OnMemberAdded, OnMemberRemoved and
// OnSubscriptionCount report channel transitions with exactly the
// semantics of the webhooks of the same names, whether or not the app
// has webhooks: once per transition, never once per socket (several
// sockets of one user are one member); channel_vacated and member_removed
// are delayed by WithWebhookDelay (3 s) and both halves are suppressed
// when the channel or member comes back within it; subscription_count is
// sent at most every 5 s on channels of more than 100 subscribers.
//
// They run asynchronously, off the server's locks, one at a time on one
// goroutine of the server, in the order the transitions were released:
// for one channel, an occupied is always seen before the vacated that
// follows it, and a member_added before its member_removed. A slow hook
// delays the later ones but never a client; if more than 100 000 events
// wait, new ones are dropped with a log line. Shutdown releases held
// events at once and waits for the queued hooks until its ctx ends, then
// cancels the ctx of the hook in progress. These hooks see the server's
// view: with several servers, each reports the transitions it decided.
type Hooks struct {
	// OnConnect runs when a socket connects, once its app is known,
	// enabled and allows the request's origin, before the socket counts
	// against any connection limit. s has ID and AppID set. What it
	// returns as data is kept as the socket's Socket.Data, seen by the
	// other inline hooks. A non-nil error refuses the socket: the client
	// gets a pusher:error and a close with the code of a *ProtocolError
	// (4000-4099: pusher-js does not reconnect; 4100-4199: it reconnects
	// after a back-off; 4200-4299: at once), or 4009 for any other error.
	OnConnect func(ctx context.Context, r *http.Request, s Socket) (data any, err error)

	// OnSubscribe runs when a subscription passed the server's checks
	// (channel name, signature, presence channel_data), before it takes
	// effect; it is not called for #server-to-user- channels. A non-nil
	// error vetoes it: the client gets a pusher:error with the code of a
	// *ProtocolError (4009 for any other error) and a
	// pusher:subscription_error for the channel with status 403, which
	// pusher-js fires as pusher:subscription_error on the channel. The
	// socket stays connected.
	OnSubscribe func(ctx context.Context, s Socket, sub Subscription) error

	// OnClientEvent runs when a client event passed the server's checks
	// and the socket's rate limit, before it is delivered. A non-nil
	// error drops it; a *ProtocolError also answers the sender with a
	// pusher:error of its code and message, any other error drops it
	// silently.
	OnClientEvent func(ctx context.Context, s Socket, ev ClientEvent) error

	// OnChannelOccupied: a channel got its first subscriber.
	OnChannelOccupied func(ctx context.Context, ev ChannelEvent)
	// OnChannelVacated: a channel lost its last subscriber and stayed
	// empty for the delay.
	OnChannelVacated func(ctx context.Context, ev ChannelEvent)
	// OnMemberAdded: a user's first socket joined a presence channel.
	OnMemberAdded func(ctx context.Context, ev ChannelEvent)
	// OnMemberRemoved: a user's last socket left a presence channel and
	// the user stayed away for the delay.
	OnMemberRemoved func(ctx context.Context, ev ChannelEvent)
	// OnSubscriptionCount: the subscriber count of a channel that is not
	// a presence channel changed (at most every 5 s on channels of more
	// than 100 subscribers).
	OnSubscriptionCount func(ctx context.Context, ev ChannelEvent)
}

// Socket describes the socket an inline hook runs for.
type Socket struct {
	// ID is the socket id the client was given.
	ID    string
	AppID string
	// UserID is the user the socket signed in as (pusher:signin), or "".
	UserID string
	// Data is what OnConnect returned.
	Data any
}

// Subscription is a subscription request that passed its checks.
type Subscription struct {
	Channel string
	// UserID and UserInfo are the presence member of a presence
	// channel's channel_data; UserInfo is raw JSON, nil when absent.
	UserID   string
	UserInfo json.RawMessage
}

// ClientEvent is a client event (client-*) about to be delivered.
type ClientEvent struct {
	Channel string
	Name    string
	// Data is the event's data as the clients will receive it.
	Data string
	// UserID is the sender's presence user id on presence channels.
	UserID string
}

// ChannelEvent is a channel transition reported to a lifecycle hook.
type ChannelEvent struct {
	// Name is the webhook name of the transition: "channel_occupied",
	// "channel_vacated", "member_added", "member_removed" or
	// "subscription_count".
	Name    string
	AppID   string
	Channel string
	// UserID is the member of member_added and member_removed.
	UserID string
	// SubscriptionCount is the count of subscription_count.
	SubscriptionCount int
}

// WithHooks sets the host's hooks (see Hooks). A later WithHooks replaces
// an earlier one.
func WithHooks(h Hooks) Option { return func(c *config) { c.hooks = h } }

// maxPendingHooks bounds the lifecycle events waiting for their hooks.
const maxPendingHooks = 100000

// startLifecycle puts the stream of channel transitions, with the
// vacate/member_removed delay, in front of the webhook dispatcher and the
// lifecycle hooks, and returns it for the hub.
func (s *Server) startLifecycle(webhooks lifecycle.Consumer) *lifecycle.Stream {
	consumers := []lifecycle.Consumer{webhooks}
	if fn := s.cfg.hooks.lifecycleFunc(); fn != nil {
		r := lifecycle.NewRunner(lifecycle.RunnerOptions{
			Wants:      s.cfg.hooks.wantsLifecycle,
			Func:       fn,
			MaxPending: maxPendingHooks,
			Logger:     s.log,
		})
		s.onStop(r.Close)
		consumers = append(consumers, r)
	}
	st := lifecycle.NewStream(s.cfg.webhookDelay, consumers...)
	// Registered last, so it stops first: what it holds reaches the
	// hooks and the dispatcher before they stop.
	s.onStop(func(context.Context) error { st.Close(); return nil })
	return st
}

// lifecycleHook returns the hook for a transition, or nil.
func (h *Hooks) lifecycleHook(name string) func(context.Context, ChannelEvent) {
	switch name {
	case lifecycle.ChannelOccupied:
		return h.OnChannelOccupied
	case lifecycle.ChannelVacated:
		return h.OnChannelVacated
	case lifecycle.MemberAdded:
		return h.OnMemberAdded
	case lifecycle.MemberRemoved:
		return h.OnMemberRemoved
	case lifecycle.SubscriptionCount:
		return h.OnSubscriptionCount
	}
	return nil
}

func (h *Hooks) wantsLifecycle(name string) bool { return h.lifecycleHook(name) != nil }

// lifecycleFunc returns the function that calls the lifecycle hooks, or
// nil when none is set.
func (h *Hooks) lifecycleFunc() func(context.Context, *appmanager.App, lifecycle.Event) {
	if h.OnChannelOccupied == nil && h.OnChannelVacated == nil && h.OnMemberAdded == nil &&
		h.OnMemberRemoved == nil && h.OnSubscriptionCount == nil {
		return nil
	}
	return func(ctx context.Context, app *appmanager.App, ev lifecycle.Event) {
		if f := h.lifecycleHook(ev.Name); f != nil {
			f(ctx, ChannelEvent{Name: ev.Name, AppID: app.ID, Channel: ev.Channel, UserID: ev.UserID, SubscriptionCount: ev.SubscriptionCount})
		}
	}
}

// inline adapts the inline hooks to the hub.
func (h *Hooks) inline(log *slog.Logger) hub.Hooks {
	var out hub.Hooks
	if f := h.OnConnect; f != nil {
		out.Connect = func(r *http.Request, app *appmanager.App, socketID string) (any, *hub.Refusal) {
			data, err := f(r.Context(), r, Socket{ID: socketID, AppID: app.ID})
			if err != nil {
				return nil, refusal(r.Context(), log, "connection", err, protocol.CodeUnauthorized, "Connection refused")
			}
			return data, nil
		}
	}
	if f := h.OnSubscribe; f != nil {
		out.Subscribe = func(c *hub.Conn, channel, userID string, userInfo json.RawMessage) *hub.Refusal {
			err := f(c.Context(), socketOf(c), Subscription{Channel: channel, UserID: userID, UserInfo: userInfo})
			if err != nil {
				return refusal(c.Context(), log, "subscription", err, protocol.CodeUnauthorized, "Subscription refused")
			}
			return nil
		}
	}
	if f := h.OnClientEvent; f != nil {
		out.ClientEvent = func(c *hub.Conn, channel, event, data, userID string) *hub.Refusal {
			err := f(c.Context(), socketOf(c), ClientEvent{Channel: channel, Name: event, Data: data, UserID: userID})
			if err == nil {
				return nil
			}
			if _, ok := errors.AsType[*ProtocolError](err); ok {
				return refusal(c.Context(), log, "client event", err, protocol.CodeClientEventRate, "Client event refused")
			}
			return &hub.Refusal{} // dropped silently
		}
	}
	return out
}

func socketOf(c *hub.Conn) Socket {
	return Socket{ID: c.ID(), AppID: c.AppID(), UserID: c.UserID(), Data: c.Data()}
}

// refusal turns a hook's error into the code and message the client
// gets: a *ProtocolError's own (its code when in 4000-4999), or the
// defaults for any other error, which is logged instead of shown.
func refusal(ctx context.Context, log *slog.Logger, what string, err error, code int, msg string) *hub.Refusal {
	pe, ok := errors.AsType[*ProtocolError](err)
	if !ok {
		log.LogAttrs(ctx, slog.LevelDebug, "hook refused a "+what, slog.Any("error", err))
		return &hub.Refusal{Code: code, Message: msg}
	}
	r := &hub.Refusal{Code: code, Message: msg}
	if pe.Code >= 4000 && pe.Code <= 4999 {
		r.Code = pe.Code
	}
	if pe.Message != "" {
		r.Message = pe.Message
	}
	return r
}

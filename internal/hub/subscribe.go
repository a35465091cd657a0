package hub

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/cache"
	"github.com/sockudo-go/sockudo/internal/lifecycle"
	"github.com/sockudo-go/sockudo/internal/protocol"
)

var emptySucceeded = "{}"

// subscribe adds c to a channel, answering and broadcasting under the
// channel lock so every socket sees membership changes in one order.
func (h *Hub) subscribe(c *Conn, name string, kind protocol.Channel, pm *presenceJoin) {
	app := c.app
	presenceUser := ""
	if pm != nil {
		presenceUser = pm.userID
	}
	c.subMu.Lock()
	prevUser, already := c.subs[name]
	c.subMu.Unlock()
	if already {
		h.resubscribe(c, name, prevUser != presenceUser)
		return
	}

	s := c.state.shard(name)
	s.mu.Lock()
	ch := s.channels[name]
	created := ch == nil
	if created {
		ch = &channel{name: name, kind: kind, subs: make(map[*Conn]struct{})}
		if kind.Kind == protocol.Presence {
			ch.members = make(map[string]*member)
		}
		s.addLocked(ch)
		c.state.m.active[chanType(kind)].Add(1)
	}
	ch.mu.Lock()
	s.mu.Unlock()

	_, wasSub := ch.subs[c]
	memberAdded := false
	if pm != nil && !wasSub {
		m := ch.members[pm.userID]
		if m == nil {
			limit := protocol.Limit(app.MaxPresenceMembersPerChannel, protocol.DefaultMaxPresenceUsers)
			if len(ch.members) >= limit {
				empty := len(ch.subs) == 0
				ch.mu.Unlock()
				if empty {
					h.dropIfEmpty(c.state, ch)
				}
				c.rejectSubscription(name, protocol.CodeOverCapacity, "LimitReached",
					"The maximum number of members in this channel ("+strconv.Itoa(limit)+") is reached", protocol.CodeOverCapacity)
				return
			}
			m = &member{info: pm.info}
			ch.members[pm.userID] = m
			ch.succeeded = nil
			memberAdded = true
		}
		m.sockets++
	}
	ch.subs[c] = struct{}{}
	if !wasSub {
		c.state.m.subs[chanType(ch.kind)].Add(1)
	}
	subCount := len(ch.subs)
	occupied := !wasSub && subCount == 1

	// Record the subscription before answering, so a client event sent
	// right after subscription_succeeded is accepted.
	c.subMu.Lock()
	if c.subs == nil {
		c.subs = make(map[string]string, 4)
	}
	c.subs[name] = presenceUser
	c.subMu.Unlock()

	if pm != nil {
		// Encoded once per change of the member list, not per subscriber.
		c.send(ch.presenceSucceededLocked(c.state))
	} else {
		c.send(protocol.Event(protocol.EventSubscriptionSucceeded, name, emptySucceeded, ""))
	}
	if memberAdded {
		added := `{"user_id":` + string(protocol.AppendString(nil, pm.userID))
		if len(pm.info) > 0 {
			added += `,"user_info":` + string(pm.info)
		}
		added += "}"
		frame := protocol.Event(protocol.EventMemberAdded, name, added, "")
		for o := range ch.subs {
			if o != c {
				o.send(frame)
			}
		}
	}
	// Transitions are emitted under the channel lock (Emit never blocks),
	// so webhooks and lifecycle hooks see them in the order they happened.
	if occupied {
		h.emit(app, lifecycle.Event{Name: lifecycle.ChannelOccupied, Channel: name})
	}
	if memberAdded {
		h.emit(app, lifecycle.Event{Name: lifecycle.MemberAdded, Channel: name, UserID: pm.userID})
	}
	ch.mu.Unlock()

	if kind.Cache {
		h.sendCached(c, name)
	}
	if !wasSub {
		h.subscriptionCountChanged(app, ch, subCount)
	}
	c.debugSubscribed(name)
}

// resubscribe answers a subscribe to a channel c already has without
// changing or rebuilding anything: an ack as soketi and Reverb send (the
// presence snapshot is the cached one), or, when it names another presence
// user, Pusher's "Existing subscription" error, since the socket stays the
// member it was. No cached event is re-read and no member event is sent.
func (h *Hub) resubscribe(c *Conn, name string, otherUser bool) {
	if otherUser {
		c.sendError(0, "Existing subscription to channel "+name, "")
		return
	}
	ch := c.state.channel(name)
	if ch == nil {
		return // cannot happen while c is subscribed
	}
	if ch.kind.Kind != protocol.Presence {
		c.send(protocol.Event(protocol.EventSubscriptionSucceeded, name, emptySucceeded, ""))
		return
	}
	ch.mu.Lock()
	frame := ch.presenceSucceededLocked(c.state)
	ch.mu.Unlock()
	c.send(frame)
}

// unsubscribe removes c from a channel; unknown channels are ignored.
func (h *Hub) unsubscribe(c *Conn, name string) {
	c.subMu.Lock()
	presenceUser, ok := c.subs[name]
	delete(c.subs, name)
	c.subMu.Unlock()
	if !ok {
		return
	}
	s := c.state.shard(name)
	s.mu.Lock()
	ch := s.channels[name]
	if ch == nil {
		s.mu.Unlock()
		return
	}
	ch.mu.Lock()
	_, wasSub := ch.subs[c]
	delete(ch.subs, c)
	if wasSub {
		c.state.m.unsubs[chanType(ch.kind)].Add(1)
	}
	subCount := len(ch.subs)
	vacated := wasSub && subCount == 0
	app := c.app
	if presenceUser != "" && ch.members != nil {
		if m := ch.members[presenceUser]; m != nil {
			m.sockets--
			if m.sockets <= 0 {
				delete(ch.members, presenceUser)
				ch.succeeded = nil
				data := `{"user_id":` + string(protocol.AppendString(nil, presenceUser)) + "}"
				frame := protocol.Event(protocol.EventMemberRemoved, name, data, "")
				for o := range ch.subs {
					o.send(frame)
				}
				h.emit(app, lifecycle.Event{Name: lifecycle.MemberRemoved, Channel: name, UserID: presenceUser})
			}
		}
	}
	if vacated {
		// Still under the shard lock: a new subscriber, which creates a
		// new channel under that lock, emits channel_occupied after this.
		c.state.deleteChannelLocked(s, name)
		h.emit(app, lifecycle.Event{Name: lifecycle.ChannelVacated, Channel: name})
	}
	ch.mu.Unlock()
	s.mu.Unlock()

	if wasSub && !vacated {
		h.subscriptionCountChanged(app, ch, subCount)
	}
}

// dropIfEmpty removes a channel that a failed subscription created.
func (h *Hub) dropIfEmpty(a *appState, ch *channel) {
	s := a.shard(ch.name)
	s.mu.Lock()
	ch.mu.RLock()
	if len(ch.subs) == 0 && s.channels[ch.name] == ch {
		a.deleteChannelLocked(s, ch.name)
	}
	ch.mu.RUnlock()
	s.mu.Unlock()
}

// subscriptionCountChanged sends pusher_internal:subscription_count to a
// non-presence channel's subscribers when the app enables it, at most
// every 5 s on channels of more than 100 subscribers, and fires the
// subscription_count webhook.
func (h *Hub) subscriptionCountChanged(app *appmanager.App, ch *channel, count int) {
	if ch.kind.Kind == protocol.Presence {
		return
	}
	if !app.EnableSubscriptionCountEvents && !h.wants(app, lifecycle.SubscriptionCount, ch.name) {
		return
	}
	const window = 5 * time.Second
	if count > 100 {
		ch.countMu.Lock()
		now := h.cfg.Now()
		if wait := window - now.Sub(ch.countLastSent); wait > 0 {
			if !ch.countPending {
				ch.countPending = true
				time.AfterFunc(wait, func() {
					ch.countMu.Lock()
					ch.countPending = false
					ch.countLastSent = h.cfg.Now()
					ch.countMu.Unlock()
					h.sendSubscriptionCount(app, ch)
				})
			}
			ch.countMu.Unlock()
			return
		}
		ch.countLastSent = now
		ch.countMu.Unlock()
	}
	h.sendSubscriptionCount(app, ch)
}

// sendSubscriptionCount reports the channel's current count; reading it
// here rather than passing the count of the change that triggered the send
// means concurrent changes cannot leave a stale count as the last word.
func (h *Hub) sendSubscriptionCount(app *appmanager.App, ch *channel) {
	count := ch.subscribers()
	if count == 0 {
		return
	}
	if app.EnableSubscriptionCountEvents {
		data := `{"subscription_count":` + strconv.Itoa(count) + "}"
		ch.broadcast(protocol.Event(protocol.EventSubscriptionCount, ch.name, data, ""), nil)
	}
	// Webhooks send it only to targets that list it.
	h.emit(app, lifecycle.Event{Name: lifecycle.SubscriptionCount, Channel: ch.name, SubscriptionCount: count})
}

// sendCached sends a cache channel's last event to a new subscriber, or
// pusher:cache_miss (and the cache_miss webhook, once per miss period
// across all subscribers).
func (h *Hub) sendCached(c *Conn, name string) {
	if h.cfg.Cache == nil {
		c.send(protocol.EventNoData(protocol.EventCacheMiss, name))
		return
	}
	ctx, cancel := context.WithTimeout(c.ctx, 2*time.Second)
	defer cancel()
	e, err := h.cfg.Cache.Get(ctx, cacheKey(c.app.ID, name))
	switch {
	case err == nil:
		if ev, ok := decodeCached(e.Value); ok {
			c.send(protocol.Event(ev.Event, name, ev.Data, ""))
			return
		}
	case !errors.Is(err, cache.ErrNotFound):
		// The subscriber cannot wait for the cache to come back; it gets a
		// miss, and the outage is logged.
		h.log.LogAttrs(ctx, slog.LevelWarn, "reading a cache channel failed",
			slog.String("app_id", c.app.ID), slog.String("channel", name), slog.Any("error", err))
	}
	c.send(protocol.EventNoData(protocol.EventCacheMiss, name))
	if !h.wants(c.app, lifecycle.CacheMiss, name) {
		return
	}
	first, err := h.cfg.Cache.Add(ctx, cacheKey(c.app.ID, name)+":miss", []byte{1}, 5*time.Second)
	if err != nil {
		h.log.LogAttrs(ctx, slog.LevelWarn, "cache_miss de-duplication failed",
			slog.String("app_id", c.app.ID), slog.String("channel", name), slog.Any("error", err))
		first = true // better a duplicate webhook than a lost one
	}
	if first {
		h.emit(c.app, lifecycle.Event{Name: lifecycle.CacheMiss, Channel: name})
	}
}

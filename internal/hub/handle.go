package hub

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/sockudo-go/sockudo/internal/auth"
	"github.com/sockudo-go/sockudo/internal/lifecycle"
	"github.com/sockudo-go/sockudo/internal/protocol"
)

// Bounds the apps cannot change.
const (
	maxUserIDLength = 128
	maxWatchlist    = 100
)

// handle dispatches one client frame.
func (c *Conn) handle(frame []byte) {
	c.state.received.Add(1)
	m, err := protocol.Decode(frame)
	if err != nil {
		c.countError(errInvalidMessage)
		c.sendError(protocol.CodeInvalidMessage, "Invalid message format: "+err.Error(), "")
		return
	}
	switch {
	case m.Event == protocol.EventPing:
		c.send(pongFrame)
	case m.Event == protocol.EventPong:
		// Liveness was recorded when the frame arrived.
	case m.Event == protocol.EventSubscribe:
		c.handleSubscribe(&m)
	case m.Event == protocol.EventUnsubscribe:
		var d struct {
			Channel string `json:"channel"`
		}
		if err := m.DecodeData(&d); err != nil || d.Channel == "" {
			c.sendError(protocol.CodeInvalidMessage, "pusher:unsubscribe needs data.channel", "")
			return
		}
		c.hub.unsubscribe(c, d.Channel)
	case m.Event == protocol.EventSignin:
		c.handleSignin(&m)
	case strings.HasPrefix(m.Event, protocol.ClientEventPrefix):
		c.handleClientEvent(&m)
	default:
		c.sendError(protocol.CodeInvalidMessage, fmt.Sprintf("Unsupported event %q", m.Event), "")
	}
}

func (c *Conn) handleSubscribe(m *protocol.Message) {
	var d protocol.SubscribeData
	if err := m.DecodeData(&d); err != nil {
		c.sendError(protocol.CodeInvalidMessage, "Invalid pusher:subscribe data: "+err.Error(), "")
		return
	}
	name := d.Channel
	if err := protocol.ValidateChannelName(name, c.app.MaxChannelNameLength); err != nil {
		c.sendError(protocol.CodeInvalidMessage, err.Error(), name)
		return
	}
	if !c.admitSubscribe(name) {
		return
	}
	kind := protocol.Classify(name)
	if kind.Kind == protocol.ServerToUser {
		c.subscribeServerToUser(name)
		return
	}
	if kind.NeedsAuth() {
		channelData := ""
		if kind.Kind == protocol.Presence {
			channelData = string(d.ChannelData)
		}
		if err := auth.VerifyToken(d.Auth, c.app.Key, c.app.Secret, auth.ChannelString(c.id, name, channelData)); err != nil {
			c.countError(errAuth)
			c.rejectSubscription(name, protocol.CodeUnauthorized, "AuthError", "Invalid signature: "+err.Error(), 401)
			return
		}
	}
	var pm *presenceJoin
	if kind.Kind == protocol.Presence {
		var err error
		if pm, err = parseChannelData(string(d.ChannelData), c.app.MaxPresenceMemberSizeInKB); err != nil {
			c.rejectSubscription(name, protocol.CodeInvalidMessage, "InvalidChannelData", err.Error(), 400)
			return
		}
	}
	if hook := c.hub.cfg.Hooks.Subscribe; hook != nil {
		var userID string
		var userInfo json.RawMessage
		if pm != nil {
			userID, userInfo = pm.userID, pm.info
		}
		if r := hook(c, name, userID, userInfo); r != nil {
			c.rejectSubscription(name, r.Code, "Forbidden", r.Message, http.StatusForbidden)
			return
		}
	}
	c.hub.subscribe(c, name, kind, pm)
}

// rejectSubscription sends Pusher's connection-level pusher:error and
// soketi's channel-scoped pusher:subscription_error, which pusher-js
// delivers to channel.bind('pusher:subscription_error').
func (c *Conn) rejectSubscription(channel string, code int, typ, message string, status int) {
	c.debugSubscribeRefused(channel, code, typ, message)
	c.send(protocol.Error(code, message, channel))
	c.send(protocol.SubscriptionError(channel, typ, message, status))
}

// presenceJoin is a parsed presence channel_data.
type presenceJoin struct {
	userID string
	info   json.RawMessage
}

// parseChannelData reads {"user_id": string|number, "user_info": any}.
func parseChannelData(s string, maxKB int) (*presenceJoin, error) {
	if s == "" {
		return nil, fmt.Errorf("presence channels need channel_data")
	}
	var d struct {
		UserID   json.RawMessage `json:"user_id"`
		UserInfo json.RawMessage `json:"user_info"`
	}
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		return nil, fmt.Errorf("channel_data is not a JSON object: %v", err)
	}
	id, err := userIDString(d.UserID)
	if err != nil {
		return nil, err
	}
	max := protocol.DefaultMaxMemberBytes
	if maxKB > 0 {
		max = maxKB << 10
	}
	if len(d.UserInfo) > max {
		return nil, fmt.Errorf("user_info is larger than %d bytes", max)
	}
	info := d.UserInfo
	if string(info) == "null" {
		info = nil
	}
	return &presenceJoin{userID: id, info: info}, nil
}

// userIDString normalises a presence user id (string or number) to a
// string, as every SDK reads ids as strings.
func userIDString(raw json.RawMessage) (string, error) {
	var id string
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return "", fmt.Errorf("channel_data.user_id is missing")
	case raw[0] == '"':
		if err := json.Unmarshal(raw, &id); err != nil {
			return "", fmt.Errorf("channel_data.user_id: %v", err)
		}
	default:
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", fmt.Errorf("channel_data.user_id must be a string or a number")
		}
		id = n.String()
	}
	if id == "" {
		return "", fmt.Errorf("channel_data.user_id is empty")
	}
	if len(id) > maxUserIDLength {
		return "", fmt.Errorf("channel_data.user_id is longer than %d characters", maxUserIDLength)
	}
	return id, nil
}

func (c *Conn) handleClientEvent(m *protocol.Message) {
	name, channel := m.Event, m.Channel
	reject := func(msg string) { c.sendError(protocol.CodeClientEventRate, msg, channel) }
	if !c.app.EnableClientMessages {
		reject("Client events are not enabled for this app")
		return
	}
	if err := protocol.ValidateEventName(name, c.app.MaxEventNameLength); err != nil {
		reject(err.Error())
		return
	}
	kind := protocol.Classify(channel)
	switch kind.Kind {
	case protocol.Private, protocol.Presence:
	case protocol.Encrypted:
		reject("Client events are not allowed on encrypted channels")
		return
	default:
		reject("Client events are only allowed on private and presence channels")
		return
	}
	c.subMu.Lock()
	userID, subscribed := c.subs[channel]
	c.subMu.Unlock()
	if !subscribed {
		reject("Not subscribed to " + channel)
		return
	}
	data, err := m.DataString()
	if err != nil {
		reject(err.Error())
		return
	}
	if max := protocol.PayloadLimit(c.app.MaxEventPayloadInKB); len(data) > max {
		reject("Event data is larger than " + strconv.Itoa(max) + " bytes")
		return
	}
	if !c.allowClientEvent() {
		c.refuse(protocol.CodeClientEventRate, protocol.ReasonClientEventRate, channel)
		return
	}
	if hook := c.hub.cfg.Hooks.ClientEvent; hook != nil {
		if r := hook(c, channel, name, data, userID); r != nil {
			if r.Code != 0 {
				c.sendError(r.Code, r.Message, channel)
			}
			return
		}
	}
	ch := c.state.channel(channel)
	if ch == nil {
		return
	}
	c.state.delivered.Add(uint64(ch.broadcast(protocol.Event(name, channel, data, userID), c)))
	c.hub.emit(c.app, lifecycle.Event{Name: lifecycle.ClientEvent, Channel: channel, Event: name, Data: data, SocketID: c.id, UserID: userID})
}

package hub

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/sockudo-go/sockudo/internal/debuglog"
	"github.com/sockudo-go/sockudo/internal/protocol"
)

// debugLogs are the hub's debug lines, each kind capped on its own (see
// package debuglog). Every call site checks Enabled first, so they cost a
// level check when debug logging is off.
type debugLogs struct {
	connect, disconnect, subscribe, auth *debuglog.Sampler
}

func newDebugLogs(log *slog.Logger) debugLogs {
	return debugLogs{
		connect:    debuglog.New(log, "connect"),
		disconnect: debuglog.New(log, "disconnect"),
		subscribe:  debuglog.New(log, "subscribe"),
		auth:       debuglog.New(log, "auth"),
	}
}

// debugConnectRefused logs a connection refused before it started.
func (h *Hub) debugConnectRefused(r *http.Request, key string, code int, reason string) {
	if s := h.dbg.connect; s.Enabled(r.Context()) {
		s.Log(r.Context(), "connection refused", slog.String("app_key", key),
			slog.String("remote", r.RemoteAddr), slog.Int("code", code), slog.String("reason", reason))
	}
}

// debugConnect logs a new socket.
func (c *Conn) debugConnect(r *http.Request) {
	if s := c.hub.dbg.connect; s.Enabled(c.ctx) {
		s.Log(c.ctx, "connected", slog.String("app_id", c.app.ID), slog.String("socket_id", c.id),
			slog.String("remote", r.RemoteAddr))
	}
}

// debugDisconnect logs a socket's end: the close code the server sent,
// else the client's, and how long it was open. Only the reading
// goroutine calls it, from cleanup.
func (c *Conn) debugDisconnect(ctx context.Context) {
	s := c.hub.dbg.disconnect
	if !s.Enabled(ctx) {
		return
	}
	c.mu.Lock()
	code, reason, by := int(c.closeCode), c.closeText, "server"
	c.mu.Unlock()
	if code == 0 {
		var ce websocket.CloseError
		if errors.As(c.endErr, &ce) {
			code, reason, by = int(ce.Code), ce.Reason, "client"
		} else {
			// Dropped without a close frame, by the peer or the network.
			code, by = -1, "connection lost"
		}
	}
	open := time.Duration(c.hub.cfg.Now().UnixNano() - c.born)
	s.Log(ctx, "disconnected", slog.String("app_id", c.app.ID), slog.String("socket_id", c.id),
		slog.Int("code", code), slog.String("reason", reason), slog.String("closed_by", by),
		slog.Duration("duration", open.Round(time.Millisecond)))
}

// debugSubscribed logs a subscription that succeeded.
func (c *Conn) debugSubscribed(channel string) {
	if s := c.hub.dbg.subscribe; s.Enabled(c.ctx) {
		s.Log(c.ctx, "subscribed", slog.String("app_id", c.app.ID), slog.String("socket_id", c.id),
			slog.String("channel", channel))
	}
}

// debugSubscribeRefused logs a refused subscription; a refused channel
// signature goes to the auth lines as "channel auth refused".
func (c *Conn) debugSubscribeRefused(channel string, code int, typ, reason string) {
	s, msg := c.hub.dbg.subscribe, "subscribe refused"
	if typ == "AuthError" {
		s, msg = c.hub.dbg.auth, "channel auth refused"
	}
	if s.Enabled(c.ctx) {
		s.Log(c.ctx, msg, slog.String("app_id", c.app.ID), slog.String("socket_id", c.id),
			slog.String("channel", channel), slog.Int("code", code), slog.String("reason", reason))
	}
}

// refuseSignin answers a refused pusher:signin with 4009 and logs why.
func (c *Conn) refuseSignin(reason string) {
	if s := c.hub.dbg.auth; s.Enabled(c.ctx) {
		s.Log(c.ctx, "user signin refused", slog.String("app_id", c.app.ID), slog.String("socket_id", c.id),
			slog.String("reason", reason))
	}
	c.sendError(protocol.CodeUnauthorized, reason, "")
}

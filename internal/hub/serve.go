package hub

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/internal/protocol"
)

// ConnectOptions are the per-server settings of the WebSocket endpoint.
type ConnectOptions struct {
	// Apps finds the app of the key in the URL (already cached).
	Apps appmanager.Manager
	// StrictProtocol rejects a missing protocol parameter with 4008. By
	// default a missing one is taken as protocol 7.
	StrictProtocol bool
	// Compression is the permessage-deflate mode offered to clients.
	Compression websocket.CompressionMode
}

// Supported protocol versions.
const (
	minProtocol = 4
	maxProtocol = 7
)

// ServeWS upgrades the request and starts the socket of the app with the
// given key; it returns once the socket runs on its own goroutine.
// Rejections (unknown app, disabled, over quota, bad protocol, origin)
// happen after the upgrade, as a pusher:error followed by a close with the
// same code, which is how Pusher clients learn whether to reconnect.
func (h *Hub) ServeWS(w http.ResponseWriter, r *http.Request, key string, opts ConnectOptions) {
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		// Origins are checked per app below; browsers connect from the
		// app's own sites, never from this host.
		InsecureSkipVerify: true,
		CompressionMode:    opts.Compression,
	})
	if err != nil {
		return // Accept has answered the request
	}
	// Messages up to four times the bound are read and answered with a
	// pusher:error; beyond that the library closes the socket with 1009.
	ws.SetReadLimit(int64(h.cfg.MaxMessageBytes) * 4)

	reject := func(code int, message string) {
		h.debugConnectRefused(r, key, code, message)
		_ = ws.Write(r.Context(), websocket.MessageText, protocol.Error(code, message, ""))
		_ = ws.Close(websocket.StatusCode(code), message)
	}

	if h.Closing() {
		reject(protocol.CodeReconnect, protocol.ReasonShutdown)
		return
	}
	if code, msg := checkProtocol(r.URL.Query(), opts.StrictProtocol); code != 0 {
		h.errs[errBadProtocol].Add(1)
		reject(code, msg)
		return
	}
	app, err := opts.Apps.FindByKey(r.Context(), key)
	switch {
	case errors.Is(err, appmanager.ErrNotFound):
		h.errs[errAppNotFound].Add(1)
		reject(protocol.CodeAppNotFound, protocol.ReasonAppNotFound)
		return
	case err != nil:
		// The app store is unreachable or the app's row is broken: ask
		// the client to come back later instead of giving up for good.
		if ok, suppressed := h.lookupWarn.Allow(); ok {
			h.log.LogAttrs(r.Context(), slog.LevelWarn, "app lookup failed",
				slog.String("app_key", key), slog.Any("error", err), slog.Int64("suppressed", suppressed))
		}
		h.errs[errAppLookup].Add(1)
		reject(protocol.CodeOverCapacity, protocol.ReasonUnavailable)
		return
	case !app.Enabled:
		h.app(app.ID).m.errs[errAppDisabled].Add(1)
		reject(protocol.CodeAppDisabled, protocol.ReasonAppDisabled)
		return
	}
	if !originAllowed(app.AllowedOrigins, r.Header.Get("Origin")) {
		h.app(app.ID).m.errs[errOrigin].Add(1)
		reject(protocol.CodeUnauthorized, protocol.ReasonOriginDenied)
		return
	}
	id := newSocketID()
	var data any
	if hook := h.cfg.Hooks.Connect; hook != nil {
		var refuse *Refusal
		if data, refuse = hook(r, app, id); refuse != nil {
			h.app(app.ID).m.errs[errRefused].Add(1)
			reject(refuse.Code, refuse.Message)
			return
		}
	}
	// Count first, then check, so simultaneous upgrades cannot overshoot.
	if n := h.conns.Add(1); h.cfg.MaxConnections > 0 && n > int64(h.cfg.MaxConnections) {
		h.conns.Add(-1)
		h.app(app.ID).m.errs[errOverCapacity].Add(1)
		reject(protocol.CodeOverCapacity, protocol.ReasonOverCapacity)
		return
	}
	state := h.app(app.ID)
	if n := state.conns.Add(1); app.MaxConnections > 0 && n > int64(app.MaxConnections) {
		state.conns.Add(-1)
		h.conns.Add(-1)
		state.m.errs[errOverQuota].Add(1)
		reject(protocol.CodeOverQuota, protocol.ReasonOverQuota)
		return
	}
	state.connected.Add(1)
	h.wg.Add(1)

	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	c := &Conn{hub: h, app: app, state: state, ws: ws, id: id, data: data, ctx: ctx, cancel: cancel}
	c.writeFn, c.readFn = c.writeLoop, c.readLoop
	c.startBudgets()
	c.touch()
	c.born = c.lastRead.Load()
	state.addSocket(c)
	c.timer = time.AfterFunc(h.cfg.ActivityTimeout, c.onTimer)
	if app.EnableUserAuthentication {
		c.authTime = time.AfterFunc(h.cfg.UserAuthTimeout, c.onAuthTimeout)
	}
	if h.Closing() { // Shutdown raced with this connection
		c.closeGracefully(protocol.CodeReconnect, protocol.ReasonShutdown)
	}
	c.send(protocol.ConnectionEstablished(c.id, int(h.cfg.ActivityTimeout/time.Second)))
	c.debugConnect(r)
	// Read on a goroutine of our own so net/http can free the request's
	// objects, and so the reader's stack stays small (see readLoop).
	go c.readFn()
}

// checkProtocol validates the protocol query parameter.
func checkProtocol(q url.Values, strict bool) (int, string) {
	p := q.Get("protocol")
	if p == "" {
		if strict {
			return protocol.CodeNoProtocol, protocol.ReasonNoProtocol
		}
		return 0, ""
	}
	v, err := strconv.Atoi(p)
	if err != nil {
		return protocol.CodeInvalidVersion, "Invalid version string format"
	}
	if v < minProtocol || v > maxProtocol {
		return protocol.CodeUnsupportedProtocol, protocol.ReasonUnsupported
	}
	return 0, ""
}

// originAllowed matches an Origin header against an allow-list of exact
// origins, "*" (or "any"), and single-wildcard patterns such as
// "*.example.com" or "https://*.example.com". Patterns without a scheme
// match any scheme. As in Sockudo, "*" admits a client that sends no
// Origin (pusher-js in Node, mobile SDKs); any other non-empty list
// refuses it.
func originAllowed(allowed []string, origin string) bool {
	if len(allowed) == 0 {
		return true
	}
	for _, p := range allowed {
		if p == "*" || strings.EqualFold(p, "any") {
			return true
		}
	}
	if origin == "" {
		return false
	}
	host := origin
	if i := strings.Index(origin, "://"); i >= 0 {
		host = origin[i+3:]
	}
	for _, p := range allowed {
		target := origin
		if !strings.Contains(p, "://") {
			target = host
		}
		if matchWildcard(strings.ToLower(p), strings.ToLower(target)) {
			return true
		}
	}
	return false
}

// matchWildcard matches s against a pattern with at most one '*'.
func matchWildcard(pattern, s string) bool {
	before, after, ok := strings.Cut(pattern, "*")
	if !ok {
		return pattern == s
	}
	return len(s) >= len(before)+len(after) && strings.HasPrefix(s, before) && strings.HasSuffix(s, after)
}

func (c *Conn) onAuthTimeout() {
	c.subMu.Lock()
	signedIn := c.userID != ""
	c.subMu.Unlock()
	if !signedIn {
		c.closeWith(protocol.CodeUnauthorized, protocol.ReasonUnauthTimeout)
	}
}

package hub

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/sockudo-go/sockudo/appmanager"
)

// Hooks are the host's inline callbacks; nil ones are skipped. They run
// on the goroutine that serves the socket (Connect on the upgrading
// request's), which reads nothing else meanwhile, so they must be fast.
type Hooks struct {
	// Connect runs once the app is known and allowed, before the socket
	// counts against any limit. It returns data kept on the socket
	// (Conn.Data), or a Refusal that closes the socket with its code.
	Connect func(r *http.Request, app *appmanager.App, socketID string) (data any, refuse *Refusal)
	// Subscribe runs after a subscription's signature and channel data
	// are checked, before it takes effect; userID and userInfo are the
	// member of a presence channel's channel_data. A Refusal answers the
	// client with pusher:error and pusher:subscription_error.
	Subscribe func(c *Conn, channel, userID string, userInfo json.RawMessage) *Refusal
	// ClientEvent runs after a client event passed every check and the
	// socket's rate limit, before it is delivered; userID is the sender's
	// presence user id on presence channels. A Refusal drops it; one
	// with a code also answers the sender with a pusher:error.
	ClientEvent func(c *Conn, channel, event, data, userID string) *Refusal
}

// Refusal is a hook's veto. Code is a Pusher error code (4000-4999);
// Code 0 on a client event drops it silently.
type Refusal struct {
	Code    int
	Message string
}

// Context returns the socket's context, done when the socket closes.
func (c *Conn) Context() context.Context { return c.ctx }

// ID returns the socket id.
func (c *Conn) ID() string { return c.id }

// AppID returns the id of the socket's app.
func (c *Conn) AppID() string { return c.app.ID }

// UserID returns the user the socket signed in as, or "".
func (c *Conn) UserID() string {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	return c.userID
}

// Data returns what the Connect hook attached to the socket.
func (c *Conn) Data() any { return c.data }

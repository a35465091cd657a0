package wstest

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sockudo-go/sockudo/internal/auth"
)

// Timeout bounds every wait.
const Timeout = 5 * time.Second

// Frame is a server-to-client message. Data is the raw JSON of "data".
type Frame struct {
	Event   string          `json:"event"`
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
	UserID  string          `json:"user_id"`
	Raw     []byte          `json:"-"`
}

// DataString returns Data decoded as a JSON string, failing t if it is not
// one (the protocol sends strings everywhere but pusher:error).
func (f Frame) DataString(t testing.TB) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(f.Data, &s); err != nil {
		t.Fatalf("%s: data is not a JSON string: %s", f.Event, f.Data)
	}
	return s
}

// DataJSON decodes the string data as JSON into v.
func (f Frame) DataJSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(f.DataString(t)), v); err != nil {
		t.Fatalf("%s: data is not JSON: %v", f.Event, err)
	}
}

// Client is one test connection.
type Client struct {
	t        testing.TB
	ws       *websocket.Conn
	frames   chan Frame
	closed   chan struct{}
	closeErr error
	SocketID string
	// ActivityTimeout is what the handshake announced, in seconds.
	ActivityTimeout int
}

// Options tweak Dial.
type Options struct {
	Header http.Header
	// Query replaces the default "?protocol=7&client=js&version=8.6.0".
	Query string
	// NoHandshake skips waiting for pusher:connection_established.
	NoHandshake bool
}

// Dial connects to base (ws://host:port[/prefix]) for the app key and
// waits for the handshake.
func Dial(t testing.TB, base, key string, opts *Options) *Client {
	t.Helper()
	if opts == nil {
		opts = &Options{}
	}
	q := opts.Query
	if q == "" {
		q = "?protocol=7&client=js&version=8.6.0&flash=false"
	}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, base+"/app/"+key+q, &websocket.DialOptions{HTTPHeader: opts.Header})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	ws.SetReadLimit(16 << 20)
	c := &Client{t: t, ws: ws, frames: make(chan Frame, 1024), closed: make(chan struct{})}
	go c.readLoop()
	t.Cleanup(func() { _ = ws.CloseNow() })
	if !opts.NoHandshake {
		f := c.Expect(t, "pusher:connection_established")
		var d struct {
			SocketID        string `json:"socket_id"`
			ActivityTimeout int    `json:"activity_timeout"`
		}
		f.DataJSON(t, &d)
		c.SocketID, c.ActivityTimeout = d.SocketID, d.ActivityTimeout
	}
	return c
}

func (c *Client) readLoop() {
	defer close(c.closed)
	for {
		_, b, err := c.ws.Read(context.Background())
		if err != nil {
			c.closeErr = err
			return
		}
		var f Frame
		if err := json.Unmarshal(b, &f); err != nil {
			f = Frame{Event: "<invalid json>"}
		}
		f.Raw = b
		c.frames <- f
	}
}

// Send writes a raw text frame.
func (c *Client) Send(t testing.TB, raw string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, []byte(raw)); err != nil {
		t.Fatalf("send: %v", err)
	}
}

// SendJSON writes v as a frame.
func (c *Client) SendJSON(t testing.TB, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	c.Send(t, string(b))
}

// Next returns the next frame, failing after Timeout.
func (c *Client) Next(t testing.TB) Frame {
	t.Helper()
	select {
	case f := <-c.frames:
		return f
	case <-time.After(Timeout):
		t.Fatalf("no frame within %s", Timeout)
	}
	return Frame{}
}

// Expect skips frames until one with the event name arrives.
func (c *Client) Expect(t testing.TB, event string) Frame {
	t.Helper()
	deadline := time.After(Timeout)
	for {
		select {
		case f := <-c.frames:
			if f.Event == event {
				return f
			}
		case <-c.closed:
			// Drain what arrived before the close.
			for {
				select {
				case f := <-c.frames:
					if f.Event == event {
						return f
					}
				default:
					t.Fatalf("connection closed (%v) before %s", c.closeErr, event)
				}
			}
		case <-deadline:
			t.Fatalf("no %s within %s", event, Timeout)
		}
	}
}

// ExpectNone fails if a frame with the event arrives within d.
func (c *Client) ExpectNone(t testing.TB, event string, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case f := <-c.frames:
			if f.Event == event {
				t.Fatalf("unexpected %s: %s", event, f.Raw)
			}
		case <-deadline:
			return
		}
	}
}

// ExpectError waits for a pusher:error and returns its code (0 for null).
func (c *Client) ExpectError(t testing.TB) (int, string) {
	t.Helper()
	f := c.Expect(t, "pusher:error")
	var d struct {
		Code    *int   `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(f.Data, &d); err != nil {
		t.Fatalf("pusher:error data is not an object: %s", f.Data)
	}
	if d.Code == nil {
		return 0, d.Message
	}
	return *d.Code, d.Message
}

// ExpectClose waits for the server to close the connection and returns
// the close code.
func (c *Client) ExpectClose(t testing.TB) websocket.StatusCode {
	t.Helper()
	return c.ExpectCloseWithin(t, Timeout)
}

// ExpectCloseWithin is ExpectClose with another timeout.
func (c *Client) ExpectCloseWithin(t testing.TB, d time.Duration) websocket.StatusCode {
	t.Helper()
	select {
	case <-c.closed:
		return websocket.CloseStatus(c.closeErr)
	case <-time.After(d):
		t.Fatalf("connection not closed within %s", d)
	}
	return 0
}

// Subscribe sends pusher:subscribe with the given auth and channel data.
func (c *Client) Subscribe(t testing.TB, channel, authToken, channelData string) {
	t.Helper()
	d := map[string]string{"channel": channel}
	if authToken != "" {
		d["auth"] = authToken
	}
	if channelData != "" {
		d["channel_data"] = channelData
	}
	c.SendJSON(t, map[string]any{"event": "pusher:subscribe", "data": d})
}

// SubscribeOK subscribes (signing with key/secret when the channel needs
// it) and waits for subscription_succeeded.
func (c *Client) SubscribeOK(t testing.TB, key, secret, channel, channelData string) Frame {
	t.Helper()
	token := ""
	if strings.HasPrefix(channel, "private-") || strings.HasPrefix(channel, "presence-") {
		token = auth.Token(key, secret, auth.ChannelString(c.SocketID, channel, channelData))
	}
	c.Subscribe(t, channel, token, channelData)
	for {
		f := c.Expect(t, "pusher_internal:subscription_succeeded")
		if f.Channel == channel {
			return f
		}
	}
}

// Close closes the connection normally.
func (c *Client) Close() {
	_ = c.ws.Close(websocket.StatusNormalClosure, "")
}

// IsClosed reports whether the connection has ended.
func (c *Client) IsClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

package config

import (
	"strings"

	"github.com/sockudo-go/sockudo"
)

// WebSocket is the part of Sockudo's "websocket" section this server reads.
type WebSocket struct {
	// Compression is the permessage-deflate mode with Sockudo's names:
	// "disabled" (default), "dedicated", "shared", or "window256b" ...
	// "window32kb".
	Compression string `json:"compression"`
}

func defaultWebSocketConfig() WebSocket { return WebSocket{Compression: "disabled"} }

func (c *WebSocket) applyEnv(e env) error {
	e.str(&c.Compression, "WEBSOCKET_COMPRESSION")
	return nil
}

// CompressionMode maps Compression to the library's mode: "dedicated" and
// the window sizes keep the deflate context per connection (the window is
// always 32 KB here), "shared" compresses each message alone. Like
// Sockudo, an unknown name disables compression; ok reports whether the
// name was known, so the caller can warn.
func (c *WebSocket) CompressionMode() (mode sockudo.Compression, ok bool) {
	switch m := strings.ToLower(strings.TrimSpace(c.Compression)); {
	case m == "disabled" || m == "":
		return sockudo.CompressionDisabled, true
	case m == "dedicated":
		return sockudo.CompressionContextTakeover, true
	case m == "shared":
		return sockudo.CompressionNoContextTakeover, true
	case m == "window256b" || m == "window1kb" || m == "window2kb" || m == "window4kb" ||
		m == "window8kb" || m == "window16kb" || m == "window32kb":
		return sockudo.CompressionContextTakeover, true
	}
	return sockudo.CompressionDisabled, false
}

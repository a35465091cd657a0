package sockudo

import "github.com/coder/websocket"

// Compression selects permessage-deflate (RFC 7692) for WebSocket
// connections. It is negotiated only with clients that offer it.
type Compression int

const (
	// CompressionDisabled never negotiates permessage-deflate. It is the
	// default, as in Sockudo.
	CompressionDisabled Compression = iota
	// CompressionContextTakeover keeps the deflate window across messages:
	// the best ratio on repetitive JSON, at a fixed cost of about 1.2 MB
	// per connection. Sockudo's "dedicated" and "window*" modes.
	CompressionContextTakeover
	// CompressionNoContextTakeover compresses each message on its own with
	// pooled compressors: less memory, a lower ratio. Sockudo's "shared".
	CompressionNoContextTakeover
)

// WithCompression sets the permessage-deflate mode of WebSocket
// connections (default CompressionDisabled). Messages below a few hundred
// bytes are sent uncompressed either way.
func WithCompression(m Compression) Option { return func(c *config) { c.compression = m } }

// mode is m as the WebSocket library spells it.
func (m Compression) mode() websocket.CompressionMode {
	switch m {
	case CompressionContextTakeover:
		return websocket.CompressionContextTakeover
	case CompressionNoContextTakeover:
		return websocket.CompressionNoContextTakeover
	}
	return websocket.CompressionDisabled
}

package config

import "fmt"

// HTTP is the "http" section: limits of the HTTP listeners (nginx-style
// names). Durations are in seconds.
type HTTP struct {
	// HeaderTimeout bounds reading a request's headers (nginx
	// client_header_timeout).
	HeaderTimeout int `json:"header_timeout"`
	// BodyTimeout bounds reading a request's body after its headers
	// (nginx client_body_timeout).
	BodyTimeout int `json:"body_timeout"`
	// SendTimeout bounds writing a response (nginx send_timeout). It does
	// not apply to WebSocket connections.
	SendTimeout int `json:"send_timeout"`
	// KeepaliveTimeout closes a keep-alive connection idle this long
	// (nginx keepalive_timeout).
	KeepaliveTimeout int `json:"keepalive_timeout"`
	// MaxHeaderBytes caps a request's header size; larger gets 431.
	MaxHeaderBytes int `json:"max_header_bytes"`
	// MaxConnections caps the TCP connections the main listener holds
	// open at once, keep-alive and WebSocket alike. At the cap the oldest
	// idle keep-alive connection is closed to make room, or the newcomer
	// gets a 503. The default follows the file-descriptor limit
	// (DefaultMaxConnections).
	MaxConnections int `json:"max_connections"`
}

func defaultHTTPConfig() HTTP {
	return HTTP{HeaderTimeout: 10, BodyTimeout: 10, SendTimeout: 30, KeepaliveTimeout: 60, MaxHeaderBytes: 64 << 10,
		MaxConnections: DefaultMaxConnections()}
}

// DefaultMaxConnections is the default of http.max_connections: this
// process's file-descriptor soft limit (RLIMIT_NOFILE, which the Go
// runtime raises to the hard limit at start) less a reserve for the
// stores, logs and the metrics listener: the larger of 90% of the limit
// and the limit minus 256, at least 1. Where the limit cannot be read it
// is 65536.
func DefaultMaxConnections() int {
	if n, ok := FDMaxConnections(); ok {
		return n
	}
	return 65536
}

// FDMaxConnections is DefaultMaxConnections' rule applied to the
// descriptor limit; ok is false where the limit cannot be read.
func FDMaxConnections() (n int, ok bool) {
	limit, ok := fdLimit()
	if !ok {
		return 0, false
	}
	return connectionsFor(limit), true
}

// connectionsFor applies DefaultMaxConnections' rule to a descriptor limit.
func connectionsFor(limit uint64) int {
	const most = 1 << 30 // RLIM_INFINITY and the like
	limit = min(limit, most)
	n := max(limit/10*9, limit-min(limit, 256))
	return int(max(n, 1))
}

func (c *HTTP) applyEnv(e env) error {
	for _, f := range []struct {
		dst  *int
		name string
	}{
		{&c.HeaderTimeout, "HTTP_HEADER_TIMEOUT"},
		{&c.BodyTimeout, "HTTP_BODY_TIMEOUT"},
		{&c.SendTimeout, "HTTP_SEND_TIMEOUT"},
		{&c.KeepaliveTimeout, "HTTP_KEEPALIVE_TIMEOUT"},
		{&c.MaxHeaderBytes, "HTTP_MAX_HEADER_BYTES"},
		{&c.MaxConnections, "HTTP_MAX_CONNECTIONS"},
	} {
		if err := e.integer(f.dst, f.name); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks the section, naming the option at fault: a zero would
// turn a bound off, which the listeners facing clients must not allow.
func (c *HTTP) Validate() error {
	for _, f := range []struct {
		v    int
		name string
	}{
		{c.HeaderTimeout, "http.header_timeout (HTTP_HEADER_TIMEOUT)"},
		{c.BodyTimeout, "http.body_timeout (HTTP_BODY_TIMEOUT)"},
		{c.SendTimeout, "http.send_timeout (HTTP_SEND_TIMEOUT)"},
		{c.KeepaliveTimeout, "http.keepalive_timeout (HTTP_KEEPALIVE_TIMEOUT)"},
		{c.MaxHeaderBytes, "http.max_header_bytes (HTTP_MAX_HEADER_BYTES)"},
		{c.MaxConnections, "http.max_connections (HTTP_MAX_CONNECTIONS)"},
	} {
		if f.v < 1 {
			return fmt.Errorf("%s %d is not positive", f.name, f.v)
		}
	}
	return nil
}

package main

import (
	"container/list"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Refusal bounds: a refused connection gets its 503 within refuseWrite,
// then its request is drained for at most refuseDrain so that closing it
// does not reset the connection before the client reads the answer. At
// most refusers run at once; past that a newcomer is closed unanswered,
// so refusing never holds more than refusers descriptors above the cap.
const (
	refuseWrite = time.Second
	refuseDrain = 500 * time.Millisecond
	refusers    = 64
	warnEvery   = 10 * time.Second
)

// refusal is the whole answer to a connection over the cap.
const refusal = "HTTP/1.1 503 Service Unavailable\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Retry-After: 1\r\n" +
	"Connection: close\r\n" +
	"Content-Length: 20\r\n\r\n" +
	"too many connections"

// connLimiter is a net.Listener that keeps at most max connections open,
// so that idle keep-alive connections cannot use every file descriptor
// and leave health checks and new WebSockets unanswered. A connection
// counts from Accept until its Close, WebSockets (hijacked) included. At
// the cap the oldest idle keep-alive connection is closed to make room;
// when none is idle, the newcomer is answered 503 and closed.
//
// It learns which connections are idle from http.Server.ConnState; see
// limitConns.
type connLimiter struct {
	net.Listener
	max int
	// tls skips the plaintext 503, which a TLS client could not read.
	tls bool
	log *slog.Logger

	mu   sync.Mutex
	open int
	idle list.List // of *limitedConn, oldest first

	refusing chan struct{}
	refused  atomic.Int64 // since the last warning
	lastWarn atomic.Int64 // unix nanoseconds
}

// limitConns wraps ln to hold at most max connections for hs, and sets
// hs.ConnState to track which are idle. Set tls when hs serves TLS over
// the returned listener.
func limitConns(ln net.Listener, hs *http.Server, max int, tls bool, log *slog.Logger) *connLimiter {
	l := &connLimiter{Listener: ln, max: max, tls: tls, log: log, refusing: make(chan struct{}, refusers)}
	hs.ConnState = l.connState
	return l
}

// Accept returns the next connection that fits under the cap, refusing
// those that do not.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.admit() {
			return &limitedConn{Conn: c, l: l}, nil
		}
		l.refuse(c)
	}
}

// admit takes a place for a new connection, closing idle ones to free
// one when the cap is reached. It reports false when none could be freed.
func (l *connLimiter) admit() bool {
	for {
		l.mu.Lock()
		if l.open < l.max {
			l.open++
			l.mu.Unlock()
			return true
		}
		e := l.idle.Front()
		if e == nil {
			l.mu.Unlock()
			return false
		}
		victim := l.idle.Remove(e).(*limitedConn)
		victim.idle = nil
		l.mu.Unlock()
		// Close frees the place (release), so the next round takes it.
		_ = victim.Close()
	}
}

// refuse answers c with a 503 and closes it, in the background so a slow
// client cannot stall Accept.
func (l *connLimiter) refuse(c net.Conn) {
	l.warn()
	if l.tls {
		_ = c.Close()
		return
	}
	select {
	case l.refusing <- struct{}{}:
	default:
		_ = c.Close()
		return
	}
	go func() {
		defer func() { <-l.refusing }()
		defer c.Close()
		_ = c.SetWriteDeadline(time.Now().Add(refuseWrite))
		if _, err := io.WriteString(c, refusal); err != nil {
			return
		}
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		_ = c.SetReadDeadline(time.Now().Add(refuseDrain))
		_, _ = io.CopyN(io.Discard, c, 64<<10)
	}()
}

// warn logs that the cap refuses connections, at most once per warnEvery.
func (l *connLimiter) warn() {
	n := l.refused.Add(1)
	now := time.Now().UnixNano()
	last := l.lastWarn.Load()
	if now-last < int64(warnEvery) || !l.lastWarn.CompareAndSwap(last, now) {
		return
	}
	l.refused.Add(-n)
	l.log.Warn("connection cap reached, refusing connections",
		"max_connections", l.max, "refused", n, "addr", l.Addr().String())
}

// connState is http.Server.ConnState for the server over l: it keeps the
// idle list in step with net/http, a connection waiting there, newest
// last, while it is between keep-alive requests.
func (l *connLimiter) connState(c net.Conn, s http.ConnState) {
	// Under TLS net/http reports the *tls.Conn over our connection.
	if u, ok := c.(interface{ NetConn() net.Conn }); ok {
		c = u.NetConn()
	}
	lc, ok := c.(*limitedConn)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if lc.idle != nil {
		l.idle.Remove(lc.idle)
		lc.idle = nil
	}
	if s == http.StateIdle && !lc.closed {
		lc.idle = l.idle.PushBack(lc)
	}
}

// release gives back c's place; it runs once per connection.
func (l *connLimiter) release(c *limitedConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	c.closed = true
	if c.idle != nil {
		l.idle.Remove(c.idle)
		c.idle = nil
	}
}

// Open returns how many connections hold a place.
func (l *connLimiter) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// idleCount returns how many connections wait between requests.
func (l *connLimiter) idleCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.idle.Len()
}

// limitedConn is a connection holding a place under its connLimiter. Its
// Close gives the place back once, however often it is called (net/http
// and a WebSocket library may both close it).
type limitedConn struct {
	net.Conn
	l    *connLimiter
	once sync.Once
	// idle and closed are guarded by l.mu.
	idle   *list.Element
	closed bool
}

// Close closes the connection and gives back its place.
func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c) })
	return err
}

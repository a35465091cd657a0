package hub

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/internal/protocol"
)

// Conn is one client socket.
type Conn struct {
	hub   *Hub
	app   *appmanager.App
	state *appState
	ws    *websocket.Conn
	id    string
	data  any // from the Connect hook; set before the socket runs

	// clientEvents limits the socket's client events; created on the
	// first one, used only by the reading goroutine.
	clientEvents *rate.Limiter
	// subscribes limits the socket's subscribes (caps.go); same rules.
	subscribes *rate.Limiter
	// Inbound budgets (nil when disabled), made when the socket starts;
	// protoErrs on its first protocol error.
	inFrames, inBytes, protoErrs *rate.Limiter
	// discard is set once the socket is closed for a budget: what it
	// still sends is read (for the close handshake) but not handled.
	discard atomic.Bool

	ctx    context.Context
	cancel context.CancelFunc

	// Outbound queue. The writer goroutine runs only while writing is true.
	mu      sync.Mutex
	queue   [][]byte
	spare   [][]byte
	writing bool
	closed  bool // nothing more is queued
	// queuedBytes is the size of what is queued or being written. paused
	// says the reader waits on resume (made on the first pause) for it to
	// fall below the high-water mark.
	queuedBytes int
	paused      bool
	resume      chan struct{}
	closeCode   websocket.StatusCode
	closeText   string
	closedOnce  sync.Once
	// writeFn and readFn are c.writeLoop and c.readLoop, made once: a go
	// statement on a method value allocates each time.
	writeFn, readFn func()

	// Subscriptions and identity, guarded by subMu. The read goroutine
	// changes them; closes and queries from other goroutines read them.
	subMu     sync.Mutex
	subs      map[string]string // channel -> presence user id ("" otherwise)
	userID    string
	watchlist []string

	// Liveness. lastRead is unix nanoseconds of the last inbound frame.
	lastRead atomic.Int64
	pingAt   atomic.Int64 // when the outstanding server ping was sent, or 0
	timer    *time.Timer
	authTime *time.Timer
	// born is when the socket opened (unix nanoseconds) and endErr the
	// read error that ended it, for the disconnect debug line.
	born   int64
	endErr error
}

var readBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// newSocketID returns a Pusher socket id "<int>.<int>" that is hard to
// guess, since channel signatures are bound to it.
func newSocketID() string {
	b := make([]byte, 0, 24)
	b = strconv.AppendUint(b, rand.Uint64N(10_000_000_000), 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, rand.Uint64N(10_000_000_000), 10)
	return string(b)
}

// send queues frame for writing. It never blocks. It reports whether the
// frame was queued.
func (c *Conn) send(frame []byte) bool {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	if len(c.queue) >= c.hub.cfg.OutboundQueue ||
		(c.hub.cfg.SocketBudget.OutboundBytes > 0 && c.queuedBytes+len(frame) > c.hub.cfg.SocketBudget.OutboundBytes) {
		if c.hub.cfg.SlowConsumer == DropMessages {
			c.mu.Unlock()
			c.state.dropped.Add(1)
			return false
		}
		// Close at once: what is queued would only make the client later.
		c.closed = true
		c.queue = nil
		c.queuedBytes = 0
		c.wakeLocked()
		c.mu.Unlock()
		c.state.slowClosed.Add(1)
		c.hub.log.LogAttrs(c.ctx, slog.LevelInfo, "closing slow consumer",
			slog.String("app_id", c.app.ID), slog.String("socket_id", c.id))
		go func() {
			_ = c.ws.Close(protocol.CodeOverCapacity, protocol.ReasonSlowConsumer)
			c.cancel()
		}()
		return false
	}
	c.queue = append(c.queue, frame)
	c.queuedBytes += len(frame)
	if c.writing {
		c.mu.Unlock()
		return true
	}
	c.writing = true
	c.mu.Unlock()
	go c.writeFn()
	return true
}

// writeLoop writes queued frames until the queue is empty, then exits.
// Two slices alternate as the queue so steady traffic allocates nothing.
// What a written batch settles (its bytes, its slice, a paused reader) is
// done under the lock taken for the next batch: one lock per batch.
func (c *Conn) writeLoop() {
	var written [][]byte // the batch just written
	writtenBytes := 0
	for {
		c.mu.Lock()
		c.queuedBytes -= writtenBytes
		if written != nil && c.spare == nil {
			c.spare = written[:0]
		}
		if c.paused && !c.overHighWaterLocked() {
			c.wakeLocked()
		}
		if len(c.queue) == 0 {
			c.writing = false
			code, text, closing := c.closeCode, c.closeText, c.closed && c.closeCode != 0
			if cap(c.queue) > 64 {
				c.queue, c.spare = nil, nil // release a burst's memory when idle
			}
			c.mu.Unlock()
			if closing {
				c.finishClose(code, text)
			}
			return
		}
		batch := c.queue
		writtenBytes = 0
		for _, f := range batch {
			writtenBytes += len(f)
		}
		c.queue = c.spare[:0]
		c.spare = nil
		c.mu.Unlock()

		sent := 0 // bytes, for the counters when a write fails midway
		for i, f := range batch {
			// Background context: a write never times out on its own. A
			// dead peer is detected by the activity timeout, and a slow
			// one by the bounded queue; both close the conn, which ends
			// a blocked write.
			err := c.ws.Write(context.Background(), websocket.MessageText, f)
			batch[i] = nil
			if err != nil {
				c.countSent(i, sent)
				c.abort()
				c.mu.Lock()
				c.writing = false
				c.queue = nil
				c.queuedBytes = 0
				c.closed = true
				c.wakeLocked()
				c.mu.Unlock()
				return
			}
			sent += len(f)
		}
		c.countSent(len(batch), writtenBytes)
		written = batch
	}
}

// overHighWaterLocked reports whether more than half of the outbound
// budget (in messages or bytes) is queued: the reader stops reading the
// socket's requests until the client has read its replies.
func (c *Conn) overHighWaterLocked() bool {
	if len(c.queue) > c.hub.cfg.OutboundQueue/2 {
		return true
	}
	b := c.hub.cfg.SocketBudget.OutboundBytes
	return b > 0 && c.queuedBytes > b/2
}

// wakeLocked lets a paused reader continue.
func (c *Conn) wakeLocked() {
	if c.paused {
		c.paused = false
		select {
		case c.resume <- struct{}{}:
		default:
		}
	}
}

// waitForWriter blocks the reader while the outbound queue is over the
// high-water mark; false means the connection ended meanwhile.
func (c *Conn) waitForWriter() bool {
	for {
		c.mu.Lock()
		if c.closed || !c.overHighWaterLocked() {
			c.mu.Unlock()
			return true
		}
		c.paused = true
		if c.resume == nil { // made on the first pause: most sockets never pause
			c.resume = make(chan struct{}, 1)
		}
		c.mu.Unlock()
		select {
		case <-c.resume:
		case <-c.ctx.Done():
			return false
		}
	}
}

// closeWith queues a pusher:error frame (when message is not empty), then
// closes the socket with code once everything queued before it is written.
func (c *Conn) closeWith(code int, message string) { c.beginClose(code, message, message != "") }

// closeGracefully closes with code and reason after flushing the queue,
// without a pusher:error frame.
func (c *Conn) closeGracefully(code int, reason string) { c.beginClose(code, reason, false) }

// beginClose stops queueing, lets the writer flush what is queued and then
// send the close frame. A writer stuck on a peer that stopped reading
// would never get there, so the connection is dropped if the close has
// not happened within closeFlushTimeout.
func (c *Conn) beginClose(code int, reason string, errorFrame bool) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if errorFrame {
		c.queue = append(c.queue, protocol.Error(code, reason, ""))
	}
	c.closed = true
	c.closeCode = websocket.StatusCode(code)
	c.closeText = reason
	start := !c.writing
	if start {
		c.writing = true
	}
	c.mu.Unlock()
	time.AfterFunc(c.hub.closeFlushTimeout(), c.abort)
	if start {
		go c.writeFn()
	}
}

func (c *Conn) finishClose(code websocket.StatusCode, reason string) {
	c.closedOnce.Do(func() {
		// Close waits for the client's close frame (read by readLoop) for
		// a few seconds, then drops the connection.
		_ = c.ws.Close(code, reason)
		c.cancel()
	})
}

// abort drops the connection at once.
func (c *Conn) abort() {
	c.closedOnce.Do(func() {
		_ = c.ws.CloseNow()
		c.cancel()
	})
}

// sendError queues a non-fatal pusher:error for a frame the server
// cannot act on. Such errors count against the protocol-error limit; a
// socket past it is closed with 4300. Only the reading goroutine calls it.
func (c *Conn) sendError(code int, message, channel string) {
	if b := c.hub.cfg.SocketBudget; b.MaxProtocolErrors > 0 {
		if c.protoErrs == nil { // most sockets never err: made on the first
			c.protoErrs = rate.NewLimiter(rate.Every(b.ProtocolErrorWindow/time.Duration(b.MaxProtocolErrors)), b.MaxProtocolErrors)
		}
		if !c.protoErrs.Allow() {
			c.countError(errTooManyErrors)
			c.discard.Store(true)
			c.closeWith(protocol.CodeInvalidMessage, protocol.ReasonTooManyErrors)
			return
		}
	}
	c.refuse(code, message, channel)
}

// refuse queues a pusher:error that refuses a valid request (a rate or a
// cap): the inbound budget bounds those, not the protocol-error limit.
func (c *Conn) refuse(code int, message, channel string) {
	c.send(protocol.Error(code, message, channel))
}

// startBudgets makes the socket's inbound token buckets.
func (c *Conn) startBudgets() {
	b := c.hub.cfg.SocketBudget
	if b.InboundFramesPerSecond > 0 {
		c.inFrames = rate.NewLimiter(rate.Limit(b.InboundFramesPerSecond), max(b.InboundFrameBurst, 1))
	}
	if b.InboundBytesPerSecond > 0 {
		c.inBytes = rate.NewLimiter(rate.Limit(b.InboundBytesPerSecond), max(b.InboundBytesPerSecond, 4*c.hub.cfg.MaxMessageBytes))
	}
}

// overInbound charges one frame of n bytes to the inbound budget and, when
// it is spent, closes the socket with 4100 so the client backs off.
func (c *Conn) overInbound(n int) bool {
	if c.discard.Load() {
		return true
	}
	c.state.m.bytesIn.Add(uint64(n))
	if c.inFrames == nil && c.inBytes == nil {
		return false
	}
	if c.checkLimit(limitMessages, (c.inFrames == nil || c.inFrames.Allow()) && (c.inBytes == nil || c.inBytes.AllowN(time.Now(), n))) {
		return false
	}
	c.discard.Store(true)
	c.state.slowClosed.Add(1)
	c.hub.log.LogAttrs(c.ctx, slog.LevelInfo, "closing socket over its inbound budget",
		slog.String("app_id", c.app.ID), slog.String("socket_id", c.id))
	c.closeGracefully(protocol.CodeOverCapacity, protocol.ReasonInboundBudget)
	return true
}

// touch records inbound activity.
func (c *Conn) touch() {
	c.lastRead.Store(c.hub.cfg.Now().UnixNano())
}

// onTimer runs when the activity or pong timer fires: it pings an idle
// client and closes one that did not answer.
func (c *Conn) onTimer() {
	now := c.hub.cfg.Now().UnixNano()
	last := c.lastRead.Load()
	if pingAt := c.pingAt.Load(); pingAt != 0 {
		if last < pingAt {
			c.hub.log.LogAttrs(c.ctx, slog.LevelDebug, "pong not received",
				slog.String("app_id", c.app.ID), slog.String("socket_id", c.id))
			c.closeGracefully(protocol.CodePongNotReceived, protocol.ReasonPongTimeout)
			return
		}
		c.pingAt.Store(0)
	}
	timeout := c.hub.cfg.ActivityTimeout
	if idle := time.Duration(now - last); idle < timeout {
		c.timer.Reset(timeout - idle)
		return
	}
	c.pingAt.Store(now)
	c.send(pingFrame)
	c.timer.Reset(c.hub.cfg.PongTimeout)
}

var (
	pingFrame = protocol.Event(protocol.EventPing, "", "{}", "")
	pongFrame = protocol.Event(protocol.EventPong, "", "{}", "")
)

// readLoop reads client frames until the connection ends, then removes the
// socket from every registry. After each handled message it continues on a
// fresh goroutine, so an idle socket's stack is the small one of a reader.
func (c *Conn) readLoop() {
	if c.readOne() {
		go c.readFn()
		return
	}
	c.cleanup()
}

// readOne reads and handles one message; false means the connection ended.
func (c *Conn) readOne() bool {
	max := c.hub.cfg.MaxMessageBytes
	for {
		if !c.waitForWriter() {
			return false
		}
		typ, r, err := c.ws.Reader(c.ctx)
		if err != nil {
			c.endErr = err
			return false
		}
		c.touch()
		if typ != websocket.MessageText || c.discard.Load() {
			n, err := io.Copy(io.Discard, r)
			if err != nil {
				return false
			}
			if c.overInbound(int(n)) {
				continue
			}
			c.countError(errInvalidMessage)
			c.sendError(protocol.CodeInvalidMessage, "Binary frames are not supported", "")
			continue
		}
		buf := readBufs.Get().(*bytes.Buffer)
		buf.Reset()
		_, err = buf.ReadFrom(io.LimitReader(r, int64(max)+1))
		if err == nil && buf.Len() > max {
			var n int64
			n, err = io.Copy(io.Discard, r)
			if err == nil && !c.overInbound(buf.Len()+int(n)) {
				c.countError(errTooLarge)
				c.sendError(protocol.CodeInvalidMessage, "Message is larger than "+strconv.Itoa(max)+" bytes", "")
			}
			readBufs.Put(buf)
			if err != nil {
				return false
			}
			continue
		}
		if err != nil {
			readBufs.Put(buf)
			return false
		}
		if c.overInbound(buf.Len()) {
			readBufs.Put(buf)
			continue
		}
		if !utf8.Valid(buf.Bytes()) {
			// RFC 6455 §8.1: a text frame that is not UTF-8 fails the
			// connection with 1007.
			readBufs.Put(buf)
			c.countError(errInvalidMessage)
			c.discard.Store(true)
			c.closeGracefully(int(websocket.StatusInvalidFramePayloadData), "Invalid UTF-8 in text frame")
			continue
		}
		c.handle(buf.Bytes())
		if buf.Cap() > 64<<10 {
			buf = new(bytes.Buffer) // do not keep a huge buffer pooled
		}
		readBufs.Put(buf)
		return true
	}
}

// cleanup removes the socket from every registry, firing the transitions
// its departure causes.
func (c *Conn) cleanup() {
	c.debugDisconnect(c.ctx)
	c.abort()
	c.timer.Stop()
	if c.authTime != nil {
		c.authTime.Stop()
	}
	c.mu.Lock()
	c.closed = true
	c.queue = nil
	c.spare = nil
	c.queuedBytes = 0
	c.mu.Unlock()

	c.subMu.Lock()
	chans := make([]string, 0, len(c.subs))
	for name := range c.subs {
		chans = append(chans, name)
	}
	c.subMu.Unlock()
	for _, name := range chans {
		c.hub.unsubscribe(c, name)
	}
	c.hub.signOut(c)
	c.state.removeSocket(c)
	c.state.conns.Add(-1)
	c.state.disconnected.Add(1)
	c.hub.conns.Add(-1)
	c.hub.wg.Done()
}

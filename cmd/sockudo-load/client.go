package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// clientFlag, as the first argument, runs this binary as the client
// process of a scenario; the second argument is a JSON clientSpec. It is
// not listed in the usage.
const clientFlag = "-sockudo-load-client"

// Client modes.
const (
	modeIdle    = "idle"
	modeLatency = "latency"
	modeConnect = "connect"
)

const (
	// handshakeTimeout bounds one dial through connection_established (and
	// subscription_succeeded when subscribing).
	handshakeTimeout = 15 * time.Second
	// drainTimeout bounds the wait for in-flight messages after the last
	// publish.
	drainTimeout = 15 * time.Second
)

// clientSpec tells the client process what to do.
type clientSpec struct {
	Mode    string `json:"mode"`
	URL     string `json:"url"`
	Conns   int    `json:"conns"`
	Dialers int    `json:"dialers"`
	// Epoch is the parent's wall-clock start in Unix nanoseconds: the
	// origin of the timestamps in published data.
	Epoch int64 `json:"epoch"`
	// Limit bounds the client's whole life.
	Limit time.Duration `json:"limit"`
	// Soak configures the soak mode.
	Soak *soakSpec `json:"soak,omitempty"`
}

// Report phases, written one JSON object per line to the parent.
const (
	phaseReady  = "ready"  // every socket is open (and subscribed)
	phaseResult = "result" // figures of the scenario
	phaseClosed = "closed" // every socket is closed
	phaseError  = "error"
)

// Parent commands, one per line on the client's standard input.
const (
	cmdClose = "close"
	cmdDrain = "drain" // "drain <publishes>"
	cmdGo    = "go"
)

// clientReport is one line of client output.
type clientReport struct {
	Phase string `json:"phase"`
	Err   string `json:"err,omitempty"`
	Conns int    `json:"conns,omitempty"`
	// Connect scenario: seconds from the first dial to the last
	// connection_established.
	Seconds float64 `json:"seconds,omitempty"`
	// Latency scenario: messages expected and received in order, and
	// delivery latencies in nanoseconds.
	Expected int64 `json:"expected,omitempty"`
	Received int64 `json:"received,omitempty"`
	P50      int64 `json:"p50,omitempty"`
	P99      int64 `json:"p99,omitempty"`
	Max      int64 `json:"max,omitempty"`
	// Soak scenario: the churn's figures.
	Soak *soakCounts `json:"soak,omitempty"`
}

// clock reads nanoseconds since a wall-clock epoch shared by the parent
// and the client: the offset is fixed once from the wall clock, and every
// reading after that comes from the monotonic clock, which both processes
// share.
type clock struct {
	t0   time.Time
	base int64
}

func newClock(epoch int64) clock {
	t0 := time.Now()
	return clock{t0: t0, base: t0.UnixNano() - epoch}
}

func (c clock) now() int64 { return c.base + int64(time.Since(c.t0)) }

// clientMain runs the client process and returns its exit code.
func clientMain(args []string, stdin io.Reader, stdout io.Writer) int {
	enc := json.NewEncoder(stdout)
	fail := func(err error) int {
		_ = enc.Encode(clientReport{Phase: phaseError, Err: err.Error()})
		return 1
	}
	if len(args) != 1 {
		return fail(fmt.Errorf("%s takes one JSON argument, got %d arguments", clientFlag, len(args)))
	}
	var spec clientSpec
	if err := json.Unmarshal([]byte(args[0]), &spec); err != nil {
		return fail(fmt.Errorf("client spec: %w", err))
	}
	if spec.Conns < 1 || spec.Dialers < 1 || spec.Limit <= 0 || spec.URL == "" {
		return fail(fmt.Errorf("client spec: bad values %+v", spec))
	}
	ctx, cancel := context.WithTimeout(context.Background(), spec.Limit)
	defer cancel()
	c := &client{spec: spec, clk: newClock(spec.Epoch), enc: enc, cmds: readLines(stdin)}
	var err error
	switch spec.Mode {
	case modeIdle:
		err = c.idle(ctx)
	case modeLatency:
		err = c.latency(ctx)
	case modeConnect:
		err = c.connect(ctx)
	case modeSoak:
		err = c.soak(ctx)
	default:
		err = fmt.Errorf("unknown mode %q", spec.Mode)
	}
	if err != nil {
		return fail(err)
	}
	return 0
}

// readLines delivers r's lines on a channel that is closed at EOF.
func readLines(r io.Reader) <-chan string {
	ch := make(chan string)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			ch <- sc.Text()
		}
	}()
	return ch
}

type client struct {
	spec clientSpec
	clk  clock
	enc  *json.Encoder
	cmds <-chan string
}

func (c *client) report(r clientReport) error { return c.enc.Encode(r) }

// command waits for the parent's next command.
func (c *client) command(ctx context.Context) (string, error) {
	select {
	case line, ok := <-c.cmds:
		if !ok {
			return "", errors.New("parent closed standard input")
		}
		return line, nil
	case <-ctx.Done():
		return "", fmt.Errorf("waiting for a command: %w", ctx.Err())
	}
}

// awaitClose waits for the close command, closes conns and reports it.
func (c *client) awaitClose(ctx context.Context, conns []*websocket.Conn, readers *sync.WaitGroup) error {
	cmd, err := c.command(ctx)
	closeAll(conns)
	if readers != nil {
		readers.Wait()
	}
	if err != nil {
		return err
	}
	if cmd != cmdClose {
		return fmt.Errorf("unexpected command %q, want %q", cmd, cmdClose)
	}
	return c.report(clientReport{Phase: phaseClosed})
}

func (c *client) idle(ctx context.Context) error {
	conns, err := dialAll(ctx, c.spec.URL, c.spec.Conns, c.spec.Dialers, true)
	if err != nil {
		return err
	}
	if err := c.report(clientReport{Phase: phaseReady, Conns: len(conns)}); err != nil {
		closeAll(conns)
		return err
	}
	return c.awaitClose(ctx, conns, nil)
}

func (c *client) connect(ctx context.Context) error {
	if err := c.report(clientReport{Phase: phaseReady}); err != nil {
		return err
	}
	cmd, err := c.command(ctx)
	if err != nil {
		return err
	}
	if cmd != cmdGo {
		return fmt.Errorf("unexpected command %q, want %q", cmd, cmdGo)
	}
	start := time.Now()
	conns, err := dialAll(ctx, c.spec.URL, c.spec.Conns, c.spec.Dialers, false)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	if err := c.report(clientReport{Phase: phaseResult, Conns: len(conns), Seconds: elapsed.Seconds()}); err != nil {
		closeAll(conns)
		return err
	}
	return c.awaitClose(ctx, conns, nil)
}

func (c *client) latency(ctx context.Context) error {
	conns, err := dialAll(ctx, c.spec.URL, c.spec.Conns, c.spec.Dialers, true)
	if err != nil {
		return err
	}
	sinks := make([]*sink, len(conns))
	var readers sync.WaitGroup
	for i, ws := range conns {
		s := &sink{}
		sinks[i] = s
		readers.Go(func() { s.read(ws, c.clk) })
	}
	err = c.measure(ctx, sinks)
	if err != nil {
		closeAll(conns)
		readers.Wait()
		return err
	}
	return c.awaitClose(ctx, conns, &readers)
}

// measure reports ready, waits for "drain <n>", waits for the n messages
// on every socket (or drainTimeout) and reports the figures.
func (c *client) measure(ctx context.Context, sinks []*sink) error {
	if err := c.report(clientReport{Phase: phaseReady, Conns: len(sinks)}); err != nil {
		return err
	}
	cmd, err := c.command(ctx)
	if err != nil {
		return err
	}
	arg, ok := strings.CutPrefix(cmd, cmdDrain+" ")
	published, perr := strconv.ParseInt(arg, 10, 64)
	if !ok || perr != nil || published < 0 {
		return fmt.Errorf("unexpected command %q, want %q", cmd, cmdDrain+" <n>")
	}
	expected := published * int64(len(sinks))
	received := func() int64 {
		var n int64
		for _, s := range sinks {
			n += s.received.Load()
		}
		return n
	}
	deadline := time.Now().Add(drainTimeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for received() < expected && time.Now().Before(deadline) {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	all := make([]int64, 0, min(expected, 1<<24))
	for _, s := range sinks {
		s.mu.Lock()
		all = append(all, s.lat...)
		s.mu.Unlock()
	}
	slices.Sort(all)
	return c.report(clientReport{
		Phase:    phaseResult,
		Conns:    len(sinks),
		Expected: expected,
		Received: int64(len(all)),
		P50:      percentile(all, 50),
		P99:      percentile(all, 99),
		Max:      percentile(all, 100),
	})
}

// percentile returns the nearest-rank p-th percentile of sorted, or 0
// when it is empty.
func percentile(sorted []int64, p float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// sink records the deliveries of one socket.
type sink struct {
	received atomic.Int64 // messages received in order

	mu   sync.Mutex
	next int64   // next expected sequence number
	lat  []int64 // nanoseconds, one per message received in order
}

var pongFrame = []byte(`{"event":"pusher:pong","data":"{}"}`)

// read records tick messages until the connection ends, answering the
// server's pusher:ping.
func (s *sink) read(ws *websocket.Conn, clk clock) {
	buf := make([]byte, 0, 512)
	for {
		// Background context: a cancellable one costs an allocation per
		// read; closing the connection ends the read.
		_, r, err := ws.Reader(context.Background())
		if err != nil {
			return
		}
		buf, err = readAll(r, buf[:0])
		if err != nil {
			return
		}
		now := clk.now()
		seq, sent, ok := parseTick(buf)
		if !ok {
			if bytes.Contains(buf, []byte(`"pusher:ping"`)) {
				_ = ws.Write(context.Background(), websocket.MessageText, pongFrame)
			}
			continue
		}
		s.record(seq, now-sent)
	}
}

// record counts message seq, delivered after lat nanoseconds. Only
// messages in order count as received: a gap counts as lost.
func (s *sink) record(seq, lat int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if seq < s.next {
		return // duplicate or late
	}
	s.next = seq + 1
	s.lat = append(s.lat, lat)
	s.received.Add(1)
}

// readAll appends r's content to buf, growing it as needed.
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, cap(buf)+512)
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// appendTick appends the data of tick number seq sent at sent: a JSON
// object padded to a realistic size.
func appendTick(b []byte, seq, sent int64) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, `,"sent":`...)
	b = strconv.AppendInt(b, sent, 10)
	b = append(b, `,"pad":"`...)
	b = append(b, tickPad...)
	return append(b, `"}`...)
}

var tickPad = strings.Repeat("x", 100)

// parseTick finds the sequence number and send time in a tick frame, in
// which the data is a JSON string (so its quotes are escaped).
func parseTick(frame []byte) (seq, sent int64, ok bool) {
	if seq, ok = intAfter(frame, `"seq`); !ok {
		return 0, 0, false
	}
	sent, ok = intAfter(frame, `"sent`)
	return seq, sent, ok
}

// intAfter parses the decimal number that follows key and any quotes,
// backslashes and colons.
func intAfter(b []byte, key string) (int64, bool) {
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return 0, false
	}
	i += len(key)
	for i < len(b) && (b[i] == '\\' || b[i] == '"' || b[i] == ':') {
		i++
	}
	start := i
	var v int64
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9' && i-start < 18; i++ {
		v = v*10 + int64(b[i]-'0')
	}
	return v, i > start
}

// dialAll opens n sockets with k concurrent dialers, each through
// connection_established and, when subscribe is set, through
// subscription_succeeded on the bench channel. On error it closes what it
// opened.
func dialAll(ctx context.Context, url string, n, k int, subscribe bool) ([]*websocket.Conn, error) {
	conns := make([]*websocket.Conn, n)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(k, n) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				ws, err := dialOne(ctx, url, subscribe)
				if err != nil {
					cancel(fmt.Errorf("connection %d of %d: %w", i+1, n, err))
					return
				}
				conns[i] = ws
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		closeAll(conns)
		return nil, err
	}
	return conns, nil
}

func dialOne(ctx context.Context, url string, subscribe bool) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	if err := expectEvent(ctx, ws, "pusher:connection_established"); err != nil {
		ws.CloseNow()
		return nil, err
	}
	if !subscribe {
		return ws, nil
	}
	if err := ws.Write(ctx, websocket.MessageText, []byte(subscribeFrame)); err != nil {
		ws.CloseNow()
		return nil, err
	}
	if err := expectEvent(ctx, ws, "pusher_internal:subscription_succeeded"); err != nil {
		ws.CloseNow()
		return nil, err
	}
	return ws, nil
}

// expectEvent reads one message and checks that it is the named event.
func expectEvent(ctx context.Context, ws *websocket.Conn, event string) error {
	_, msg, err := ws.Read(ctx)
	if err != nil {
		return fmt.Errorf("waiting for %s: %w", event, err)
	}
	if !bytes.Contains(msg, []byte(`"event":"`+event+`"`)) {
		return fmt.Errorf("got %.200s, want %s", msg, event)
	}
	return nil
}

func closeAll(conns []*websocket.Conn) {
	for _, ws := range conns {
		if ws != nil {
			ws.CloseNow()
		}
	}
}

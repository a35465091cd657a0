package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/sockudo-go/sockudo/transport"
	"github.com/sockudo-go/sockudo/transport/internal/driverkit"
)

// reapChunksPerTick bounds the reaping calls of one tick.
const reapChunksPerTick = 8

// node is one incarnation registered by a Driver.
type node struct {
	d    *Driver
	id   string
	cfg  transport.NodeConfig
	tick time.Duration
	mail *driverkit.Mailbox
	ps   *pubsub

	// ctx ends the node's background work; cancel is called by halt.
	ctx    context.Context
	cancel context.CancelFunc

	mu        sync.Mutex
	epoch     string    // store epoch the node is registered in
	lastRenew time.Time // when its last successful renewal started
	killed    bool
	leaving   bool // Deregister started
	closed    bool
	fenced    bool
	wiped     bool  // store wiped, Restore pending
	unavail   error // last failure to reach the store; nil once reached
	status    transport.Status
	since     time.Time
	err       error

	alive                        atomic.Int64
	reconnects, reaped           atomic.Uint64
	calls, callErrors, latencyNs atomic.Uint64
}

var (
	_ transport.Node          = (*node)(nil)
	_ transport.StatsReporter = (*node)(nil)
)

func newNode(d *Driver, id string, cfg transport.NodeConfig, h transport.Handler) *node {
	n := &node{d: d, id: id, cfg: cfg, mail: driverkit.NewMailbox(h, d.queue)}
	n.tick = cfg.Lease / 5
	if cfg.Hold > 0 && cfg.Hold/4 < n.tick {
		n.tick = cfg.Hold / 4
	}
	n.tick = max(n.tick, 10*time.Millisecond)
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.ps = newPubsub(n)
	return n
}

// ID returns the incarnation id.
func (n *node) ID() string { return n.id }

// Health reports the node's state.
func (n *node) Health() transport.Health {
	n.mu.Lock()
	defer n.mu.Unlock()
	return transport.Health{Status: n.status, Since: n.since, Err: n.err}
}

// Stats returns the node's counters.
func (n *node) Stats() transport.Stats {
	return transport.Stats{
		NodesAlive:   int(n.alive.Load()),
		Reconnects:   n.reconnects.Load(),
		Gaps:         n.mail.Gaps(),
		Reaped:       n.reaped.Load(),
		StoreCalls:   n.calls.Load(),
		StoreErrors:  n.callErrors.Load(),
		StoreLatency: time.Duration(n.latencyNs.Load()),
	}
}

// updateLocked recomputes the status after a change of the flags.
func (n *node) updateLocked() {
	st, err := transport.Up, error(nil)
	switch {
	case n.fenced:
		st, err = transport.Fenced, transport.ErrFenced
	case n.closed:
		st, err = transport.Fenced, transport.ErrClosed
	case n.unavail != nil:
		st, err = transport.Degraded, n.unavail
	case n.wiped:
		st, err = transport.Degraded, transport.ErrStoreWiped
	}
	if st != n.status {
		n.since = time.Now()
	}
	n.status, n.err = st, err
}

// fenceLocked ends the incarnation for reason, reporting Lost once.
func (n *node) fenceLocked(reason transport.LossReason) {
	if n.fenced || n.closed {
		return
	}
	n.fenced = true
	n.updateLocked()
	n.d.log.Warn("node fenced", "node", n.id, "name", n.cfg.Name, "reason", reason.String())
	n.mail.Lost(reason)
	n.cancel()
	go n.ps.close()
	n.mail.Finish()
}

// halt stops all background work at once.
func (n *node) halt() {
	n.cancel()
	n.ps.close()
	n.mail.Halt()
}

// leaseRunOutLocked reports whether the lease may run out before the
// next renewal: the node fences itself two ticks early, so that it has
// stopped before anyone may reap it.
func (n *node) leaseRunOutLocked() bool {
	return !n.wiped && time.Since(n.lastRenew) >= n.cfg.Lease-2*n.tick
}

// usable returns why the node may not call the store, or nil.
func (n *node) usable(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case n.fenced:
		return transport.ErrFenced
	case n.closed:
		return transport.ErrClosed
	case n.leaseRunOutLocked():
		n.fenceLocked(transport.LeaseExpired)
		return transport.ErrFenced
	}
	return nil
}

// exec runs a script, counting it and noting whether the store answered.
func (n *node) exec(ctx context.Context, s *rueidis.Lua, args ...string) (rueidis.RedisMessage, error) {
	start := time.Now()
	msg, err := n.d.exec(ctx, s, args...)
	n.calls.Add(1)
	n.latencyNs.Add(uint64(time.Since(start)))
	n.noteReached(err)
	return msg, err
}

// noteReached turns the node Degraded when the store did not answer and
// Up again once it does.
func (n *node) noteReached(err error) {
	if err != nil && !errors.Is(err, transport.ErrUnavailable) {
		return // the caller's context ended: nothing learned
	}
	if err != nil {
		n.callErrors.Add(1)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fenced || n.closed || (err == nil && n.unavail == nil) {
		return
	}
	if err != nil && n.unavail == nil {
		n.d.log.Warn("store unreachable", "node", n.id, "error", err)
	}
	n.unavail = err
	n.updateLocked()
}

// write runs a guarded script: its arguments start with the node's id
// and epoch, and its reply with a status that the guard may have set.
func (n *node) write(ctx context.Context, s *rueidis.Lua, args ...string) ([]rueidis.RedisMessage, error) {
	if err := n.usable(ctx); err != nil {
		return nil, err
	}
	n.mu.Lock()
	epoch, wiped := n.epoch, n.wiped
	n.mu.Unlock()
	if wiped {
		return nil, transport.ErrStoreWiped
	}
	msg, err := n.exec(ctx, s, append([]string{n.id, epoch}, args...)...)
	if err != nil {
		return nil, err
	}
	arr, err := msg.ToArray()
	if err != nil || len(arr) == 0 {
		return nil, fmt.Errorf("%w: unexpected reply %v", transport.ErrUnavailable, msg)
	}
	status, _ := arr[0].ToString()
	if err := n.guarded(status, epoch); err != nil {
		return nil, err
	}
	return arr, nil
}

// guarded maps a guard status to the node's reaction and error.
func (n *node) guarded(status, epoch string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch status {
	case "WIPED":
		// A reply to a call made before Restore changed the epoch says
		// nothing about the new one.
		if epoch == n.epoch && !n.wiped && !n.fenced && !n.closed {
			n.wiped = true
			n.updateLocked()
			n.d.log.Warn("store wiped", "node", n.id)
			n.mail.Lost(transport.StoreWiped)
		}
		return transport.ErrStoreWiped
	case "REAPED", "GONE":
		n.fenceLocked(transport.Reaped)
		return transport.ErrFenced
	case "EXPIRED":
		n.fenceLocked(transport.LeaseExpired)
		return transport.ErrFenced
	}
	return nil
}

// read runs an unguarded script: reads are served while the store is
// wiped, as they are by the memory driver.
func (n *node) read(ctx context.Context, s *rueidis.Lua, args ...string) (rueidis.RedisMessage, error) {
	if err := n.usable(ctx); err != nil {
		return rueidis.RedisMessage{}, err
	}
	return n.exec(ctx, s, args...)
}

// hold is the hold argument of the scripts: -1 for none.
func (n *node) hold() string {
	if n.cfg.Hold < 0 {
		return "-1"
	}
	return ms(n.cfg.Hold)
}

// run renews the lease, reaps expired nodes and confirms due holds every
// tick.
func (n *node) run() {
	t := time.NewTicker(n.tick)
	defer t.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
			n.beat()
		}
	}
}

// beat is one tick of run.
func (n *node) beat() {
	n.mu.Lock()
	switch {
	case n.killed || n.closed || n.fenced || n.wiped:
		n.mu.Unlock()
		return
	case n.leaseRunOutLocked():
		n.fenceLocked(transport.LeaseExpired)
		n.mu.Unlock()
		return
	}
	n.mu.Unlock()
	ctx := n.ctx
	start := time.Now()
	arr, err := n.write(ctx, renewScript, ms(n.cfg.Lease))
	if err != nil {
		return
	}
	n.mu.Lock()
	n.lastRenew = start
	n.mu.Unlock()
	if alive, err := arr[1].AsInt64(); err == nil {
		n.alive.Store(alive)
	}
	// A few chunks per tick: reaping a large node takes several ticks
	// (or several nodes), and no call blocks Redis for long.
	for range reapChunksPerTick {
		arr, err := n.write(ctx, reapScript, n.hold(), strconv.Itoa(n.d.chunk))
		if err != nil || len(arr) < 4 {
			break
		}
		dead, _ := arr[1].ToString()
		n.mail.Transitions(parseTransitions(arr[3]))
		if toInt(arr[2]) == 1 {
			n.reaped.Add(1)
			n.d.log.Info("reaped a dead node", "node", n.id, "dead", dead)
		}
	}
	if arr, err := n.write(ctx, dueScript); err == nil && len(arr) > 1 {
		n.mail.Transitions(parseTransitions(arr[1]))
	}
	n.ps.probe(ctx)
}

// Deregister hands off, then removes this node's contributions.
func (n *node) Deregister(ctx context.Context) error {
	n.mu.Lock()
	switch {
	case n.fenced:
		n.mu.Unlock()
		return transport.ErrFenced
	case n.closed || n.leaving:
		n.mu.Unlock()
		return transport.ErrClosed
	}
	n.leaving = true
	n.mu.Unlock()

	if err := driverkit.Sleep(ctx, n.cfg.HandoffGrace); err != nil {
		_ = n.Close()
		return err
	}
	for {
		arr, err := n.write(ctx, leaveScript, n.hold(), strconv.Itoa(n.d.chunk))
		if err != nil {
			_ = n.Close()
			return err
		}
		n.mail.Transitions(parseTransitions(arr[2]))
		if toInt(arr[1]) == 1 {
			break
		}
	}
	n.mu.Lock()
	n.closed = true
	n.updateLocked()
	n.mu.Unlock()
	n.cancel()
	n.ps.close()
	n.mail.Finish()
	select {
	case <-n.mail.Done():
		return nil
	case <-ctx.Done():
		n.mail.Halt()
		return ctx.Err()
	}
}

// Close stops the node without touching the store.
func (n *node) Close() error {
	n.mu.Lock()
	if !n.closed && !n.fenced {
		n.closed = true
		n.updateLocked()
	}
	n.mu.Unlock()
	n.halt()
	return nil
}

// kill stops the node silently; its calls still reach the store.
func (n *node) kill() {
	n.mu.Lock()
	n.killed = true
	n.mu.Unlock()
	n.halt()
}

// parseTransitions reads the scripts' flat transition list.
func parseTransitions(m rueidis.RedisMessage) []transport.Transition {
	f, err := m.ToArray()
	if err != nil {
		return nil
	}
	out := make([]transport.Transition, 0, len(f)/7)
	for i := 0; i+7 <= len(f); i += 7 {
		kind, _ := f[i].AsInt64()
		tr := transport.Transition{Kind: transport.TransitionKind(kind)}
		tr.App, _ = f[i+1].ToString()
		tr.Channel, _ = f[i+2].ToString()
		tr.UserID, _ = f[i+3].ToString()
		resumed, _ := f[i+4].AsInt64()
		tr.Resumed = resumed == 1
		seq, _ := f[i+5].AsInt64()
		tr.Seq = uint64(seq)
		if info, _ := f[i+6].ToString(); info != "" {
			tr.Info = []byte(info)
		}
		out = append(out, tr)
	}
	return out
}

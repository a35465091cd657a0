package memory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sockudo-go/sockudo/transport"
	"github.com/sockudo-go/sockudo/transport/internal/driverkit"
)

// node is one incarnation started by a Cluster.
type node struct {
	c    *Cluster
	id   string
	cfg  transport.NodeConfig
	h    transport.Handler
	tick time.Duration

	// Guarded by c.mu.
	epoch       uint64    // store epoch the node is registered in
	lastRenew   time.Time // when its last renewal was written
	partitioned bool
	healed      chan struct{} // closed by Heal
	missed      bool          // cut off since the last renewal: report a Gap
	killed      bool
	leaving     bool // Deregister started
	closed      bool
	fenced      bool
	wiped       bool  // store wiped, Restore pending
	unavail     error // last failure to reach the store; nil once reached
	status      transport.Status
	since       time.Time
	err         error
	topic       map[transport.Topic]struct{}

	mail *driverkit.Mailbox

	loopOnce sync.Once
	stopLoop chan struct{} // ends run
}

var _ transport.Node = (*node)(nil)

// ID returns the incarnation id.
func (n *node) ID() string { return n.id }

// Health reports the node's state.
func (n *node) Health() transport.Health {
	n.c.mu.Lock()
	defer n.c.mu.Unlock()
	return transport.Health{Status: n.status, Since: n.since, Err: n.err}
}

// updateLocked recomputes the status after a change of the flags.
func (n *node) updateLocked(now time.Time) {
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
		n.since = now
	}
	n.status, n.err = st, err
}

// fenceLocked ends the incarnation for reason, reporting Lost once.
func (n *node) fenceLocked(now time.Time, reason transport.LossReason) {
	if n.fenced || n.closed {
		return
	}
	n.fenced = true
	n.updateLocked(now)
	n.unsubscribeAllLocked()
	n.mail.Lost(reason)
	n.endLoop()
	n.mail.Finish()
}

// wipedLocked notes that the store lost the node, reporting Lost once
// per wipe.
func (n *node) wipedLocked(now time.Time) {
	if n.wiped {
		return
	}
	n.wiped = true
	n.updateLocked(now)
	n.mail.Lost(transport.StoreWiped)
}

func (n *node) endLoop() { n.loopOnce.Do(func() { close(n.stopLoop) }) }

// halt stops all background work at once.
func (n *node) halt() {
	n.endLoop()
	n.mail.Halt()
}

func (n *node) unsubscribeAllLocked() {
	for t := range n.topic {
		n.c.unsubscribeLocked(n, t)
	}
	clear(n.topic)
}

// run renews the lease, reaps expired nodes and confirms due holds every
// tick.
func (n *node) run() {
	t := time.NewTicker(n.tick)
	defer t.Stop()
	for {
		select {
		case <-n.stopLoop:
			return
		case <-t.C:
			n.beat(time.Now())
		}
	}
}

// beat is one tick of run.
func (n *node) beat(now time.Time) {
	c := n.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if n.killed || n.closed || n.fenced {
		return
	}
	if n.partitioned {
		n.unavail = fmt.Errorf("%w: renewing the lease: cut off from the store", transport.ErrUnavailable)
		n.updateLocked(now)
		// Fence two ticks before the lease can run out, so the node has
		// stopped before anyone may reap it.
		if now.Sub(n.lastRenew) >= n.cfg.Lease-2*n.tick {
			n.fenceLocked(now, transport.LeaseExpired)
		}
		return
	}
	st := c.st
	if _, dead := st.dead[n.id]; dead {
		n.fenceLocked(now, transport.Reaped)
		return
	}
	if n.epoch != st.epoch {
		n.unavail = nil
		n.wipedLocked(now)
		return
	}
	if exp, ok := st.leases[n.id]; !ok || now.After(exp) {
		n.fenceLocked(now, transport.LeaseExpired)
		return
	}
	st.leases[n.id] = now.Add(n.cfg.Lease)
	n.lastRenew = now
	n.unavail = nil
	n.updateLocked(now)
	if n.missed {
		n.missed = false
		ts := make([]transport.Topic, 0, len(n.topic))
		for t := range n.topic {
			ts = append(ts, t)
		}
		driverkit.SortTopics(ts)
		n.mail.Gap(ts)
	}

	var trs []transport.Transition
	var reaped []string
	for inc, exp := range st.leases {
		if inc != n.id && now.After(exp) {
			reaped = append(reaped, inc)
		}
	}
	slices.Sort(reaped)
	for _, inc := range reaped {
		// The claim and the removal are one critical section: exactly one
		// node reaps each incarnation.
		delete(st.leases, inc)
		st.dead[inc] = struct{}{}
		if o := c.nodes[inc]; o != nil {
			o.unsubscribeAllLocked()
		}
		trs = append(trs, st.remove(inc, n.cfg.Hold, now, false)...)
	}
	trs = append(trs, st.due(now)...)
	n.mail.Transitions(trs)
}

// callMode says which store checks a call needs.
type callMode uint8

const (
	modeRead    callMode = iota // reads and broker calls: allowed while the store is wiped
	modeWrite                   // writes: refused with ErrStoreWiped until Restore
	modeRestore                 // Restore: re-registers after a wipe
)

// do runs fn on the store under the cluster lock after the checks every
// call makes: ctx, closed, fenced, partition (waits for ctx, Heal or a
// fifth of the lease), tombstone, wipe and lease.
func (n *node) do(ctx context.Context, mode callMode, fn func(st *store, now time.Time) error) error {
	c := n.c
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		c.mu.Lock()
		if n.fenced {
			c.mu.Unlock()
			return transport.ErrFenced
		}
		if n.closed {
			c.mu.Unlock()
			return transport.ErrClosed
		}
		if !n.partitioned {
			break
		}
		healed := n.healed
		c.mu.Unlock()
		timer := time.NewTimer(n.cfg.Lease / 5)
		var cause error
		select {
		case <-healed:
		case <-ctx.Done():
			cause = ctx.Err()
		case <-timer.C:
			cause = errors.New("no answer")
		}
		timer.Stop()
		if cause == nil {
			continue
		}
		err := fmt.Errorf("%w: %w", transport.ErrUnavailable, cause)
		c.mu.Lock()
		if !n.fenced && !n.closed {
			n.unavail = err
			n.updateLocked(time.Now())
		}
		c.mu.Unlock()
		return err
	}
	defer c.mu.Unlock()
	now := time.Now()
	st := c.st
	if _, dead := st.dead[n.id]; dead {
		n.fenceLocked(now, transport.Reaped)
		return transport.ErrFenced
	}
	if n.epoch != st.epoch {
		n.wipedLocked(now)
		if mode == modeWrite {
			return transport.ErrStoreWiped
		}
	} else if exp, ok := st.leases[n.id]; !ok || now.After(exp) {
		n.fenceLocked(now, transport.LeaseExpired)
		return transport.ErrFenced
	}
	if n.unavail != nil {
		n.unavail = nil
		n.updateLocked(now)
	}
	return fn(st, now)
}

// SetChannel sets this node's contribution to a channel.
func (n *node) SetChannel(ctx context.Context, op transport.ChannelOp) (transport.ChannelResult, error) {
	if err := driverkit.CheckChannelOp(op, false); err != nil {
		return transport.ChannelResult{}, err
	}
	var res transport.ChannelResult
	err := n.do(ctx, modeWrite, func(st *store, now time.Time) error {
		k := chanKey{op.App, op.Channel}
		vk := verKey{n.id, 'c', op.App, op.Channel}
		if op.Version <= st.vers[vk] {
			res = channelResult(st, k, op)
			res.Stale = true
			return nil
		}
		var members map[string]int
		var info []byte
		if m := op.Member; m != nil {
			if rec := st.channels[k]; m.Sockets > 0 && op.MemberLimit > 0 && rec != nil &&
				rec.members[m.UserID] == nil && len(rec.members) >= op.MemberLimit {
				return fmt.Errorf("%w: %d members in %s", transport.ErrLimit, len(rec.members), op.Channel)
			}
			members = map[string]int{m.UserID: m.Sockets}
			info = bytes.Clone(m.Info)
		}
		st.vers[vk] = op.Version
		trs := st.setChannel(k, n.id, op.Subscribers, members, info, n.cfg.Hold, now, false)
		res = channelResult(st, k, op)
		res.Transitions = trs
		return nil
	})
	return res, err
}

func channelResult(st *store, k chanKey, op transport.ChannelOp) transport.ChannelResult {
	ci := st.info(k)
	res := transport.ChannelResult{Subscribers: ci.Subscribers, Users: ci.Users}
	if rec := st.channels[k]; rec != nil {
		res.Seq = rec.seq
	}
	if op.Member != nil && op.Member.Sockets > 0 {
		ms := st.members(k)
		res.Members = &ms
	}
	return res
}

// SetUser sets this node's signed-in sockets of a user.
func (n *node) SetUser(ctx context.Context, op transport.UserOp) (transport.UserResult, error) {
	if err := driverkit.CheckUserOp(op, false); err != nil {
		return transport.UserResult{}, err
	}
	var res transport.UserResult
	err := n.do(ctx, modeWrite, func(st *store, _ time.Time) error {
		k := userKey{op.App, op.UserID}
		if !st.fresh(verKey{n.id, 'u', op.App, op.UserID}, op.Version) {
			res.Stale = true
			if rec := st.users[k]; rec != nil {
				res.Sockets = rec.total
			}
			return nil
		}
		res.Sockets, res.Transitions = st.setUser(k, n.id, op.Sockets, false)
		return nil
	})
	return res, err
}

// SetConnections sets this node's connections of an app.
func (n *node) SetConnections(ctx context.Context, op transport.ConnOp) (transport.ConnResult, error) {
	if err := driverkit.CheckConnOp(op, false); err != nil {
		return transport.ConnResult{}, err
	}
	var res transport.ConnResult
	err := n.do(ctx, modeWrite, func(st *store, _ time.Time) error {
		vk := verKey{n.id, 'a', op.App, ""}
		rec := st.apps[op.App]
		total, mine := 0, 0
		if rec != nil {
			total, mine = rec.total, rec.byInc[n.id]
		}
		if op.Version <= st.vers[vk] {
			res = transport.ConnResult{Stale: true, Total: total}
			return nil
		}
		if op.Limit > 0 && op.Connections > mine && total-mine+op.Connections > op.Limit {
			return fmt.Errorf("%w: %d connections of app %s", transport.ErrLimit, total, op.App)
		}
		st.vers[vk] = op.Version
		res.Total = st.setConns(op.App, n.id, op.Connections)
		return nil
	})
	return res, err
}

// Channel returns a channel's totals.
func (n *node) Channel(ctx context.Context, app, channel string) (transport.ChannelInfo, error) {
	var ci transport.ChannelInfo
	err := n.do(ctx, modeRead, func(st *store, _ time.Time) error {
		ci = st.info(chanKey{app, channel})
		return nil
	})
	return ci, err
}

// Channels returns app's occupied channels starting with prefix.
func (n *node) Channels(ctx context.Context, app, prefix string) ([]transport.ChannelInfo, error) {
	var out []transport.ChannelInfo
	err := n.do(ctx, modeRead, func(st *store, _ time.Time) error {
		for k, rec := range st.channels {
			if k.app == app && rec.total > 0 && strings.HasPrefix(k.name, prefix) {
				out = append(out, st.info(k))
			}
		}
		return nil
	})
	slices.SortFunc(out, func(a, b transport.ChannelInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, err
}

// Members returns a presence channel's members.
func (n *node) Members(ctx context.Context, app, channel string) (transport.Members, error) {
	var ms transport.Members
	err := n.do(ctx, modeRead, func(st *store, _ time.Time) error {
		ms = st.members(chanKey{app, channel})
		return nil
	})
	return ms, err
}

// Online reports which users have a signed-in socket.
func (n *node) Online(ctx context.Context, app string, users []string) ([]bool, error) {
	out := make([]bool, len(users))
	err := n.do(ctx, modeRead, func(st *store, _ time.Time) error {
		for i, u := range users {
			out[i] = st.users[userKey{app, u}] != nil
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Connections returns app's connections cluster-wide.
func (n *node) Connections(ctx context.Context, app string) (int, error) {
	total := 0
	err := n.do(ctx, modeRead, func(st *store, _ time.Time) error {
		if rec := st.apps[app]; rec != nil {
			total = rec.total
		}
		return nil
	})
	return total, err
}

// Restore replaces this node's contributions with s, quietly.
func (n *node) Restore(ctx context.Context, s transport.Snapshot) error {
	for _, op := range s.Channels {
		if err := driverkit.CheckChannelOp(op, true); err != nil {
			return err
		}
	}
	for _, op := range s.Users {
		if err := driverkit.CheckUserOp(op, true); err != nil {
			return err
		}
	}
	for _, op := range s.Connections {
		if err := driverkit.CheckConnOp(op, true); err != nil {
			return err
		}
	}
	return n.do(ctx, modeRestore, func(st *store, now time.Time) error {
		if n.epoch != st.epoch {
			n.epoch = st.epoch
		}
		st.leases[n.id] = now.Add(n.cfg.Lease)
		n.lastRenew = now
		st.remove(n.id, 0, now, true)
		// Several ops may name one channel (one per presence user).
		for _, op := range s.Channels {
			k := chanKey{op.App, op.Channel}
			var members map[string]int
			var info []byte
			if op.Member != nil {
				members = map[string]int{op.Member.UserID: op.Member.Sockets}
				info = bytes.Clone(op.Member.Info)
			}
			st.setChannel(k, n.id, op.Subscribers, members, info, 0, now, true)
			vk := verKey{n.id, 'c', op.App, op.Channel}
			st.vers[vk] = max(st.vers[vk], op.Version)
		}
		for _, op := range s.Users {
			st.setUser(userKey{op.App, op.UserID}, n.id, op.Sockets, true)
			vk := verKey{n.id, 'u', op.App, op.UserID}
			st.vers[vk] = max(st.vers[vk], op.Version)
		}
		for _, op := range s.Connections {
			st.setConns(op.App, n.id, op.Connections)
			vk := verKey{n.id, 'a', op.App, ""}
			st.vers[vk] = max(st.vers[vk], op.Version)
		}
		n.wiped = false
		n.updateLocked(now)
		return nil
	})
}

// Publish sends msg to the other nodes subscribed to t.
func (n *node) Publish(ctx context.Context, t transport.Topic, msg []byte) error {
	if err := driverkit.CheckTopic(t); err != nil {
		return err
	}
	return n.do(ctx, modeRead, func(st *store, _ time.Time) error {
		var cp []byte
		for o := range n.c.subs[t] {
			if o == n || o.killed || o.partitioned || o.closed || o.fenced {
				continue
			}
			if _, dead := st.dead[o.id]; dead {
				continue
			}
			if cp == nil {
				cp = bytes.Clone(msg)
				if cp == nil {
					cp = []byte{}
				}
			}
			o.mail.Message(t, cp)
		}
		return nil
	})
}

// Subscribe adds interest in ts.
func (n *node) Subscribe(ctx context.Context, ts ...transport.Topic) error {
	for _, t := range ts {
		if err := driverkit.CheckTopic(t); err != nil {
			return err
		}
	}
	return n.do(ctx, modeRead, func(*store, time.Time) error {
		for _, t := range ts {
			n.topic[t] = struct{}{}
			set := n.c.subs[t]
			if set == nil {
				set = make(map[*node]struct{})
				n.c.subs[t] = set
			}
			set[n] = struct{}{}
		}
		return nil
	})
}

// Unsubscribe removes interest in ts.
func (n *node) Unsubscribe(ctx context.Context, ts ...transport.Topic) error {
	return n.do(ctx, modeRead, func(*store, time.Time) error {
		for _, t := range ts {
			delete(n.topic, t)
			n.c.unsubscribeLocked(n, t)
		}
		return nil
	})
}

// Deregister hands off, then removes this node's contributions.
func (n *node) Deregister(ctx context.Context) error {
	c := n.c
	c.mu.Lock()
	switch {
	case n.fenced:
		c.mu.Unlock()
		return transport.ErrFenced
	case n.closed || n.leaving:
		c.mu.Unlock()
		return transport.ErrClosed
	}
	n.leaving = true
	c.mu.Unlock()

	if err := driverkit.Sleep(ctx, n.cfg.HandoffGrace); err != nil {
		_ = n.Close()
		return err
	}
	err := n.do(ctx, modeWrite, func(st *store, now time.Time) error {
		trs := st.remove(n.id, n.cfg.Hold, now, false)
		delete(st.leases, n.id)
		n.closed = true
		n.updateLocked(now)
		n.unsubscribeAllLocked()
		n.mail.Transitions(trs)
		return nil
	})
	if err != nil {
		_ = n.Close()
		return err
	}
	n.endLoop()
	n.mail.Finish()
	select {
	case <-n.mail.Done():
		return nil
	case <-ctx.Done():
		n.halt()
		return ctx.Err()
	}
}

// Close stops the node without touching the store.
func (n *node) Close() error {
	c := n.c
	c.mu.Lock()
	if !n.closed && !n.fenced {
		n.closed = true
		n.updateLocked(time.Now())
	}
	n.unsubscribeAllLocked()
	c.mu.Unlock()
	n.halt()
	return nil
}

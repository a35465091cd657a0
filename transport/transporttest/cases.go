package transporttest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockudo-go/sockudo/transport"
)

// testCounts: joins and leaves on three nodes add up exactly, and the
// first join and last leave alone see the transitions.
func testCounts(t *testing.T, cl *cluster) {
	ctx := cl.ctx(t)
	a, b, c := cl.peers[0], cl.peers[1], cl.peers[2]
	r := need(a.join(ctx, "chat", ""))(t)
	wantKinds(t, "first join", r.Transitions, transport.ChannelOccupied)
	if r.Subscribers != 1 || r.Transitions[0].Resumed {
		t.Errorf("first join: %d subscribers, resumed %v", r.Subscribers, r.Transitions[0].Resumed)
	}
	r = need(a.join(ctx, "chat", ""))(t)
	wantKinds(t, "second join on the same node", r.Transitions)
	r = need(b.join(ctx, "chat", ""))(t)
	wantKinds(t, "join on another node", r.Transitions)
	r = need(c.join(ctx, "chat", ""))(t)
	if r.Subscribers != 4 {
		t.Errorf("after 4 joins on 3 nodes: %d subscribers", r.Subscribers)
	}
	cl.check(t)
	for _, p := range []*peer{a, b, a} {
		r = need(p.leave(ctx, "chat", ""))(t)
		wantKinds(t, "a leave that leaves others", r.Transitions)
	}
	cl.check(t)
	r = need(c.leave(ctx, "chat", ""))(t)
	wantKinds(t, "last leave", r.Transitions, transport.ChannelVacated)
	if r.Subscribers != 0 {
		t.Errorf("after the last leave: %d subscribers", r.Subscribers)
	}
	need(a.connect(ctx, 1, 0))(t)
	need(a.connect(ctx, 1, 0))(t)
	res := need(b.connect(ctx, 1, 0))(t)
	if res.Total != 3 {
		t.Errorf("connections: total %d, want 3", res.Total)
	}
}

// testChannels: Channels lists occupied channels by prefix, sorted, with
// their counts.
func testChannels(t *testing.T, cl *cluster) {
	ctx := cl.ctx(t)
	a, b := cl.peers[0], cl.peers[1]
	need(a.join(ctx, "presence-room", "u1"))(t)
	need(b.join(ctx, "presence-room", "u1"))(t)
	need(b.join(ctx, "presence-room", "u2"))(t)
	need(a.join(ctx, "private-b", ""))(t)
	need(b.join(ctx, "private-a", ""))(t)
	need(a.join(ctx, "public", ""))(t)
	need(a.leave(ctx, "public", ""))(t)
	list := need(cl.peers[2].n.Channels(ctx, cl.app, "private-"))(t)
	if len(list) != 2 || list[0].Name != "private-a" || list[1].Name != "private-b" || list[0].Subscribers != 1 {
		t.Errorf("Channels(private-) = %+v, want private-a, private-b with 1 subscriber each", list)
	}
	list = need(cl.peers[2].n.Channels(ctx, cl.app, "presence-"))(t)
	if len(list) != 1 || list[0].Subscribers != 3 || list[0].Users != 2 {
		t.Errorf("Channels(presence-) = %+v, want presence-room with 3 subscribers, 2 users", list)
	}
	ci := need(cl.peers[2].n.Channel(ctx, cl.app, "unknown"))(t)
	if ci.Occupied() || ci.Users != 0 {
		t.Errorf("unknown channel: %+v", ci)
	}
	list = need(cl.peers[2].n.Channels(ctx, cl.app+"-other", ""))(t)
	if len(list) != 0 {
		t.Errorf("another app sees %+v", list)
	}
}

// testOccupiedVacatedOnce: three nodes join and leave one channel at once,
// many times; occupied and vacated alternate, each seen by one node.
func testOccupiedVacatedOnce(t *testing.T, cl *cluster) {
	ctx := cl.ctx(t)
	since := cl.mark()
	storm(t, cl, 100, func(p *peer, i int) error {
		if _, err := p.join(ctx, "storm", ""); err != nil {
			return err
		}
		_, err := p.leave(ctx, "storm", "")
		return err
	})
	cl.settle()
	adds := cl.checkPairs(t, since, transport.ChannelOccupied, transport.ChannelVacated, transport.VacateConfirmed, "storm", "")
	if adds == 0 {
		t.Error("no channel_occupied at all")
	}
}

// storm runs fn iterations times on each node at once.
func storm(t *testing.T, cl *cluster, iterations int, fn func(p *peer, i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(cl.peers))
	for _, p := range cl.peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range iterations {
				if err := fn(p, i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// testPresenceTwoNodes: a user with sockets on two nodes is added once
// and removed once, when its last socket goes.
func testPresenceTwoNodes(t *testing.T, cl *cluster) {
	ctx := cl.ctx(t)
	a, b := cl.peers[0], cl.peers[1]
	const ch = "presence-two"
	r := need(a.join(ctx, ch, "u"))(t)
	wantKinds(t, "first socket", r.Transitions, transport.ChannelOccupied, transport.MemberAdded)
	if tr := r.Transitions[1]; tr.UserID != "u" || string(tr.Info) != string(info("u")) || tr.Resumed {
		t.Errorf("member_added: %+v", tr)
	}
	if r.Members == nil || len(r.Members.Users) != 1 || r.Members.Users[0].ID != "u" || r.Members.Seq != r.Seq {
		t.Errorf("snapshot of the first join: %+v (seq %d)", r.Members, r.Seq)
	}
	r = need(b.join(ctx, ch, "u"))(t)
	wantKinds(t, "the user's socket on another node", r.Transitions)
	r = need(b.join(ctx, ch, "w"))(t)
	wantKinds(t, "another user", r.Transitions, transport.MemberAdded)
	if r.Members == nil || len(r.Members.Users) != 2 || r.Users != 2 || r.Subscribers != 3 {
		t.Errorf("after u on two nodes and w: %+v, %d users, %d subscribers", r.Members, r.Users, r.Subscribers)
	}
	cl.check(t)
	r = need(a.leave(ctx, ch, "u"))(t)
	wantKinds(t, "the user leaves one node of two", r.Transitions)
	r = need(b.leave(ctx, ch, "u"))(t)
	wantKinds(t, "the user's last socket", r.Transitions, transport.MemberRemoved)
	if r.Members != nil {
		t.Errorf("a leave returned a snapshot")
	}
	r = need(b.leave(ctx, ch, "w"))(t)
	wantKinds(t, "the last socket of the channel", r.Transitions, transport.MemberRemoved, transport.ChannelVacated)
}

// testPresenceStorm: one user joins and leaves on three nodes at once,
// many times: exactly one member_added per epoch, alternating with
// member_removed, each confirmed once unless resumed.
func testPresenceStorm(t *testing.T, cl *cluster) {
	ctx := cl.ctx(t)
	const ch = "presence-storm"
	need(cl.peers[0].join(ctx, ch, "anchor"))(t) // keeps the channel occupied
	since := cl.mark()
	storm(t, cl, 100, func(p *peer, i int) error {
		if _, err := p.join(ctx, ch, "u"); err != nil {
			return err
		}
		if i%3 == 0 {
			if _, err := p.join(ctx, ch, "u"); err != nil { // a second socket
				return err
			}
			if _, err := p.leave(ctx, ch, "u"); err != nil {
				return err
			}
		}
		_, err := p.leave(ctx, ch, "u")
		return err
	})
	cl.settle()
	if adds := cl.checkPairs(t, since, transport.MemberAdded, transport.MemberRemoved, transport.RemovalConfirmed, ch, "u"); adds == 0 {
		t.Error("no member_added at all")
	}
	if n := cl.count(since, transport.ChannelOccupied, ch, "*") + cl.count(since, transport.ChannelVacated, ch, "*"); n != 0 {
		t.Errorf("%d occupancy transitions while the anchor stayed", n)
	}
	if n := cl.count(since, transport.MemberAdded, ch, "anchor") + cl.count(since, transport.MemberRemoved, ch, "anchor"); n != 0 {
		t.Errorf("%d transitions of the anchor", n)
	}
}

// testUsersOnline: a user signed in on two nodes goes online once and
// offline once.
func testUsersOnline(t *testing.T, cl *cluster) {
	ctx := cl.ctx(t)
	a, b := cl.peers[0], cl.peers[1]
	r := need(a.sign(ctx, "u", 1))(t)
	wantKinds(t, "first sign-in", r.Transitions, transport.UserOnline)
	r = need(b.sign(ctx, "u", 1))(t)
	wantKinds(t, "sign-in on another node", r.Transitions)
	if r.Sockets != 2 {
		t.Errorf("signed-in sockets %d, want 2", r.Sockets)
	}
	on := need(cl.peers[2].n.Online(ctx, cl.app, []string{"u", "nobody"}))(t)
	if len(on) != 2 || !on[0] || on[1] {
		t.Errorf("Online(u, nobody) = %v", on)
	}
	r = need(a.sign(ctx, "u", -1))(t)
	wantKinds(t, "sign-out of one node", r.Transitions)
	r = need(b.sign(ctx, "u", -1))(t)
	wantKinds(t, "last sign-out", r.Transitions, transport.UserOffline)
	since := cl.mark()
	storm(t, cl, 50, func(p *peer, _ int) error {
		if _, err := p.sign(ctx, "s", 1); err != nil {
			return err
		}
		_, err := p.sign(ctx, "s", -1)
		return err
	})
	on1, off := cl.count(since, transport.UserOnline, "", "s"), cl.count(since, transport.UserOffline, "", "s")
	if on1 == 0 || on1 != off {
		t.Errorf("storm of sign-ins: %d online, %d offline", on1, off)
	}
}

// testMemberLimit: concurrent joins of distinct users on three nodes admit
// exactly the limit; a member's second socket is still admitted.
func testMemberLimit(t *testing.T, cl *cluster) {
	ctx := cl.ctx(t)
	const ch, limit = "presence-limited", 5
	var mu sync.Mutex
	admitted, refused := 0, 0
	storm(t, cl, 8, func(p *peer, i int) error {
		_, err := p.change(ctx, ch, fmt.Sprintf("u%d-%d", p.i, i), 1, limit)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			admitted++
		case errors.Is(err, transport.ErrLimit):
			refused++
		default:
			return err
		}
		return nil
	})
	if admitted != limit || refused != 3*8-limit {
		t.Errorf("%d admitted, %d refused; want %d, %d", admitted, refused, limit, 3*8-limit)
	}
	ms := need(cl.peers[0].n.Members(ctx, cl.app, ch))(t)
	if len(ms.Users) != limit {
		t.Errorf("%d members, want %d", len(ms.Users), limit)
	}
	// A member already in may open another socket on any node.
	user := ms.Users[0].ID
	for _, p := range cl.peers {
		if _, err := p.change(ctx, ch, user, 1, limit); err != nil {
			t.Errorf("node %d: a member's extra socket: %v", p.i, err)
		}
	}
	if n := cl.count(0, transport.MemberAdded, ch, "*"); n != limit {
		t.Errorf("%d member_added, want %d", n, limit)
	}
}

// testMaxConnections: concurrent connects on three nodes admit exactly the
// limit; a disconnect makes room for one more.
func testMaxConnections(t *testing.T, cl *cluster) {
	ctx := cl.ctx(t)
	const limit = 10
	var mu sync.Mutex
	admitted := map[int]int{}
	refused := 0
	storm(t, cl, 8, func(p *peer, _ int) error {
		_, err := p.connect(ctx, 1, limit)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			admitted[p.i]++
		case errors.Is(err, transport.ErrLimit):
			refused++
		default:
			return err
		}
		return nil
	})
	total := admitted[0] + admitted[1] + admitted[2]
	if total != limit || refused != 3*8-limit {
		t.Fatalf("%d admitted, %d refused; want %d, %d", total, refused, limit, 3*8-limit)
	}
	if n := need(cl.peers[2].n.Connections(ctx, cl.app))(t); n != limit {
		t.Errorf("Connections = %d, want %d", n, limit)
	}
	var from, to *peer
	for _, p := range cl.peers {
		if admitted[p.i] > 0 && from == nil {
			from = p
		} else if to == nil {
			to = p
		}
	}
	if _, err := to.connect(ctx, 1, limit); !errors.Is(err, transport.ErrLimit) {
		t.Errorf("connect at the limit: %v, want ErrLimit", err)
	}
	need(from.connect(ctx, -1, limit))(t)
	if _, err := to.connect(ctx, 1, limit); err != nil {
		t.Errorf("connect after a disconnect on another node: %v", err)
	}
	if _, err := to.connect(ctx, 1, limit); !errors.Is(err, transport.ErrLimit) {
		t.Errorf("connect at the limit again: %v, want ErrLimit", err)
	}
}

// testHoldCancelled: a channel vacated on one node and re-occupied on
// another within the hold is resumed, and the vacate is never confirmed;
// likewise a member.
func testHoldCancelled(t *testing.T, cl *cluster) {
	ctx := cl.ctx(t)
	a, b := cl.peers[0], cl.peers[1]
	const ch = "presence-hold"
	need(a.join(ctx, ch, "u"))(t)
	since := cl.mark()
	start := time.Now()
	r := need(a.leave(ctx, ch, "u"))(t)
	wantKinds(t, "leave", r.Transitions, transport.MemberRemoved, transport.ChannelVacated)
	r = need(b.join(ctx, ch, "u"))(t)
	if took := time.Since(start); took >= cl.h.Hold {
		t.Fatalf("the re-join took %v, longer than the hold %v: raise Harness.Hold", took, cl.h.Hold)
	}
	wantKinds(t, "re-join on another node within the hold", r.Transitions, transport.ChannelOccupied, transport.MemberAdded)
	for _, tr := range r.Transitions {
		if !tr.Resumed {
			t.Errorf("%v not resumed", tr.Kind)
		}
		if _, ok := tr.Webhook(); ok {
			t.Errorf("%v resumed still names a webhook", tr.Kind)
		}
	}
	cl.settle()
	if n := cl.count(since, transport.VacateConfirmed, ch, "*") + cl.count(since, transport.RemovalConfirmed, ch, "*"); n != 0 {
		t.Errorf("%d confirmations of cancelled holds", n)
	}
}

// testHoldConfirmedOnce: holds that run out are confirmed exactly once
// with three nodes running timers, after the hold and not before.
func testHoldConfirmedOnce(t *testing.T, cl *cluster) {
	ctx := cl.ctx(t)
	a := cl.peers[0]
	const ch = "presence-confirm"
	need(a.join(ctx, ch, "u"))(t)
	since := cl.mark()
	start := time.Now()
	r := need(a.leave(ctx, ch, "u"))(t)
	cl.eventually(t, "confirmed", func() bool {
		return cl.count(since, transport.VacateConfirmed, ch, "*") > 0 && cl.count(since, transport.RemovalConfirmed, ch, "u") > 0
	})
	if took := time.Since(start); took < cl.h.Hold {
		t.Errorf("confirmed after %v, before the hold of %v ran out", took, cl.h.Hold)
	}
	cl.settle()
	vac := cl.find(since, transport.VacateConfirmed, ch, "*")
	rem := cl.find(since, transport.RemovalConfirmed, ch, "u")
	if len(vac) != 1 || len(rem) != 1 {
		t.Fatalf("%d vacate and %d removal confirmations, want 1 each", len(vac), len(rem))
	}
	if !vac[0].handler || !rem[0].handler {
		t.Errorf("confirmations not reported to a Handler")
	}
	if vac[0].tr.Seq != r.Transitions[1].Seq || rem[0].tr.Seq != r.Transitions[0].Seq {
		t.Errorf("confirmation seqs %d, %d; the removals had %d, %d", vac[0].tr.Seq, rem[0].tr.Seq, r.Transitions[1].Seq, r.Transitions[0].Seq)
	}
	if name, _ := vac[0].tr.Webhook(); name != "channel_vacated" {
		t.Errorf("VacateConfirmed.Webhook() = %q", name)
	}
	if name, _ := rem[0].tr.Webhook(); name != "member_removed" {
		t.Errorf("RemovalConfirmed.Webhook() = %q", name)
	}
	// Many holds at once, three nodes scanning: each confirmed once.
	since = cl.mark()
	for i := range 20 {
		p := cl.peers[i%3]
		c := "hold-" + strconv.Itoa(i)
		need(p.join(ctx, c, ""))(t)
		need(p.leave(ctx, c, ""))(t)
	}
	cl.eventually(t, "20 confirmations", func() bool { return cl.count(since, transport.VacateConfirmed, "", "*") >= 20 })
	cl.settle()
	seen := map[string]int{}
	for _, e := range cl.find(since, transport.VacateConfirmed, "", "*") {
		seen[e.tr.Channel]++
	}
	for i := range 20 {
		if c := "hold-" + strconv.Itoa(i); seen[c] != 1 {
			t.Errorf("%s confirmed %d times", c, seen[c])
		}
	}
}

// testStaleWrites: a write whose version is not above the last applied
// changes nothing and reports Stale; a retry is harmless.
func testStaleWrites(t *testing.T, cl *cluster) {
	ctx := cl.ctx(t)
	n := cl.peers[0].n
	op := transport.ChannelOp{App: cl.app, Channel: "stale", Subscribers: 2, Version: 10}
	r := need(n.SetChannel(ctx, op))(t)
	if r.Stale || r.Subscribers != 2 || len(r.Transitions) != 1 {
		t.Fatalf("first write: %+v", r)
	}
	for _, old := range []transport.ChannelOp{
		{App: cl.app, Channel: "stale", Subscribers: 0, Version: 9},
		{App: cl.app, Channel: "stale", Subscribers: 7, Version: 10},
	} {
		r = need(n.SetChannel(ctx, old))(t)
		if !r.Stale || r.Subscribers != 2 || len(r.Transitions) != 0 {
			t.Errorf("version %d after 10: %+v, want stale with 2 subscribers", old.Version, r)
		}
	}
	r = need(n.SetChannel(ctx, transport.ChannelOp{App: cl.app, Channel: "stale", Subscribers: 0, Version: 11}))(t)
	wantKinds(t, "a newer write", r.Transitions, transport.ChannelVacated)
	u := need(n.SetUser(ctx, transport.UserOp{App: cl.app, UserID: "su", Sockets: 1, Version: 5}))(t)
	if u.Stale || len(u.Transitions) != 1 {
		t.Errorf("user write: %+v", u)
	}
	u = need(n.SetUser(ctx, transport.UserOp{App: cl.app, UserID: "su", Sockets: 0, Version: 4}))(t)
	if !u.Stale || u.Sockets != 1 || len(u.Transitions) != 0 {
		t.Errorf("stale user write: %+v", u)
	}
	need(n.SetUser(ctx, transport.UserOp{App: cl.app, UserID: "su", Sockets: 0, Version: 6}))(t)
	c := need(n.SetConnections(ctx, transport.ConnOp{App: cl.app, Connections: 3, Version: 5}))(t)
	if c.Stale || c.Total != 3 {
		t.Errorf("connections write: %+v", c)
	}
	c = need(n.SetConnections(ctx, transport.ConnOp{App: cl.app, Connections: 1, Version: 5}))(t)
	if !c.Stale || c.Total != 3 {
		t.Errorf("stale connections write: %+v", c)
	}
	need(n.SetConnections(ctx, transport.ConnOp{App: cl.app, Connections: 0, Version: 6}))(t)
	// Versions are per node: another node's low version is its own.
	r = need(cl.peers[1].n.SetChannel(ctx, transport.ChannelOp{App: cl.app, Channel: "stale", Subscribers: 1, Version: 1}))(t)
	if r.Stale || r.Subscribers != 1 {
		t.Errorf("another node's version 1: %+v", r)
	}
	need(cl.peers[1].n.SetChannel(ctx, transport.ChannelOp{App: cl.app, Channel: "stale", Subscribers: 0, Version: 2}))(t)
}

// testInvalid: malformed operations fail with ErrInvalid and change
// nothing.
func testInvalid(t *testing.T, cl *cluster) {
	ctx := cl.ctx(t)
	n := cl.peers[0].n
	for _, op := range []transport.ChannelOp{
		{App: cl.app, Channel: "x", Subscribers: 1},
		{App: cl.app, Channel: "", Subscribers: 1, Version: 1},
		{App: "", Channel: "x", Subscribers: 1, Version: 1},
		{App: cl.app, Channel: "x", Subscribers: -1, Version: 1},
		{App: cl.app, Channel: "x", Subscribers: 1, Version: 1, Member: &transport.MemberOp{UserID: "", Sockets: 1}},
		{App: cl.app, Channel: "x", Subscribers: 1, Version: 1, Member: &transport.MemberOp{UserID: "u", Sockets: -1}},
	} {
		if _, err := n.SetChannel(ctx, op); !errors.Is(err, transport.ErrInvalid) {
			t.Errorf("SetChannel(%+v): %v, want ErrInvalid", op, err)
		}
	}
	if _, err := n.SetUser(ctx, transport.UserOp{App: cl.app, UserID: "u", Sockets: 1}); !errors.Is(err, transport.ErrInvalid) {
		t.Errorf("SetUser with version 0: %v", err)
	}
	if _, err := n.SetConnections(ctx, transport.ConnOp{App: cl.app, Connections: -1, Version: 1}); !errors.Is(err, transport.ErrInvalid) {
		t.Errorf("SetConnections(-1): %v", err)
	}
	if err := n.Publish(ctx, transport.Topic{}, []byte("x")); !errors.Is(err, transport.ErrInvalid) {
		t.Errorf("Publish to the zero topic: %v", err)
	}
	if ci := need(n.Channel(ctx, cl.app, "x"))(t); ci.Occupied() {
		t.Errorf("an invalid write changed the store: %+v", ci)
	}
}

// testDeregister: a graceful Deregister keeps the node's contributions
// for the grace, so a user who rejoins elsewhere meanwhile sees no flap;
// then it removes the rest through transitions to its own Handler.
func testDeregister(t *testing.T, cl *cluster) {
	ctx := cl.ctx(t)
	a, b := cl.peers[0], cl.peers[1]
	const ch = "presence-handoff"
	need(a.join(ctx, ch, "back"))(t)
	need(a.join(ctx, ch, "gone"))(t)
	need(a.join(ctx, "only-a", ""))(t)
	need(a.sign(ctx, "back", 1))(t)
	need(a.connect(ctx, 1, 0))(t)
	since := cl.mark()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- a.n.Deregister(ctx) }()
	need(b.join(ctx, ch, "back"))(t)
	need(b.sign(ctx, "back", 1))(t)
	if took := time.Since(start); took >= cl.h.HandoffGrace {
		t.Fatalf("the re-join took %v, longer than the grace %v: raise Harness.HandoffGrace", took, cl.h.HandoffGrace)
	}
	if err := <-done; err != nil {
		t.Fatalf("Deregister: %v", err)
	}
	if took := time.Since(start); took < cl.h.HandoffGrace {
		t.Errorf("Deregister returned after %v, before the grace of %v", took, cl.h.HandoffGrace)
	}
	cl.setDead(a)
	// Transitions of the removal reach a's Handler before Deregister
	// returns.
	gone := cl.find(since, transport.MemberRemoved, ch, "gone")
	if len(gone) != 1 || gone[0].node != 0 || !gone[0].handler {
		t.Errorf("member_removed of the user who did not come back: %+v, want one to node 0's Handler", gone)
	}
	if n := cl.count(since, transport.ChannelVacated, "only-a", "*"); n != 1 {
		t.Errorf("%d channel_vacated of a channel only on the leaving node", n)
	}
	for _, k := range []transport.TransitionKind{transport.MemberAdded, transport.MemberRemoved} {
		if n := cl.count(since, k, ch, "back"); n != 0 {
			t.Errorf("%d %v of the user who came back within the grace", n, k)
		}
	}
	if n := cl.count(since, transport.UserOnline, "", "back") + cl.count(since, transport.UserOffline, "", "back"); n != 0 {
		t.Errorf("%d online/offline of the user who came back", n)
	}
	if _, err := a.join(ctx, ch, "late"); !errors.Is(err, transport.ErrClosed) && !errors.Is(err, transport.ErrFenced) {
		t.Errorf("a write after Deregister: %v, want ErrClosed", err)
	}
	if h := a.n.Health(); h.Status != transport.Fenced {
		t.Errorf("health after Deregister: %v", h.Status)
	}
}

// testBrokerDelivery: a publish reaches every subscribed node once, not
// the publisher, not unsubscribed nodes, not other topics.
func testBrokerDelivery(t *testing.T, cl *cluster) {
	ctx := cl.ctx(t)
	a, b, c := cl.peers[0], cl.peers[1], cl.peers[2]
	tp := transport.Channel(cl.app, "news")
	other := transport.User(cl.app, "news")
	if err := a.n.Subscribe(ctx, tp, other); err != nil {
		t.Fatal(err)
	}
	if err := b.n.Subscribe(ctx, tp, tp); err != nil {
		t.Fatal(err)
	}
	if err := c.n.Subscribe(ctx, tp); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if err := a.n.Publish(ctx, tp, []byte("m"+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	got := func(p *peer, tp transport.Topic) []string {
		cl.mu.Lock()
		defer cl.mu.Unlock()
		var out []string
		for _, m := range p.msgs {
			if m.t == tp {
				out = append(out, m.msg)
			}
		}
		return out
	}
	cl.eventually(t, "20 messages at two nodes", func() bool { return len(got(b, tp)) >= 20 && len(got(c, tp)) >= 20 })
	if err := c.n.Unsubscribe(ctx, tp); err != nil {
		t.Fatal(err)
	}
	for i := 20; i < 30; i++ {
		if err := a.n.Publish(ctx, tp, []byte("m"+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	cl.eventually(t, "30 messages at the node still subscribed", func() bool { return len(got(b, tp)) >= 30 })
	time.Sleep(100 * time.Millisecond)
	want := func(n int) string {
		var s []string
		for i := range n {
			s = append(s, "m"+strconv.Itoa(i))
		}
		return strings.Join(s, ",")
	}
	if g := strings.Join(got(b, tp), ","); g != want(30) {
		t.Errorf("node subscribed twice got %s", g)
	}
	if g := strings.Join(got(c, tp), ","); g != want(20) {
		t.Errorf("node that unsubscribed after 20 got %s", g)
	}
	if g := got(a, tp); len(g) != 0 {
		t.Errorf("the publisher got its own %d messages", len(g))
	}
	if g := got(a, other); len(g) != 0 {
		t.Errorf("another topic got %d messages", len(g))
	}
	// Publishing to a topic nobody subscribes to is no error.
	if err := b.n.Publish(ctx, transport.Channel(cl.app, "nobody"), []byte("x")); err != nil {
		t.Errorf("publish without subscribers: %v", err)
	}
}

// testBrokerOrder: messages of one topic from each publisher arrive in
// the order published, while two publish at once.
func testBrokerOrder(t *testing.T, cl *cluster) {
	ctx := cl.ctx(t)
	tp := transport.Channel(cl.app, "ordered")
	c := cl.peers[2]
	if err := c.n.Subscribe(ctx, tp); err != nil {
		t.Fatal(err)
	}
	const n = 200
	var wg sync.WaitGroup
	for _, p := range cl.peers[:2] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				if err := p.n.Publish(ctx, tp, []byte(fmt.Sprintf("%d:%d", p.i, i))); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	cl.eventually(t, "all messages", func() bool {
		cl.mu.Lock()
		defer cl.mu.Unlock()
		return len(c.msgs) >= 2*n
	})
	cl.mu.Lock()
	msgs := append([]message(nil), c.msgs...)
	gaps := len(c.gaps)
	cl.mu.Unlock()
	if gaps > 0 {
		// 400 messages fit any sane handler queue: a gap here is a
		// driver that drops under an ordinary burst.
		t.Fatalf("the subscriber reported %d gaps for a burst of %d messages", gaps, 2*n)
	}
	next := map[string]int{}
	for _, m := range msgs {
		from, i, _ := strings.Cut(m.msg, ":")
		k, _ := strconv.Atoi(i)
		if k != next[from] {
			t.Fatalf("from node %s: got message %d, want %d", from, k, next[from])
		}
		next[from]++
	}
	if len(msgs) != 2*n {
		t.Errorf("%d messages, want %d", len(msgs), 2*n)
	}
}

// testDoneContext: every call with a done context fails with its error
// and changes nothing.
func testDoneContext(t *testing.T, cl *cluster) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n := cl.peers[0].n
	app := cl.app
	calls := map[string]func() error{
		"SetChannel": func() error {
			_, err := n.SetChannel(ctx, transport.ChannelOp{App: app, Channel: "c", Subscribers: 1, Version: 1})
			return err
		},
		"SetUser": func() error {
			_, err := n.SetUser(ctx, transport.UserOp{App: app, UserID: "u", Sockets: 1, Version: 1})
			return err
		},
		"SetConnections": func() error {
			_, err := n.SetConnections(ctx, transport.ConnOp{App: app, Connections: 1, Version: 1})
			return err
		},
		"Channel":     func() error { _, err := n.Channel(ctx, app, "c"); return err },
		"Channels":    func() error { _, err := n.Channels(ctx, app, ""); return err },
		"Members":     func() error { _, err := n.Members(ctx, app, "c"); return err },
		"Online":      func() error { _, err := n.Online(ctx, app, []string{"u"}); return err },
		"Connections": func() error { _, err := n.Connections(ctx, app); return err },
		"Restore":     func() error { return n.Restore(ctx, transport.Snapshot{}) },
		"Publish":     func() error { return n.Publish(ctx, transport.Channel(app, "c"), []byte("x")) },
		"Subscribe":   func() error { return n.Subscribe(ctx, transport.Channel(app, "c")) },
		"Unsubscribe": func() error { return n.Unsubscribe(ctx, transport.Channel(app, "c")) },
		"Start": func() error {
			_, err := cl.b.Driver.Start(ctx, transport.NodeConfig{Lease: cl.h.Lease}, transport.HandlerFuncs{})
			return err
		},
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: %v, want context.Canceled", name, err)
		}
	}
	if ci := need(n.Channel(cl.ctx(t), app, "c"))(t); ci.Occupied() {
		t.Errorf("a cancelled write changed the store: %+v", ci)
	}
}

// testLeaseExpiry: a node that stops renewing is reaped within the bound
// by one other node, which removes its contributions through exactly one
// set of transitions.
func testLeaseExpiry(t *testing.T, cl *cluster) {
	ctx := cl.ctx(t)
	a, b := cl.peers[0], cl.peers[1]
	const ch = "presence-dead"
	need(a.join(ctx, ch, "dead"))(t)
	need(a.join(ctx, ch, "both"))(t)
	need(b.join(ctx, ch, "both"))(t)
	need(a.join(ctx, "only-a", ""))(t)
	need(a.join(ctx, "shared", ""))(t)
	need(b.join(ctx, "shared", ""))(t)
	need(a.sign(ctx, "dead", 1))(t)
	need(a.connect(ctx, 1, 0))(t)
	since := cl.mark()
	start := time.Now()
	cl.b.Kill(a.n)
	cl.eventually(t, "reaped", func() bool {
		ci, err := b.n.Channel(ctx, cl.app, ch)
		return err == nil && ci.Users == 1
	})
	took := time.Since(start)
	cl.setDead(a)
	if took < cl.h.Lease/2 {
		t.Errorf("reaped %v after the kill, well before the lease of %v", took, cl.h.Lease)
	}
	cl.eventually(t, "all removals reported", func() bool {
		return cl.count(since, transport.ChannelVacated, "only-a", "*") > 0 && cl.count(since, transport.UserOffline, "", "dead") > 0
	})
	cl.settle()
	checkOnce := func(kind transport.TransitionKind, ch, user string) {
		t.Helper()
		evs := cl.find(since, kind, ch, user)
		if len(evs) != 1 {
			t.Errorf("%d %v (%s %s), want 1", len(evs), kind, ch, user)
			return
		}
		if e := evs[0]; !e.handler || e.node == 0 {
			t.Errorf("%v reported to node %d (handler %v), want another node's Handler", kind, e.node, e.handler)
		}
	}
	checkOnce(transport.MemberRemoved, ch, "dead")
	checkOnce(transport.RemovalConfirmed, ch, "dead")
	checkOnce(transport.ChannelVacated, "only-a", "*")
	checkOnce(transport.VacateConfirmed, "only-a", "*")
	checkOnce(transport.UserOffline, "", "dead")
	if n := cl.count(since, transport.MemberRemoved, ch, "both"); n != 0 {
		t.Errorf("member_removed of a user still on another node")
	}
	if n := cl.count(since, transport.ChannelVacated, "shared", "*"); n != 0 {
		t.Errorf("channel_vacated of a channel still on another node")
	}
}

// testLateWriteFenced: once a node has been reaped, its late writes (a
// zombie's, after a pause) are refused and change nothing.
func testLateWriteFenced(t *testing.T, cl *cluster) {
	ctx := cl.ctx(t)
	a, b := cl.peers[0], cl.peers[1]
	need(a.join(ctx, "zombie", ""))(t)
	since := cl.mark()
	cl.b.Kill(a.n)
	cl.eventually(t, "reaped", func() bool { return cl.count(since, transport.ChannelVacated, "zombie", "*") > 0 })
	cl.setDead(a)
	_, err := a.n.SetChannel(ctx, transport.ChannelOp{App: cl.app, Channel: "zombie", Subscribers: 5, Version: 1 << 40})
	if !errors.Is(err, transport.ErrFenced) {
		t.Errorf("a reaped node's write: %v, want ErrFenced", err)
	}
	if _, err := a.n.SetUser(ctx, transport.UserOp{App: cl.app, UserID: "z", Sockets: 1, Version: 1 << 40}); !errors.Is(err, transport.ErrFenced) {
		t.Errorf("a reaped node's SetUser: %v, want ErrFenced", err)
	}
	if err := a.n.Restore(ctx, transport.Snapshot{Channels: []transport.ChannelOp{{App: cl.app, Channel: "zombie", Subscribers: 1}}}); !errors.Is(err, transport.ErrFenced) {
		t.Errorf("a reaped node's Restore: %v, want ErrFenced", err)
	}
	if ci := need(b.n.Channel(ctx, cl.app, "zombie"))(t); ci.Occupied() {
		t.Errorf("a reaped node's write changed the store: %+v", ci)
	}
	if n := cl.count(since, transport.ChannelOccupied, "zombie", "*"); n != 0 {
		t.Errorf("a reaped node's write caused %d channel_occupied", n)
	}
}

// testPartitionRecovers: a node cut off briefly turns Degraded, fails its
// calls, and recovers with its contributions intact and a Gap reported.
func testPartitionRecovers(t *testing.T, cl *cluster) {
	ctx := cl.ctx(t)
	a, b := cl.peers[0], cl.peers[1]
	tp := transport.Channel(cl.app, "cut")
	if err := a.n.Subscribe(ctx, tp); err != nil {
		t.Fatal(err)
	}
	need(a.join(ctx, "presence-cut", "u"))(t)
	since := cl.mark()
	cl.b.Partition(a.n)
	short, cancel := context.WithTimeout(ctx, cl.h.Lease/10)
	_, err := a.n.SetChannel(short, transport.ChannelOp{App: cl.app, Channel: "other", Subscribers: 1, Version: 1 << 40})
	cancel()
	if !errors.Is(err, transport.ErrUnavailable) && !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a write while cut off: %v, want ErrUnavailable or the deadline", err)
	}
	cl.eventually(t, "Degraded", func() bool { return a.n.Health().Status == transport.Degraded })
	if h := a.n.Health(); h.Err == nil {
		t.Errorf("Degraded without a cause")
	}
	cl.b.Heal(a.n)
	cl.eventually(t, "Up again", func() bool { return a.n.Health().Status == transport.Up })
	cl.eventually(t, "a Gap reported", func() bool {
		cl.mu.Lock()
		defer cl.mu.Unlock()
		for _, g := range a.gaps {
			if g == tp {
				return true
			}
		}
		return false
	})
	need(a.join(ctx, "after-cut", ""))(t)
	if n := len(cl.find(since, transport.MemberRemoved, "", "*")); n != 0 {
		t.Errorf("%d member_removed during a short partition", n)
	}
	if lost := a.lostReasons(); len(lost) != 0 {
		t.Errorf("lost %v during a short partition", lost)
	}
	if ci := need(b.n.Channel(ctx, cl.app, "presence-cut"))(t); ci.Users != 1 {
		t.Errorf("contribution gone after a short partition: %+v", ci)
	}
}

// testPartitionFences: a node cut off for longer than its lease fences
// itself and is reaped by the others; when it comes back its writes are
// refused.
func testPartitionFences(t *testing.T, cl *cluster) {
	ctx := cl.ctx(t)
	a, b := cl.peers[0], cl.peers[1]
	need(a.join(ctx, "presence-long", "u"))(t)
	need(b.join(ctx, "presence-long", "w"))(t)
	since := cl.mark()
	cl.b.Partition(a.n)
	cl.eventually(t, "reaped", func() bool { return cl.count(since, transport.MemberRemoved, "presence-long", "u") > 0 })
	cl.eventually(t, "Fenced", func() bool { return a.n.Health().Status == transport.Fenced })
	cl.setDead(a)
	lost := a.lostReasons()
	if len(lost) != 1 || !lost[0].Terminal() {
		t.Errorf("lost %v, want one terminal reason", lost)
	}
	cl.b.Heal(a.n)
	if _, err := a.n.SetChannel(ctx, transport.ChannelOp{App: cl.app, Channel: "presence-long", Subscribers: 1, Version: 1 << 40,
		Member: &transport.MemberOp{UserID: "u", Sockets: 1}}); !errors.Is(err, transport.ErrFenced) {
		t.Errorf("a write after coming back: %v, want ErrFenced", err)
	}
	cl.settle()
	if lost := a.lostReasons(); len(lost) != 1 {
		t.Errorf("lost reported %d times: %v", len(lost), lost)
	}
	if n := cl.count(since, transport.MemberRemoved, "presence-long", "u"); n != 1 {
		t.Errorf("%d member_removed, want 1", n)
	}
	if n := cl.count(since, transport.MemberRemoved, "presence-long", "w"); n != 0 {
		t.Errorf("member_removed of a user on a live node")
	}
}

// testDeadline: a call to a backend that does not answer returns by its
// context's deadline.
func testDeadline(t *testing.T, cl *cluster) {
	ctx := cl.ctx(t)
	a := cl.peers[0]
	cl.b.Partition(a.n)
	defer cl.b.Heal(a.n)
	const d = 200 * time.Millisecond
	calls := map[string]func(ctx context.Context) error{
		"SetChannel": func(ctx context.Context) error {
			_, err := a.n.SetChannel(ctx, transport.ChannelOp{App: cl.app, Channel: "c", Subscribers: 1, Version: 1 << 40})
			return err
		},
		"Channel": func(ctx context.Context) error { _, err := a.n.Channel(ctx, cl.app, "c"); return err },
		"Publish": func(ctx context.Context) error { return a.n.Publish(ctx, transport.Channel(cl.app, "c"), []byte("x")) },
	}
	for name, call := range calls {
		dctx, cancel := context.WithTimeout(ctx, d)
		start := time.Now()
		err := call(dctx)
		took := time.Since(start)
		cancel()
		if err == nil {
			t.Errorf("%s while cut off: no error", name)
		}
		// Generous: the point is that it returns, not how fast.
		if took > d+cl.h.Wait/2 {
			t.Errorf("%s with a %v deadline returned after %v", name, d, took)
		}
	}
}

// testWipe: a wiped store is reported to every node as StoreWiped;
// Restore brings back every count with no transition reported.
func testWipe(t *testing.T, cl *cluster) {
	ctx := cl.ctx(t)
	a, b, c := cl.peers[0], cl.peers[1], cl.peers[2]
	need(a.join(ctx, "presence-w", "u"))(t)
	need(b.join(ctx, "presence-w", "u"))(t)
	need(c.join(ctx, "presence-w", "v"))(t)
	need(a.join(ctx, "plain", ""))(t)
	need(b.sign(ctx, "u", 1))(t)
	need(c.connect(ctx, 1, 0))(t)
	// A hold pending at the wipe is lost with it.
	need(c.join(ctx, "held", ""))(t)
	need(c.leave(ctx, "held", ""))(t)
	since := cl.mark()
	cl.b.Wipe()
	for _, p := range cl.peers {
		cl.eventually(t, fmt.Sprintf("node %d reports StoreWiped", p.i), func() bool {
			lost := p.lostReasons()
			return len(lost) > 0 && lost[0] == transport.StoreWiped
		})
		if h := p.n.Health(); h.Status != transport.Degraded {
			t.Errorf("node %d after the wipe: %v, want degraded", p.i, h.Status)
		}
	}
	if _, err := a.n.SetChannel(ctx, transport.ChannelOp{App: cl.app, Channel: "x", Subscribers: 1, Version: 1 << 40}); !errors.Is(err, transport.ErrStoreWiped) {
		t.Errorf("a write before Restore: %v, want ErrStoreWiped", err)
	}
	for _, p := range cl.peers {
		if err := p.n.Restore(ctx, p.snapshot()); err != nil {
			t.Fatalf("node %d: Restore: %v", p.i, err)
		}
		if h := p.n.Health(); h.Status != transport.Up {
			t.Errorf("node %d after Restore: %v", p.i, h.Status)
		}
	}
	cl.check(t)
	cl.settle()
	cl.mu.Lock()
	after := append([]event(nil), cl.events[since:]...)
	cl.mu.Unlock()
	for _, e := range after {
		t.Errorf("transition reported across the wipe: node %d %+v", e.node, e.tr)
	}
	for _, p := range cl.peers {
		if lost := p.lostReasons(); len(lost) != 1 {
			t.Errorf("node %d lost %v, want one StoreWiped", p.i, lost)
		}
	}
	// The nodes work as before: the last leave is seen.
	need(c.leave(ctx, "presence-w", "v"))(t)
	need(a.leave(ctx, "presence-w", "u"))(t)
	r := need(b.leave(ctx, "presence-w", "u"))(t)
	wantKinds(t, "the last leave after a restore", r.Transitions, transport.MemberRemoved, transport.ChannelVacated)
}

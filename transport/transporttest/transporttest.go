package transporttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sockudo-go/sockudo/transport"
)

// Harness describes the driver under test to Run. Only New is required.
type Harness struct {
	// New returns a backend for one subtest: a Driver whose nodes share
	// one store and broker, plus the fault hooks the driver supports.
	// Release its resources with t.Cleanup; the suite closes the nodes it
	// started. Backends may share one server: the suite uses app ids
	// unique to the run.
	New func(t *testing.T) Backend

	// Lease, Hold and HandoffGrace configure every node the suite starts.
	// Zero means 2 s, 500 ms and 1 s: short enough for a quick run, long
	// enough that a busy machine does not miss renewals.
	Lease, Hold, HandoffGrace time.Duration

	// Wait bounds every wait for something to happen (a reaping, a
	// confirmation, a delivery). Zero means 4 leases plus 10 s.
	Wait time.Duration

	// Synctest runs every subtest inside a testing/synctest bubble, New
	// included, so a driver that runs on the runtime's clock sees fake
	// time and leases and holds pass instantly. Only for drivers that do
	// no real I/O; their goroutines must end when their nodes are closed.
	Synctest bool
}

// Backend is one shared store and broker, and its fault hooks. A nil hook
// skips the cases that need it.
type Backend struct {
	// Driver starts the nodes.
	Driver transport.Driver

	// Kill stops a node silently, as SIGKILL or a long pause would: no
	// more renewals, reaping, timers or deliveries, and nothing removed.
	// Calls made on the node afterwards must still reach the store, as a
	// zombie's would (the suite checks they are refused once it has been
	// reaped).
	Kill func(n transport.Node)

	// Partition cuts a node off from the backend (its calls fail or time
	// out) until Heal. Both or neither must be set.
	Partition, Heal func(n transport.Node)

	// Wipe empties the store, as a restart without persistence would.
	Wipe func()
}

// Run runs the conformance suite against the driver that h describes, one
// subtest per behaviour.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("transporttest: Harness.New is nil")
	}
	if h.Lease <= 0 {
		h.Lease = 2 * time.Second
	}
	if h.Hold <= 0 {
		h.Hold = 500 * time.Millisecond
	}
	if h.HandoffGrace <= 0 {
		h.HandoffGrace = time.Second
	}
	if h.Wait <= 0 {
		h.Wait = 4*h.Lease + 10*time.Second
	}
	run := randomHex(4)
	for _, tc := range []struct {
		name  string
		needs hooks
		fn    func(*testing.T, *cluster)
	}{
		{"Counts", 0, testCounts},
		{"Channels", 0, testChannels},
		{"OccupiedVacatedOnce", 0, testOccupiedVacatedOnce},
		{"PresenceTwoNodes", 0, testPresenceTwoNodes},
		{"PresenceStorm", 0, testPresenceStorm},
		{"UsersOnline", 0, testUsersOnline},
		{"RandomSchedule", 0, testRandomSchedule},
		{"MemberLimit", 0, testMemberLimit},
		{"MaxConnections", 0, testMaxConnections},
		{"HoldCancelledOnOtherNode", 0, testHoldCancelled},
		{"HoldConfirmedOnce", 0, testHoldConfirmedOnce},
		{"StaleWrites", 0, testStaleWrites},
		{"Invalid", 0, testInvalid},
		{"Deregister", 0, testDeregister},
		{"BrokerDelivery", 0, testBrokerDelivery},
		{"BrokerOrder", 0, testBrokerOrder},
		{"DoneContext", 0, testDoneContext},
		{"LeaseExpiry", needKill, testLeaseExpiry},
		{"LateWriteFenced", needKill, testLateWriteFenced},
		{"PartitionRecovers", needPartition, testPartitionRecovers},
		{"PartitionFences", needPartition, testPartitionFences},
		{"Deadline", needPartition, testDeadline},
		{"Wipe", needWipe, testWipe},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := func(t *testing.T) {
				b := h.New(t)
				if b.Driver == nil {
					t.Fatal("transporttest: Backend.Driver is nil")
				}
				switch {
				case tc.needs&needKill != 0 && b.Kill == nil:
					t.Skip("Backend.Kill is nil")
				case tc.needs&needPartition != 0 && (b.Partition == nil || b.Heal == nil):
					t.Skip("Backend.Partition or Backend.Heal is nil")
				case tc.needs&needWipe != 0 && b.Wipe == nil:
					t.Skip("Backend.Wipe is nil")
				}
				cl := newCluster(t, h, b, "tt-"+run+"-"+tc.name)
				tc.fn(t, cl)
				if !t.Failed() {
					cl.check(t)
				}
			}
			if h.Synctest {
				synctest.Test(t, body)
				return
			}
			body(t)
		})
	}
}

type hooks uint8

const (
	needKill hooks = 1 << iota
	needPartition
	needWipe
)

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// cluster is three nodes of one backend and the model of their local
// registries.
type cluster struct {
	h     Harness
	b     Backend
	app   string
	peers []*peer

	mu     sync.Mutex
	events []event
}

// event is a transition as one node observed it.
type event struct {
	node    int
	tr      transport.Transition
	handler bool // reported to the Handler, not in a write's result
}

// peer is one node and the local registry a hub would keep for it. Its
// writes are serialised by mu, as a hub serialises writes of a key.
type peer struct {
	i  int
	cl *cluster
	n  transport.Node

	mu    sync.Mutex
	ver   uint64
	subs  map[string]int
	mem   map[string]map[string]int // channel -> user -> sockets
	users map[string]int
	conns int

	// Guarded by cl.mu.
	dead bool // its contributions must be gone (reaped, deregistered)
	lost []transport.LossReason
	gaps []transport.Topic
	msgs []message
}

type message struct {
	t   transport.Topic
	msg string
}

func newCluster(t *testing.T, h Harness, b Backend, app string) *cluster {
	cl := &cluster{h: h, b: b, app: app}
	for i := range 3 {
		cl.peers = append(cl.peers, cl.start(t, i))
	}
	return cl
}

func (cl *cluster) start(t *testing.T, i int) *peer {
	t.Helper()
	p := &peer{i: i, cl: cl, subs: map[string]int{}, mem: map[string]map[string]int{}, users: map[string]int{}}
	hd := transport.HandlerFuncs{
		OnMessage: func(tp transport.Topic, msg []byte) {
			cl.mu.Lock()
			p.msgs = append(p.msgs, message{tp, string(msg)})
			cl.mu.Unlock()
		},
		OnGap: func(ts []transport.Topic) {
			cl.mu.Lock()
			p.gaps = append(p.gaps, ts...)
			cl.mu.Unlock()
		},
		OnTransition: func(tr transport.Transition) {
			cl.mu.Lock()
			cl.events = append(cl.events, event{node: i, tr: tr, handler: true})
			cl.mu.Unlock()
		},
		OnLost: func(r transport.LossReason) {
			cl.mu.Lock()
			p.lost = append(p.lost, r)
			cl.mu.Unlock()
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), cl.h.Wait)
	defer cancel()
	n, err := cl.b.Driver.Start(ctx, transport.NodeConfig{
		Lease: cl.h.Lease, Hold: cl.h.Hold, HandoffGrace: cl.h.HandoffGrace, Name: fmt.Sprintf("node%d", i),
	}, hd)
	if err != nil {
		t.Fatalf("Start node %d: %v", i, err)
	}
	t.Cleanup(func() { _ = n.Close() })
	p.n = n
	return p
}

func (cl *cluster) ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), cl.h.Wait)
	t.Cleanup(cancel)
	return ctx
}

// record adds the transitions of node i's write.
func (cl *cluster) record(i int, trs []transport.Transition) {
	cl.mu.Lock()
	for _, tr := range trs {
		cl.events = append(cl.events, event{node: i, tr: tr})
	}
	cl.mu.Unlock()
}

// mark returns the number of events so far, to look at later ones.
func (cl *cluster) mark() int {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return len(cl.events)
}

// find returns the events since mark of kind on channel (any if empty)
// for user (any if "*").
func (cl *cluster) find(since int, kind transport.TransitionKind, channel, user string) []event {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	var out []event
	for _, e := range cl.events[since:] {
		if e.tr.Kind == kind && (channel == "" || e.tr.Channel == channel) && (user == "*" || e.tr.UserID == user) {
			out = append(out, e)
		}
	}
	return out
}

func (cl *cluster) count(since int, kind transport.TransitionKind, channel, user string) int {
	return len(cl.find(since, kind, channel, user))
}

// eventually polls cond until it holds or Harness.Wait passes.
func (cl *cluster) eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(cl.h.Wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: still not %s", cl.h.Wait, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// settle waits long enough for every hold and timer tick to pass.
func (cl *cluster) settle() { time.Sleep(2*cl.h.Hold + cl.h.Lease/2) }

func (cl *cluster) setDead(p *peer) {
	cl.mu.Lock()
	p.dead = true
	cl.mu.Unlock()
}

func (cl *cluster) live() []*peer {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	var out []*peer
	for _, p := range cl.peers {
		if !p.dead {
			out = append(out, p)
		}
	}
	return out
}

func (p *peer) lostReasons() []transport.LossReason {
	p.cl.mu.Lock()
	defer p.cl.mu.Unlock()
	return slices.Clone(p.lost)
}

func info(user string) json.RawMessage {
	b, _ := json.Marshal(map[string]string{"name": user})
	return b
}

func (p *peer) next() uint64 { p.ver++; return p.ver }

// change adds d (±1) to the node's subscribers of ch and, if user is set,
// to the user's sockets on it, and writes the result.
func (p *peer) change(ctx context.Context, ch, user string, d, limit int) (transport.ChannelResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	subs := p.subs[ch] + d
	if subs < 0 {
		return transport.ChannelResult{}, fmt.Errorf("node %d leaves %s it is not in", p.i, ch)
	}
	op := transport.ChannelOp{App: p.cl.app, Channel: ch, Subscribers: subs, MemberLimit: limit, Version: p.next()}
	if user != "" {
		s := p.mem[ch][user] + d
		if s < 0 {
			return transport.ChannelResult{}, fmt.Errorf("node %d: user %s leaves %s it is not in", p.i, user, ch)
		}
		op.Member = &transport.MemberOp{UserID: user, Sockets: s, Info: info(user)}
	}
	res, err := p.n.SetChannel(ctx, op)
	if err != nil {
		return res, err
	}
	if res.Stale {
		return res, fmt.Errorf("node %d: write of %s version %d reported stale", p.i, ch, op.Version)
	}
	p.subs[ch] = subs
	if user != "" {
		if p.mem[ch] == nil {
			p.mem[ch] = map[string]int{}
		}
		p.mem[ch][user] = op.Member.Sockets
	}
	p.cl.record(p.i, res.Transitions)
	return res, nil
}

func (p *peer) join(ctx context.Context, ch, user string) (transport.ChannelResult, error) {
	return p.change(ctx, ch, user, 1, 0)
}

func (p *peer) leave(ctx context.Context, ch, user string) (transport.ChannelResult, error) {
	return p.change(ctx, ch, user, -1, 0)
}

// sign adds d (±1) to the node's signed-in sockets of user.
func (p *peer) sign(ctx context.Context, user string, d int) (transport.UserResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	op := transport.UserOp{App: p.cl.app, UserID: user, Sockets: p.users[user] + d, Version: p.next()}
	res, err := p.n.SetUser(ctx, op)
	if err != nil {
		return res, err
	}
	if res.Stale {
		return res, fmt.Errorf("node %d: write of user %s reported stale", p.i, user)
	}
	p.users[user] = op.Sockets
	p.cl.record(p.i, res.Transitions)
	return res, nil
}

// connect adds d (±1) to the node's connections, under limit.
func (p *peer) connect(ctx context.Context, d, limit int) (transport.ConnResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	op := transport.ConnOp{App: p.cl.app, Connections: p.conns + d, Limit: limit, Version: p.next()}
	res, err := p.n.SetConnections(ctx, op)
	if err != nil {
		return res, err
	}
	if res.Stale {
		return res, fmt.Errorf("node %d: connections write reported stale", p.i)
	}
	p.conns = op.Connections
	return res, nil
}

// snapshot returns the node's whole local state, for Restore.
func (p *peer) snapshot() transport.Snapshot {
	p.mu.Lock()
	defer p.mu.Unlock()
	var s transport.Snapshot
	for ch, n := range p.subs {
		if len(p.mem[ch]) == 0 {
			s.Channels = append(s.Channels, transport.ChannelOp{App: p.cl.app, Channel: ch, Subscribers: n, Version: p.next()})
			continue
		}
		for u, k := range p.mem[ch] {
			s.Channels = append(s.Channels, transport.ChannelOp{App: p.cl.app, Channel: ch, Subscribers: n,
				Member: &transport.MemberOp{UserID: u, Sockets: k, Info: info(u)}, Version: p.next()})
		}
	}
	for u, n := range p.users {
		s.Users = append(s.Users, transport.UserOp{App: p.cl.app, UserID: u, Sockets: n, Version: p.next()})
	}
	s.Connections = []transport.ConnOp{{App: p.cl.app, Connections: p.conns, Version: p.next()}}
	return s
}

// check compares what every live node's State reports with the union of
// the live nodes' local registries.
func (cl *cluster) check(t *testing.T) {
	t.Helper()
	ctx := cl.ctx(t)
	live := cl.live()
	if len(live) == 0 {
		return
	}
	subs := map[string]int{}
	mem := map[string]map[string]int{}
	users := map[string]int{}
	conns := 0
	for _, p := range cl.peers {
		p.mu.Lock()
		for ch, n := range p.subs {
			subs[ch] += 0
			if !p.dead {
				subs[ch] += n
			}
		}
		for ch, m := range p.mem {
			if mem[ch] == nil {
				mem[ch] = map[string]int{}
			}
			for u, n := range m {
				mem[ch][u] += 0
				if !p.dead {
					mem[ch][u] += n
				}
			}
		}
		for u, n := range p.users {
			users[u] += 0
			if !p.dead {
				users[u] += n
			}
		}
		if !p.dead {
			conns += p.conns
		}
		p.mu.Unlock()
	}
	var occupied []string
	for ch, n := range subs {
		if n > 0 {
			occupied = append(occupied, ch)
		}
	}
	slices.Sort(occupied)
	var ids []string
	for u := range users {
		ids = append(ids, u)
	}
	slices.Sort(ids)
	for _, p := range live {
		for ch, n := range subs {
			var want []string
			for u, k := range mem[ch] {
				if k > 0 {
					want = append(want, u)
				}
			}
			slices.Sort(want)
			ci, err := p.n.Channel(ctx, cl.app, ch)
			if err != nil {
				t.Errorf("node %d: Channel(%s): %v", p.i, ch, err)
				continue
			}
			if ci.Subscribers != n || ci.Users != len(want) {
				t.Errorf("node %d: Channel(%s) = %d subscribers, %d users; the nodes hold %d, %d", p.i, ch, ci.Subscribers, ci.Users, n, len(want))
			}
			if mem[ch] == nil {
				continue
			}
			ms, err := p.n.Members(ctx, cl.app, ch)
			if err != nil {
				t.Errorf("node %d: Members(%s): %v", p.i, ch, err)
				continue
			}
			var got []string
			for _, m := range ms.Users {
				got = append(got, m.ID)
				if string(m.Info) != string(info(m.ID)) {
					t.Errorf("node %d: member %s of %s has info %s, want %s", p.i, m.ID, ch, m.Info, info(m.ID))
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("node %d: Members(%s) = %v; the nodes hold %v", p.i, ch, got, want)
			}
		}
		list, err := p.n.Channels(ctx, cl.app, "")
		if err != nil {
			t.Errorf("node %d: Channels: %v", p.i, err)
		} else {
			var got []string
			for _, ci := range list {
				got = append(got, ci.Name)
			}
			if !slices.Equal(got, occupied) {
				t.Errorf("node %d: Channels = %v; the nodes occupy %v", p.i, got, occupied)
			}
		}
		if len(ids) > 0 {
			on, err := p.n.Online(ctx, cl.app, ids)
			if err != nil {
				t.Errorf("node %d: Online: %v", p.i, err)
			} else {
				for j, u := range ids {
					if on[j] != (users[u] > 0) {
						t.Errorf("node %d: Online(%s) = %v; the nodes hold %d sockets", p.i, u, on[j], users[u])
					}
				}
			}
		}
		n, err := p.n.Connections(ctx, cl.app)
		if err != nil {
			t.Errorf("node %d: Connections: %v", p.i, err)
		} else if n != conns {
			t.Errorf("node %d: Connections = %d; the nodes hold %d", p.i, n, conns)
		}
	}
}

// checkPairs checks one channel's (or member's) transitions, sorted by
// Seq: each Seq seen once, added/removed alternating from the first add,
// and each removal confirmed exactly when no resumed add followed it. end
// says whether the last removal's hold has had time to run out.
func (cl *cluster) checkPairs(t *testing.T, since int, add, remove, confirm transport.TransitionKind, channel, user string) (adds int) {
	t.Helper()
	var evs []event
	evs = append(evs, cl.find(since, add, channel, user)...)
	evs = append(evs, cl.find(since, remove, channel, user)...)
	slices.SortFunc(evs, func(a, b event) int { return int(a.tr.Seq) - int(b.tr.Seq) })
	confirms := map[uint64]int{}
	for _, e := range cl.find(since, confirm, channel, user) {
		confirms[e.tr.Seq]++
	}
	for i, e := range evs {
		if i > 0 && e.tr.Seq == evs[i-1].tr.Seq {
			t.Fatalf("%s %s: two transitions with seq %d: %+v and %+v", channel, user, e.tr.Seq, evs[i-1].tr, e.tr)
		}
		want := add
		if i%2 == 1 {
			want = remove
		}
		if e.tr.Kind != want {
			t.Fatalf("%s %s: transition %d (seq %d) is %v, want %v: not alternating", channel, user, i, e.tr.Seq, e.tr.Kind, want)
		}
		if e.tr.Kind == add {
			adds++
			continue
		}
		resumed := i+1 < len(evs) && evs[i+1].tr.Resumed
		switch c := confirms[e.tr.Seq]; {
		case resumed && c != 0:
			t.Errorf("%s %s: removal at seq %d confirmed %d times although a resumed add followed", channel, user, e.tr.Seq, c)
		case !resumed && c != 1:
			t.Errorf("%s %s: removal at seq %d confirmed %d times, want 1", channel, user, e.tr.Seq, c)
		}
		delete(confirms, e.tr.Seq)
	}
	for seq, c := range confirms {
		t.Errorf("%s %s: %d confirmations at seq %d match no removal", channel, user, c, seq)
	}
	if len(evs) > 0 && evs[0].tr.Resumed {
		t.Errorf("%s %s: first add is resumed", channel, user)
	}
	return adds
}

// need returns v, or fails the test if err is set:
// need(n.Channel(ctx, app, ch))(t).
func need[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func kinds(trs []transport.Transition) []transport.TransitionKind {
	out := make([]transport.TransitionKind, 0, len(trs))
	for _, tr := range trs {
		out = append(out, tr.Kind)
	}
	return out
}

func wantKinds(t *testing.T, what string, trs []transport.Transition, want ...transport.TransitionKind) {
	t.Helper()
	if got := kinds(trs); !slices.Equal(got, want) {
		t.Errorf("%s: transitions %v, want %v", what, got, want)
	}
}

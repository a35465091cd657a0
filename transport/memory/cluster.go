package memory

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"sync"
	"time"

	"github.com/sockudo-go/sockudo/transport"
	"github.com/sockudo-go/sockudo/transport/internal/driverkit"
)

// DefaultQueueSize is Options.QueueSize when zero.
const DefaultQueueSize = 1024

// Options tunes a Cluster; the zero value is ready to use.
type Options struct {
	// QueueSize bounds each node's queue of undelivered messages; a
	// message to a node whose queue is full is dropped and its topic
	// reported to the node's Handler.Gap once the queue has drained.
	// Default 1024.
	QueueSize int
}

// Cluster is one shared store and broker; it is the transport.Driver of
// its nodes. Its methods are safe for concurrent use.
type Cluster struct {
	queue int

	mu    sync.Mutex
	st    *store
	nodes map[string]*node
	subs  map[transport.Topic]map[*node]struct{}
}

var _ transport.Driver = (*Cluster)(nil)

// New returns an empty Cluster; opts may be nil.
func New(opts *Options) *Cluster {
	c := &Cluster{
		queue: DefaultQueueSize,
		st:    newStore(1),
		nodes: make(map[string]*node),
		subs:  make(map[transport.Topic]map[*node]struct{}),
	}
	if opts != nil && opts.QueueSize > 0 {
		c.queue = opts.QueueSize
	}
	return c
}

// Start registers a new node with its lease and starts its renewals,
// reaping and hold timers, which tick every fifth of the lease (or a
// quarter of the hold, if shorter).
func (c *Cluster) Start(ctx context.Context, cfg transport.NodeConfig, h transport.Handler) (transport.Node, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if h == nil {
		h = transport.HandlerFuncs{}
	}
	cfg = cfg.WithDefaults()
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	n := &node{
		c:        c,
		id:       hex.EncodeToString(b[:]),
		cfg:      cfg,
		h:        h,
		stopLoop: make(chan struct{}),
		mail:     driverkit.NewMailbox(h, c.queue),
		topic:    make(map[transport.Topic]struct{}),
	}
	n.tick = cfg.Lease / 5
	if cfg.Hold > 0 && cfg.Hold/4 < n.tick {
		n.tick = cfg.Hold / 4
	}
	n.tick = max(n.tick, time.Millisecond)
	now := time.Now()
	c.mu.Lock()
	n.epoch = c.st.epoch
	n.lastRenew = now
	n.since = now
	c.st.leases[n.id] = now.Add(cfg.Lease)
	c.nodes[n.id] = n
	c.mu.Unlock()
	go n.run()
	go n.mail.Run()
	return n, nil
}

// node returns tn as a node of c, or nil.
func (c *Cluster) node(tn transport.Node) *node {
	n, ok := tn.(*node)
	if !ok || n == nil || n.c != c {
		return nil
	}
	return n
}

// Kill stops n silently, as SIGKILL or a pause longer than its lease
// would: no more renewals, reaping, timers or deliveries, and nothing is
// removed from the store. Calls made on n afterwards still reach the
// store, as a zombie's would, and are refused once n has been reaped.
// It does nothing if n is not a node of c.
func (c *Cluster) Kill(tn transport.Node) {
	n := c.node(tn)
	if n == nil {
		return
	}
	c.mu.Lock()
	n.killed = true
	c.mu.Unlock()
	n.halt()
}

// Partition cuts n off from the store and the broker until Heal: its
// calls wait for their context (or a fifth of the lease) and fail with
// transport.ErrUnavailable, it turns Degraded, it receives no messages,
// and once it has gone a lease without renewing it fences itself
// (Lost(LeaseExpired)) while the others reap it. It does nothing if n is not a
// node of c.
func (c *Cluster) Partition(tn transport.Node) {
	n := c.node(tn)
	if n == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !n.partitioned {
		n.partitioned = true
		n.missed = true
		n.healed = make(chan struct{})
	}
}

// Heal reconnects a partitioned node. If it is still registered it turns
// Up at its next renewal and reports a Gap of its topics; if it was
// reaped, its calls fail with transport.ErrFenced. It does nothing if n
// is not a node of c.
func (c *Cluster) Heal(tn transport.Node) {
	n := c.node(tn)
	if n == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if n.partitioned {
		n.partitioned = false
		close(n.healed)
	}
}

// Wipe empties the store, as a restart without persistence would:
// leases, tombstones, counts, members and holds are gone. Subscriptions
// to topics stay (a driver resubscribes by itself). Every node notices
// at its next renewal or write and reports Lost(StoreWiped).
func (c *Cluster) Wipe() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.st = newStore(c.st.epoch + 1)
}

// Nodes returns the ids of the nodes registered in the store, sorted.
func (c *Cluster) Nodes() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := make([]string, 0, len(c.st.leases))
	for id := range c.st.leases {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// unsubscribeLocked removes n's interest in t; c.mu is held.
func (c *Cluster) unsubscribeLocked(n *node, t transport.Topic) {
	if set := c.subs[t]; set != nil {
		delete(set, n)
		if len(set) == 0 {
			delete(c.subs, t)
		}
	}
}

package transport

import (
	"context"
	"time"
)

// Defaults of NodeConfig fields left at zero.
const (
	DefaultLease        = 10 * time.Second
	DefaultHandoffGrace = 5 * time.Second
	DefaultHold         = 3 * time.Second
)

// Driver starts nodes on one shared backend. Drivers take the host's
// client and never close it. Its methods are safe for concurrent use.
type Driver interface {
	// Start registers a new incarnation with its lease in the store and
	// returns once it is registered. h receives the node's messages and
	// reports from the moment Start returns. Every call registers a new
	// incarnation, never an old one again: after a terminal Lost the
	// process calls Start again.
	Start(ctx context.Context, cfg NodeConfig, h Handler) (Node, error)
}

// NodeConfig tunes one node. Zero fields take the defaults above.
type NodeConfig struct {
	// Lease is how long the store keeps the node's registration without a
	// renewal. A node that cannot renew fences itself before its lease
	// can run out (Lost(LeaseExpired)); other nodes reap it once it has.
	// Contributions of a crashed node count until then. Default 10 s.
	Lease time.Duration

	// HandoffGrace is how long Deregister keeps the node's contributions
	// before removing them, so that clients reconnecting elsewhere rejoin
	// first. Default 5 s; negative means none.
	HandoffGrace time.Duration

	// Hold is how long a channel_vacated or member_removed decided by this
	// node waits for a re-join before it is confirmed. Default 3 s;
	// negative means no hold (confirmed at once, in the same result).
	Hold time.Duration

	// Name labels the node for logs and cluster stats (a host name, say).
	// It need not be unique; Node.ID is.
	Name string
}

// WithDefaults returns c with its zero fields set to the defaults.
func (c NodeConfig) WithDefaults() NodeConfig {
	if c.Lease <= 0 {
		c.Lease = DefaultLease
	}
	if c.HandoffGrace == 0 {
		c.HandoffGrace = DefaultHandoffGrace
	}
	if c.Hold == 0 {
		c.Hold = DefaultHold
	}
	return c
}

// Node is one registered incarnation. Its methods are safe for concurrent
// use. After a terminal Lost, Deregister or Close, every call fails
// (ErrFenced or ErrClosed).
type Node interface {
	// ID is the incarnation's id, unique in the store and never reused.
	ID() string

	Broker
	State

	// Health reports the node's state; it never blocks and feeds /up.
	Health() Health

	// Deregister hands off and leaves: the node keeps renewing its lease
	// for HandoffGrace without changing its contributions, then removes
	// them through the usual transitions, reported to its own Handler
	// before Deregister returns, and deletes its registration. The caller
	// closes its sockets without writing their leaves first. If ctx ends
	// first, Deregister stops renewing and returns ctx's error; other
	// nodes then reap the node when its lease runs out.
	Deregister(ctx context.Context) error

	// Close stops the node's background work (renewals, reaping, timers,
	// delivery) without touching the store, as a crash would: other nodes
	// reap its contributions when its lease runs out. Use it after a
	// terminal Lost or when the backend is gone. It is idempotent.
	Close() error
}

// Handler receives what a node learns outside of its own calls. The driver
// calls its methods one at a time per node, from its own goroutine; they
// must not block (queue or drop). While the node runs, transitions and
// Lost are never dropped by the driver; messages may be (see Broker). A
// node that dies after claiming a transition and before its Handler ran
// loses it with its process.
type Handler interface {
	// Message delivers msg published on t by another node. msg must not
	// be modified; it may be kept.
	Message(t Topic, msg []byte)

	// Gap reports that delivery of ts was interrupted and has resumed:
	// messages published meanwhile may be lost, so local mirrors of these
	// topics should be read again from State.
	Gap(ts []Topic)

	// Transition reports a transition this node decided outside its own
	// writes: removals while reaping a dead node or while deregistering,
	// and confirmations of holds that ran out. Each is reported to
	// exactly one node cluster-wide.
	Transition(tr Transition)

	// Lost reports that the node's registration is gone. After a terminal
	// reason (LeaseExpired, Reaped) the node is fenced for good: drop
	// local state, close sockets (4100) and Start a new node. After
	// StoreWiped the node is Degraded until Restore succeeds.
	Lost(r LossReason)
}

// HandlerFuncs is a Handler built from functions; nil fields ignore the
// call.
type HandlerFuncs struct {
	OnMessage    func(t Topic, msg []byte)
	OnGap        func(ts []Topic)
	OnTransition func(tr Transition)
	OnLost       func(r LossReason)
}

// Message calls OnMessage if set.
func (f HandlerFuncs) Message(t Topic, msg []byte) {
	if f.OnMessage != nil {
		f.OnMessage(t, msg)
	}
}

// Gap calls OnGap if set.
func (f HandlerFuncs) Gap(ts []Topic) {
	if f.OnGap != nil {
		f.OnGap(ts)
	}
}

// Transition calls OnTransition if set.
func (f HandlerFuncs) Transition(tr Transition) {
	if f.OnTransition != nil {
		f.OnTransition(tr)
	}
}

// Lost calls OnLost if set.
func (f HandlerFuncs) Lost(r LossReason) {
	if f.OnLost != nil {
		f.OnLost(r)
	}
}

// Status is a node's health state.
type Status uint8

// The health states. Only Up serves traffic: Degraded and Fenced answer
// /up with 503 and refuse publishes.
const (
	// Up: the store answers and the lease is renewed.
	Up Status = iota
	// Degraded: the store does not answer, or the store was wiped and
	// Restore has not succeeded yet. Writes fail; the node recovers by
	// itself (or by Restore) while its lease lasts.
	Degraded
	// Fenced: the incarnation is over (lease expired, reaped,
	// deregistered or closed). Every call fails.
	Fenced
)

// String returns "up", "degraded" or "fenced".
func (s Status) String() string {
	switch s {
	case Up:
		return "up"
	case Degraded:
		return "degraded"
	case Fenced:
		return "fenced"
	}
	return "unknown"
}

// Health is a node's health and, when not Up, why.
type Health struct {
	Status Status
	// Since is when Status last changed.
	Since time.Time
	// Err is the cause when Status is not Up (for example an error
	// wrapping ErrUnavailable), nil when Up.
	Err error
}

// LossReason says why a node's registration is gone.
type LossReason uint8

// The loss reasons.
const (
	// LeaseExpired: the node could not renew its lease in time and fenced
	// itself before other nodes could reap it. Terminal.
	LeaseExpired LossReason = iota + 1
	// Reaped: the store says this incarnation was reaped (its lease ran
	// out while it was cut off or paused). Terminal.
	Reaped
	// StoreWiped: the store lost its data (a restart without persistence,
	// a flush). Not terminal: the node calls Restore with its local
	// state; until then its writes fail with ErrStoreWiped.
	StoreWiped
)

// Terminal reports whether the incarnation is over for good.
func (r LossReason) Terminal() bool { return r == LeaseExpired || r == Reaped }

// String returns "lease expired", "reaped" or "store wiped".
func (r LossReason) String() string {
	switch r {
	case LeaseExpired:
		return "lease expired"
	case Reaped:
		return "reaped"
	case StoreWiped:
		return "store wiped"
	}
	return "unknown"
}

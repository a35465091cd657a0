package transport

import (
	"context"
	"encoding/json"
)

// State is the shared store as a node sees it. Writes (SetChannel,
// SetUser, SetConnections, Restore) replace this node's own contribution
// to one key with an absolute value; each is one atomic step in the store
// that also decides the transitions the change causes, which are returned
// to the writer and reported to nobody else. Reads return cluster-wide
// totals, linearizable per key; a dead node's contribution counts until
// it is reaped (at most Lease plus the reaping interval after it stopped).
//
// Versions: every write carries a Version that must increase with each
// write of the same key by the same node (one counter per Node, read
// while holding the lock under which the absolute value was computed, is
// enough). A write whose version is not above the last one applied for
// that key is Stale: nothing changes and no transition is reported.
// Writes of one key by one node may overlap; a caller that needs each
// write's own outcome (ErrLimit) serialises them.
type State interface {
	// SetChannel sets this node's subscriber count of a channel and,
	// for presence, one user's socket count on it. On ErrLimit nothing
	// changed.
	SetChannel(ctx context.Context, op ChannelOp) (ChannelResult, error)

	// SetUser sets this node's count of sockets signed in as a user.
	SetUser(ctx context.Context, op UserOp) (UserResult, error)

	// SetConnections sets this node's connection count of an app,
	// refusing an increase past op.Limit cluster-wide with ErrLimit.
	SetConnections(ctx context.Context, op ConnOp) (ConnResult, error)

	// Channel returns a channel's totals; an unknown channel is
	// unoccupied, not an error.
	Channel(ctx context.Context, app, channel string) (ChannelInfo, error)

	// Channels returns the occupied channels of app whose names start
	// with prefix, sorted by name.
	Channels(ctx context.Context, app, prefix string) ([]ChannelInfo, error)

	// Members returns a presence channel's members with the channel's
	// Seq, as pusher_internal:subscription_succeeded needs.
	Members(ctx context.Context, app, channel string) (Members, error)

	// Online reports, for each id, whether the user has a signed-in
	// socket on any node.
	Online(ctx context.Context, app string, users []string) ([]bool, error)

	// Connections returns app's connection count cluster-wide (only apps
	// whose nodes call SetConnections are counted).
	Connections(ctx context.Context, app string) (int, error)

	// Restore replaces all of this node's contributions with s, ignoring
	// limits and versions and reporting no transition, and registers the
	// node again if the store lost it. Call it after Lost(StoreWiped)
	// with the node's whole local state; on success the node is Up.
	// Transitions that other nodes' restores (or the missing
	// contributions of nodes that died during the wipe) would imply are
	// not reported.
	Restore(ctx context.Context, s Snapshot) error
}

// ChannelOp is one node's contribution to a channel.
type ChannelOp struct {
	App, Channel string
	// Subscribers is this node's count of sockets subscribed to the
	// channel after the change (absolute, ≥ 0).
	Subscribers int
	// Member, for presence channels, is one user's sockets on this node
	// after the change. Nil leaves members alone.
	Member *MemberOp
	// MemberLimit, if > 0, refuses with ErrLimit a write that would add a
	// user to a channel that already has MemberLimit members.
	MemberLimit int
	// Version orders this node's writes of the channel; must be > 0.
	Version uint64
}

// MemberOp is one presence user's sockets on the writing node.
type MemberOp struct {
	UserID string
	// Sockets is this node's count of the user's sockets subscribed to
	// the channel after the change (absolute, ≥ 0).
	Sockets int
	// Info is the user_info to show when this write adds the user to the
	// channel; it is ignored while the user is already a member.
	Info json.RawMessage
}

// ChannelResult is the outcome of SetChannel.
type ChannelResult struct {
	// Stale: the version was not above the last one applied; nothing
	// changed and the other fields describe the current state.
	Stale bool
	// Subscribers and Users are the channel's totals after the write.
	Subscribers, Users int
	// Seq is the channel's sequence after the write (see Transition.Seq).
	Seq uint64
	// Transitions the write caused, in the order they happened, e.g.
	// [ChannelOccupied, MemberAdded] on a first join or [MemberRemoved,
	// ChannelVacated] on a last leave. With no hold (NodeConfig.Hold < 0)
	// each removal is followed by its confirmation.
	Transitions []Transition
	// Members is the member list after the write, for the
	// subscription_succeeded of a joining presence socket; set only when
	// op.Member is set with Sockets > 0.
	Members *Members
}

// UserOp is one node's signed-in sockets of a user.
type UserOp struct {
	App, UserID string
	// Sockets is this node's count of sockets signed in as the user after
	// the change (absolute, ≥ 0).
	Sockets int
	// Version orders this node's writes of the user; must be > 0.
	Version uint64
}

// UserResult is the outcome of SetUser.
type UserResult struct {
	// Stale: see ChannelResult.Stale.
	Stale bool
	// Sockets is the user's signed-in sockets cluster-wide after the
	// write.
	Sockets int
	// Transitions holds UserOnline or UserOffline if the write caused it.
	Transitions []Transition
}

// ConnOp is one node's connection count of an app.
type ConnOp struct {
	App string
	// Connections is this node's count of the app's sockets after the
	// change (absolute, ≥ 0).
	Connections int
	// Limit, if > 0, refuses with ErrLimit a write that raises this
	// node's count while the cluster-wide total would exceed Limit.
	// Lowering a count is never refused.
	Limit int
	// Version orders this node's writes of the app; must be > 0.
	Version uint64
}

// ConnResult is the outcome of SetConnections.
type ConnResult struct {
	// Stale: see ChannelResult.Stale.
	Stale bool
	// Total is the app's connections cluster-wide after the write.
	Total int
}

// ChannelInfo is a channel's cluster-wide totals.
type ChannelInfo struct {
	Name string
	// Subscribers is the count of subscribed sockets on all nodes; the
	// channel is occupied iff it is > 0.
	Subscribers int
	// Users is the count of distinct presence users.
	Users int
}

// Occupied reports whether the channel has a subscriber.
func (c ChannelInfo) Occupied() bool { return c.Subscribers > 0 }

// Members is a presence channel's member list.
type Members struct {
	// Seq is the channel's sequence when the list was read; state frames
	// with a Seq at or below it are already reflected.
	Seq uint64
	// Users are sorted by ID.
	Users []Member
}

// Member is one presence user.
type Member struct {
	ID   string
	Info json.RawMessage
}

// Snapshot is a node's whole local state, for Restore. Versions are
// recorded as given.
type Snapshot struct {
	Channels    []ChannelOp
	Users       []UserOp
	Connections []ConnOp
}

// TransitionKind is what changed.
type TransitionKind uint8

// The transitions. Each is observed by exactly one node.
const (
	// ChannelOccupied: the channel's subscribers went from 0 to 1 or
	// more. Resumed when it cancelled a pending vacate hold.
	ChannelOccupied TransitionKind = iota + 1
	// ChannelVacated: the channel's subscribers went to 0; its hold
	// starts (clients need nothing: they have left).
	ChannelVacated
	// VacateConfirmed: a vacate hold ran out with the channel still
	// empty; this is when the channel_vacated webhook is sent.
	VacateConfirmed
	// MemberAdded: a user's sockets in a presence channel went from 0 to
	// 1 or more: send member_added to subscribers. Resumed when it
	// cancelled a pending member_removed hold.
	MemberAdded
	// MemberRemoved: a user's sockets in a presence channel went to 0:
	// send member_removed to subscribers now; its hold starts.
	MemberRemoved
	// RemovalConfirmed: a member_removed hold ran out with the user still
	// gone; this is when the member_removed webhook is sent.
	RemovalConfirmed
	// UserOnline: a user's signed-in sockets went from 0 to 1 or more.
	UserOnline
	// UserOffline: a user's signed-in sockets went to 0.
	UserOffline
)

// String returns the kind's name in snake case.
func (k TransitionKind) String() string {
	switch k {
	case ChannelOccupied:
		return "channel_occupied"
	case ChannelVacated:
		return "channel_vacated"
	case VacateConfirmed:
		return "vacate_confirmed"
	case MemberAdded:
		return "member_added"
	case MemberRemoved:
		return "member_removed"
	case RemovalConfirmed:
		return "removal_confirmed"
	case UserOnline:
		return "user_online"
	case UserOffline:
		return "user_offline"
	}
	return "unknown"
}

// Transition is one state change decided in the store.
type Transition struct {
	Kind    TransitionKind
	App     string
	Channel string // empty for UserOnline and UserOffline
	UserID  string // for member and user transitions
	// Info is the member's user_info, for MemberAdded.
	Info json.RawMessage
	// Resumed marks a ChannelOccupied or MemberAdded that cancelled the
	// hold of the preceding ChannelVacated or MemberRemoved: clients get
	// the frame, webhooks get nothing (neither half of the pair).
	Resumed bool
	// Seq is the channel's sequence after the transition: it grows by one
	// with each ChannelOccupied, ChannelVacated, MemberAdded and
	// MemberRemoved of the channel, so sorting a channel's transitions by
	// Seq gives their order. A VacateConfirmed or RemovalConfirmed carries
	// the Seq of the ChannelVacated or MemberRemoved it confirms. Sequences
	// restart after a wipe.
	Seq uint64
}

// Webhook returns the Pusher webhook event name this transition stands
// for, if any: channel_occupied and member_added unless Resumed,
// channel_vacated and member_removed when their hold is confirmed.
func (t Transition) Webhook() (name string, ok bool) {
	switch {
	case t.Kind == ChannelOccupied && !t.Resumed:
		return "channel_occupied", true
	case t.Kind == VacateConfirmed:
		return "channel_vacated", true
	case t.Kind == MemberAdded && !t.Resumed:
		return "member_added", true
	case t.Kind == RemovalConfirmed:
		return "member_removed", true
	}
	return "", false
}

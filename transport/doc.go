// Package transport is the contract between the hub and a shared backend
// (Redis, NATS, or the in-process memory driver) that lets several
// sockudo-go processes serve one set of apps as one server.
//
// A Driver starts Nodes. A Node is one incarnation of a process in the
// cluster: it has a lease in the store, a Broker that carries frames
// between nodes, and a State through which it writes its own local
// contributions (subscribers per channel, presence sockets per user,
// signed-in sockets per user, connections per app) and reads the
// cluster-wide totals.
//
// The rules every driver keeps, and the conformance suite in
// transport/transporttest checks:
//
//   - The store is the truth for channel subscriber counts, presence
//     members, signed-in users and per-app connection counts. Nodes never
//     ask each other anything.
//   - A node writes absolute values ("my local subscriber count for this
//     channel is 3"), each with a version that increases per key. A write
//     older than one already applied is refused as Stale and changes
//     nothing, so retries after a timeout are harmless and re-asserting a
//     value repairs drift.
//   - Every transition (channel occupied or vacated, member added or
//     removed, user online or offline) is decided by one atomic step in
//     the store, so exactly one node observes it: the writer in the
//     result of its write, or a node's Handler when the transition comes
//     from reaping or a timer.
//   - channel_vacated and member_removed are held (NodeConfig.Hold, 3 s by
//     default); a re-join on any node within the hold cancels it, and a
//     hold that runs out is confirmed to exactly one node cluster-wide.
//   - Presence member limits and per-app connection limits are enforced
//     in the same atomic step, so they are exact cluster-wide.
//   - Liveness is a lease in the store. A node that stops renewing is
//     reaped by exactly one other node, which removes its contributions
//     through the same transitions. A reaped (fenced) incarnation's late
//     writes are refused with ErrFenced; the process starts a new Node.
//   - Deregister hands off: the node's contributions stay for
//     NodeConfig.HandoffGrace, so clients that reconnect to another node
//     cause no member_removed/member_added flap.
//   - A wiped store is reported as Lost(StoreWiped); Restore uploads the
//     node's local state again without reporting any transition.
//
// Every call that reaches the backend takes a context first and returns
// by its deadline.
package transport

// Package redis is the transport driver on Redis: standalone, Sentinel or
// Cluster, through the host's rueidis client.
//
// The shared store is a handful of Lua scripts. Each write (SetChannel,
// SetUser, SetConnections, Restore) is one script, so it is atomic on the
// server and decides its transitions in the same step; each checks the
// caller's lease and the store's epoch first, so a reaped or expired
// node's late writes are refused (ErrFenced) and a flushed store is
// noticed (Lost(StoreWiped)). Time is the server's (TIME), so the nodes'
// clocks need not agree. Every node renews its lease, reaps nodes whose
// lease ran out and confirms due holds each tick (a fifth of the lease,
// or a quarter of the hold if shorter); the scripts make each reaping and
// each confirmation happen exactly once cluster-wide.
//
// The broker is Redis pub/sub, one channel per topic, on one dedicated
// connection per node: sharded pub/sub (SSUBSCRIBE, SPUBLISH) on Redis
// Cluster. A node that loses that connection reconnects, subscribes
// again and reports a Gap of its topics.
//
// All keys and channels of one Prefix share one hash tag, so on Redis
// Cluster one cluster of nodes lives in one slot: one shard carries its
// state and its messages. Run clusters of nodes with different prefixes
// to spread them.
//
// Removing a node's contributions (reaping it, or Deregister) takes one
// script per Options.ReapChunk keys, so that a node that held many
// channels does not block Redis for long; each key is removed, and its
// transitions reported, by exactly one of those scripts. The node's
// lease goes with its last key, and its writes are refused from the
// first one.
package redis

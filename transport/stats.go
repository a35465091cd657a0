package transport

import "time"

// Stats are a node's operational counters, for metrics. Every field but
// NodesAlive counts from Start.
type Stats struct {
	// NodesAlive is the count of live registrations the node saw at its
	// last lease scan, itself included.
	NodesAlive int
	// Reconnects counts restarts of the node's pub/sub delivery after
	// the first start (reconnections, and restarts after a failed probe).
	Reconnects uint64
	// Gaps counts the Gap reports made to the node's Handler (after a
	// reconnection, or when its message queue overflowed).
	Gaps uint64
	// Reaped counts dead nodes whose contributions this node removed.
	Reaped uint64
	// StoreCalls and StoreErrors count calls to the store and those that
	// failed; StoreLatency is the sum of their durations, so that
	// StoreLatency / StoreCalls is the mean.
	StoreCalls, StoreErrors uint64
	StoreLatency            time.Duration
}

// StatsReporter is implemented by Nodes that keep Stats. It is optional:
// a host's own driver need not.
type StatsReporter interface {
	// Stats returns the counters; it never blocks on the store.
	Stats() Stats
}

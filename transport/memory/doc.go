// Package memory is an in-process transport driver: every node started
// from one Cluster shares one mutex-protected store and one broker, as
// processes sharing one Redis would. It is exact by construction (every
// write is one critical section) and exists for tests, examples and the
// conformance suite: it runs on the runtime's clock (time.Now, tickers),
// so inside a testing/synctest bubble leases and holds run on fake time.
//
// A Cluster also injects the faults a real backend has, so tests can see
// what a host does under them: Partition cuts a node off from the store
// (its calls wait for their deadline and fail, it turns Degraded, then
// fences itself and is reaped by the others), Heal reconnects it, Kill
// stops a node silently as SIGKILL or a long pause would (its later
// writes, like a zombie's, reach the store and are refused once it has
// been reaped), and Wipe empties the store (every node gets
// Lost(StoreWiped) and restores).
package memory

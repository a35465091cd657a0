// Package transporttest is the conformance suite for transport drivers.
// Every driver in this module runs it against its real backend, and a
// host that writes its own driver should run it too:
//
//	func TestConformance(t *testing.T) {
//		transporttest.Run(t, transporttest.Harness{
//			New: func(t *testing.T) transporttest.Backend {
//				d := mydriver.New(client, uniquePrefix(t))
//				return transporttest.Backend{Driver: d}
//			},
//		})
//	}
//
// The suite starts three nodes of the driver on one backend per subtest
// and plays them against each other through a model of each node's local
// registry (what a hub would hold): counts across nodes, transitions seen
// exactly once (checked by their per-channel sequence), concurrent storms
// of one user on three nodes, exact member and connection limits,
// vacate/member_removed holds cancelled on another node and confirmed
// once, stale writes, the broker's delivery and order, and context
// handling. After each case it checks that what State reports equals the
// union of the live nodes' local contributions.
//
// Fault hooks (Backend.Kill, Partition and Heal, Wipe) unlock the cases
// that need them: lease expiry and reaping, fencing of late writes,
// Degraded and recovery, and restore after a wipe. A case whose hook is
// missing is skipped with a message naming it. Deregister's handoff needs
// no hook.
//
// Each subtest uses an app id unique to the run, so several runs may share
// one backend. The suite waits by polling with generous deadlines
// (Harness.Wait); it asserts no latency.
package transporttest

package redis

import "github.com/sockudo-go/sockudo/transport"

// Kill stops n silently, as SIGKILL or a pause longer than its lease
// would: no more renewals, reaping, timers or deliveries, and nothing is
// removed from the store. Calls made on n afterwards still reach Redis.
func Kill(n transport.Node) {
	if nd, ok := n.(*node); ok {
		nd.kill()
	}
}

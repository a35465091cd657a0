package transporttest

import (
	"math/rand/v2"
	"testing"

	"github.com/sockudo-go/sockudo/transport"
)

// testRandomSchedule: three nodes run a random schedule (fixed seed) of
// joins, leaves, extra sockets and sign-ins over a few channels and
// users at once; afterwards every channel's and member's transitions
// alternate and are confirmed exactly when not resumed, and State equals
// the nodes' registries.
func testRandomSchedule(t *testing.T, cl *cluster) {
	ctx := cl.ctx(t)
	channels := []string{"presence-r0", "presence-r1", "presence-r2"}
	users := []string{"a", "b", "c", "d"}
	since := cl.mark()
	storm(t, cl, 300, func(p *peer, i int) error {
		// One generator per node and step, from the fixed seed: the
		// schedule of each node is the same on every run.
		r := rand.New(rand.NewPCG(uint64(p.i), uint64(i)))
		ch, user := channels[r.IntN(len(channels))], users[r.IntN(len(users))]
		if r.IntN(5) == 0 {
			p.mu.Lock()
			signed := p.users[user]
			p.mu.Unlock()
			d := 1
			if signed > 0 && r.IntN(2) == 0 {
				d = -1
			}
			_, err := p.sign(ctx, user, d)
			return err
		}
		p.mu.Lock()
		have := p.mem[ch][user]
		p.mu.Unlock()
		if have > 0 && r.IntN(2) == 0 {
			_, err := p.leave(ctx, ch, user)
			return err
		}
		if have < 2 {
			_, err := p.join(ctx, ch, user)
			return err
		}
		_, err := p.leave(ctx, ch, user)
		return err
	})
	cl.settle()
	for _, ch := range channels {
		cl.checkPairs(t, since, transport.ChannelOccupied, transport.ChannelVacated, transport.VacateConfirmed, ch, "")
		for _, u := range users {
			cl.checkPairs(t, since, transport.MemberAdded, transport.MemberRemoved, transport.RemovalConfirmed, ch, u)
		}
	}
	for _, u := range users {
		on, off := cl.count(since, transport.UserOnline, "", u), cl.count(since, transport.UserOffline, "", u)
		if d := on - off; d != 0 && d != 1 {
			t.Errorf("user %s: %d online, %d offline", u, on, off)
		}
	}
}

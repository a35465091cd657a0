package hub

import (
	"strconv"

	"golang.org/x/time/rate"

	"github.com/sockudo-go/sockudo/internal/protocol"
)

// Per-socket caps on subscriptions. A refused subscribe leaves the socket
// open: Pusher clients treat a close as a reason to reconnect, which would
// only repeat the subscribes.

// admitSubscribe decides whether c may subscribe to name, answering the
// refusals itself, before any signature is checked or state is built:
//   - beyond Config.MaxChannelsPerSocket channels (or the app's
//     max_channels_per_connection), 4100 (as for a full
//     presence channel), so a socket cannot hold unbounded channels and
//     its disconnect cannot fan out into unbounded webhooks; a channel
//     the socket already has is not a new one (see resubscribe);
//   - beyond Config.SubscribeRate (or the app's
//     max_subscriptions_per_second), 4301 (Pusher's rate-limit code, sent
//     only as an error, never as a close code). Duplicates count, so
//     re-acks of a large presence snapshot are bounded too.
func (c *Conn) admitSubscribe(name string) bool {
	c.subMu.Lock()
	_, already := c.subs[name]
	n := len(c.subs)
	c.subMu.Unlock()
	cfg := &c.hub.cfg
	maxChannels, perSecond := cfg.MaxChannelsPerSocket, cfg.SubscribeRate
	if v := c.app.MaxChannelsPerConnection; v > 0 {
		maxChannels = v
	}
	if v := c.app.MaxSubscriptionsPerSecond; v > 0 {
		perSecond = v
	}
	if !already && n >= maxChannels {
		c.rejectSubscription(name, protocol.CodeOverCapacity, "LimitReached",
			"The maximum number of channels per connection ("+strconv.Itoa(maxChannels)+") is reached", protocol.CodeOverCapacity)
		return false
	}
	if c.subscribes == nil {
		// Only the reading goroutine subscribes, so no lock is needed.
		c.subscribes = rate.NewLimiter(rate.Limit(perSecond), maxChannels)
	}
	if !c.checkLimit(limitSubscribe, c.subscribes.AllowN(cfg.Now(), 1)) {
		msg := "Subscription rejected due to rate limit (" + strconv.Itoa(perSecond) + " per second)"
		if already {
			// The subscription stands; a channel-scoped error would read
			// as its failure.
			c.refuse(protocol.CodeClientEventRate, msg, "")
		} else {
			c.rejectSubscription(name, protocol.CodeClientEventRate, "LimitReached", msg, protocol.CodeClientEventRate)
		}
		return false
	}
	return true
}

package hub

import (
	"golang.org/x/time/rate"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/internal/lifecycle"
)

// EventSink receives channel transitions; *lifecycle.Stream is one.
type EventSink interface {
	// Wants reports whether event name on channel is wanted, so that
	// work done only to report it can be skipped.
	Wants(app *appmanager.App, name, channel string) bool
	// Emit reports one transition (never once per socket). It must not
	// block: it is called under registry locks, so that transitions of
	// one channel are seen in the order they happened.
	Emit(app *appmanager.App, ev lifecycle.Event)
}

// emit reports a transition.
func (h *Hub) emit(app *appmanager.App, ev lifecycle.Event) {
	if h.cfg.Events != nil {
		h.cfg.Events.Emit(app, ev)
	}
}

// wants reports whether anyone wants event name on channel.
func (h *Hub) wants(app *appmanager.App, name, channel string) bool {
	return h.cfg.Events != nil && h.cfg.Events.Wants(app, name, channel)
}

// allowClientEvent applies the app's max_client_events_per_second to the
// socket, or Config.ClientEventRate when the app sets none (0 there means
// unlimited), with a token bucket of its own: a burst of up to that many
// events, refilled at that rate. It is created on the first client event,
// so sockets that send none do not pay for it, and needs no lock: only the
// socket's reading goroutine calls it.
func (c *Conn) allowClientEvent() bool {
	max := c.app.MaxClientEventsPerSecond
	if max <= 0 {
		max = c.hub.cfg.ClientEventRate
	}
	if max <= 0 {
		return true
	}
	if c.clientEvents == nil {
		c.clientEvents = rate.NewLimiter(rate.Limit(max), max)
	}
	return c.checkLimit(limitClientEvents, c.clientEvents.AllowN(c.hub.cfg.Now(), 1))
}

package lifecycle

import (
	"sync"
	"time"

	"github.com/sockudo-go/sockudo/appmanager"
)

// Event names, as in Pusher's webhooks.
const (
	ChannelOccupied   = "channel_occupied"
	ChannelVacated    = "channel_vacated"
	MemberAdded       = "member_added"
	MemberRemoved     = "member_removed"
	ClientEvent       = "client_event"
	CacheMiss         = "cache_miss"
	SubscriptionCount = "subscription_count"
)

// Event is one transition. Fields beyond Name and Channel are set only
// for the events that carry them (see the package doc).
type Event struct {
	Name              string
	Channel           string
	UserID            string
	Event             string
	Data              string
	SocketID          string
	SubscriptionCount int
}

// Consumer receives a Stream's events.
type Consumer interface {
	// Wants reports whether the consumer may want event name on channel
	// of app. It must be cheap and safe for concurrent use.
	Wants(app *appmanager.App, name, channel string) bool
	// Emit receives an event after the Stream's delay. It is called one
	// event at a time, possibly for events it does not want, and must
	// not block.
	Emit(app *appmanager.App, ev Event)
}

// Stream holds channel_vacated and member_removed for a delay, cancels
// them when the channel or member returns within it, and passes every
// event to its consumers. Its methods are safe for concurrent use.
type Stream struct {
	delay     time.Duration
	consumers []Consumer

	mu      sync.Mutex
	closed  bool
	pending map[key]*held
}

// key identifies a held channel_vacated (user empty) or member_removed.
type key struct {
	app, name, channel, user string
}

type held struct {
	app   *appmanager.App
	ev    Event
	timer *time.Timer
}

// NewStream returns a Stream that holds channel_vacated and
// member_removed for delay before passing them to consumers.
func NewStream(delay time.Duration, consumers ...Consumer) *Stream {
	return &Stream{delay: delay, consumers: consumers, pending: make(map[key]*held)}
}

// Wants reports whether a consumer may want event name on channel.
func (s *Stream) Wants(app *appmanager.App, name, channel string) bool {
	for _, c := range s.consumers {
		if c.Wants(app, name, channel) {
			return true
		}
	}
	return false
}

// wantsPair reports whether a consumer wants either half of the pair ev
// belongs to: one that wants only channel_occupied must not see it twice
// when the channel comes back within the delay.
func (s *Stream) wantsPair(app *appmanager.App, ev Event) bool {
	if ev.Name == ChannelOccupied || ev.Name == ChannelVacated {
		return s.Wants(app, ChannelOccupied, ev.Channel) || s.Wants(app, ChannelVacated, ev.Channel)
	}
	return s.Wants(app, MemberAdded, ev.Channel) || s.Wants(app, MemberRemoved, ev.Channel)
}

// keyFor returns the key of the held event that ev (either half of a
// pair) refers to.
func keyFor(appID string, ev Event) key {
	if ev.Name == ChannelOccupied || ev.Name == ChannelVacated {
		return key{app: appID, name: ChannelVacated, channel: ev.Channel}
	}
	return key{app: appID, name: MemberRemoved, channel: ev.Channel, user: ev.UserID}
}

// Emit reports a transition of app. It never blocks; it costs a few
// comparisons when no consumer wants the event. The caller must not
// modify app afterwards. Emit after Close is ignored.
func (s *Stream) Emit(app *appmanager.App, ev Event) {
	if app == nil {
		return
	}
	pair := ev.Name == ChannelOccupied || ev.Name == ChannelVacated || ev.Name == MemberAdded || ev.Name == MemberRemoved
	if pair && !s.wantsPair(app, ev) || !pair && !s.Wants(app, ev.Name, ev.Channel) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if !pair {
		s.emitLocked(app, ev)
		return
	}
	k := keyFor(app.ID, ev)
	h, isHeld := s.pending[k]
	switch {
	case ev.Name == ChannelVacated || ev.Name == MemberRemoved:
		if isHeld {
			h.timer.Stop() // a repeat restarts the delay
		}
		h = &held{app: app, ev: ev}
		h.timer = time.AfterFunc(s.delay, func() { s.release(k, h) })
		s.pending[k] = h
	case isHeld:
		// The channel or member came back within the delay.
		h.timer.Stop()
		delete(s.pending, k)
	default:
		s.emitLocked(app, ev)
	}
}

// release passes on a held event whose delay ended.
func (s *Stream) release(k key, h *held) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending[k] != h {
		return // cancelled, replaced or flushed by Close
	}
	delete(s.pending, k)
	s.emitLocked(h.app, h.ev)
}

// emitLocked passes ev to every consumer. s.mu must be held, which keeps
// the consumers' view in one order.
func (s *Stream) emitLocked(app *appmanager.App, ev Event) {
	for _, c := range s.consumers {
		c.Emit(app, ev)
	}
}

// Held returns how many events wait for their delay to end.
func (s *Stream) Held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// Close passes every held event on at once; later Emit calls are ignored.
// Call it when the server stops, before closing the consumers.
func (s *Stream) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	for k, h := range s.pending {
		h.timer.Stop()
		delete(s.pending, k)
		s.emitLocked(h.app, h.ev)
	}
}

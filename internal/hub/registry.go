package hub

import (
	"encoding/json"
	"hash/maphash"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockudo-go/sockudo/internal/protocol"
)

const shardCount = 32

// appState is one app's registry on this node. Channels are spread over
// shards so that no single lock serialises the publish path.
type appState struct {
	id     string
	seed   maphash.Seed
	conns  atomic.Int64
	shards [shardCount]channelShard

	// Counters read by Stats; added to once per event, not per byte.
	connected    atomic.Uint64
	disconnected atomic.Uint64
	received     atomic.Uint64
	delivered    atomic.Uint64
	published    atomic.Uint64
	dropped      atomic.Uint64 // messages a full queue refused (DropMessages)
	slowClosed   atomic.Uint64 // sockets closed for a full queue

	// Work counters that tests and Stats read to prove a bound.
	snapshots   atomic.Uint64 // presence snapshots encoded
	mapRebuilds atomic.Uint64 // shard maps rebuilt after a spike
	listRefused atomic.Uint64 // channel listings refused for size

	m appMetrics // labelled counters (metrics.go)

	socketsMu   sync.Mutex
	sockets     map[*Conn]struct{}
	socketsPeak int // shrinks as the shard maps do

	usersMu  sync.Mutex
	users    map[string]map[*Conn]struct{} // signed-in user id -> sockets
	watchers map[string]map[*Conn]struct{} // watched user id -> watching sockets
}

type channelShard struct {
	mu       sync.RWMutex
	channels map[string]*channel
	peak     int // most channels since the map was last built
}

// Go maps keep their peak capacity; a shard whose live size falls to
// 1/shrinkRatio of a peak of at least shrinkMinPeak is copied into a map
// sized for what is left. Each rebuild follows at least 3/4 of the peak in
// deletions, so the copies cost O(1) per deletion.
const (
	shrinkMinPeak = 1024
	shrinkRatio   = 4
)

// addLocked registers ch; the caller holds s.mu.
func (s *channelShard) addLocked(ch *channel) {
	s.channels[ch.name] = ch
	if n := len(s.channels); n > s.peak {
		s.peak = n
	}
}

// deleteLocked removes name, rebuilding the map when it has shrunk far
// below its peak; it reports whether it rebuilt. The caller holds s.mu.
func (s *channelShard) deleteLocked(name string) bool {
	delete(s.channels, name)
	var rebuilt bool
	s.channels, rebuilt = shrink(s.channels, &s.peak)
	return rebuilt
}

// shrink returns m copied into a map sized for its live entries when it
// has fallen to 1/shrinkRatio of a peak of at least shrinkMinPeak, and
// resets *peak; otherwise m itself.
func shrink[K comparable, V any](m map[K]V, peak *int) (map[K]V, bool) {
	n := len(m)
	if *peak < shrinkMinPeak || n > *peak/shrinkRatio {
		return m, false
	}
	out := make(map[K]V, n)
	for k, v := range m {
		out[k] = v
	}
	*peak = n
	return out, true
}

func newAppState(id string, seed maphash.Seed) *appState {
	a := &appState{
		id:       id,
		seed:     seed,
		sockets:  make(map[*Conn]struct{}),
		users:    make(map[string]map[*Conn]struct{}),
		watchers: make(map[string]map[*Conn]struct{}),
	}
	for i := range a.shards {
		a.shards[i].channels = make(map[string]*channel)
	}
	return a
}

// deleteChannelLocked removes a channel from its shard s (locked by the
// caller), counting a rebuild of the shard's map.
func (a *appState) deleteChannelLocked(s *channelShard, name string) {
	if ch := s.channels[name]; ch != nil {
		a.m.active[chanType(ch.kind)].Add(-1)
	}
	if s.deleteLocked(name) {
		a.mapRebuilds.Add(1)
	}
}

func (a *appState) shard(name string) *channelShard {
	return &a.shards[maphash.String(a.seed, name)%shardCount]
}

// channel returns the channel if it exists (has subscribers).
func (a *appState) channel(name string) *channel {
	s := a.shard(name)
	s.mu.RLock()
	ch := s.channels[name]
	s.mu.RUnlock()
	return ch
}

func (a *appState) addSocket(c *Conn) {
	a.socketsMu.Lock()
	a.sockets[c] = struct{}{}
	a.socketsPeak = max(a.socketsPeak, len(a.sockets))
	a.socketsMu.Unlock()
}

func (a *appState) removeSocket(c *Conn) {
	a.socketsMu.Lock()
	delete(a.sockets, c)
	var rebuilt bool
	if a.sockets, rebuilt = shrink(a.sockets, &a.socketsPeak); rebuilt {
		a.mapRebuilds.Add(1)
	}
	a.socketsMu.Unlock()
}

func (a *appState) allConns() []*Conn {
	a.socketsMu.Lock()
	defer a.socketsMu.Unlock()
	out := make([]*Conn, 0, len(a.sockets))
	for c := range a.sockets {
		out = append(out, c)
	}
	return out
}

// channelNames returns the occupied channels with the given prefix, at
// most limit of them; more reports that there were more, so a listing
// never allocates for more than limit+1 channels.
func (a *appState) channelNames(prefix string, limit int) (out []*channel, more bool) {
	for i := range a.shards {
		s := &a.shards[i]
		s.mu.RLock()
		for name, ch := range s.channels {
			if !strings.HasPrefix(name, prefix) {
				continue
			}
			if len(out) == limit {
				s.mu.RUnlock()
				return out, true
			}
			out = append(out, ch)
		}
		s.mu.RUnlock()
	}
	return out, false
}

// channel is one occupied channel.
type channel struct {
	name string
	kind protocol.Channel

	mu      sync.RWMutex
	subs    map[*Conn]struct{}
	members map[string]*member // presence only
	// succeeded is the encoded pusher_internal:subscription_succeeded of a
	// presence channel, shared by every subscriber until the member list
	// changes (nil: encode it again). Guarded by mu.
	succeeded []byte

	// Subscription count events are throttled on large channels.
	countMu       sync.Mutex
	countLastSent time.Time
	countPending  bool
}

type member struct {
	sockets int
	info    json.RawMessage
}

// subscribers returns the number of sockets subscribed.
func (ch *channel) subscribers() int {
	ch.mu.RLock()
	defer ch.mu.RUnlock()
	return len(ch.subs)
}

// userCount returns the number of distinct presence users.
func (ch *channel) userCount() int {
	ch.mu.RLock()
	defer ch.mu.RUnlock()
	return len(ch.members)
}

// userIDs returns the presence user ids, sorted.
func (ch *channel) userIDs() []string {
	ch.mu.RLock()
	ids := make([]string, 0, len(ch.members))
	for id := range ch.members {
		ids = append(ids, id)
	}
	ch.mu.RUnlock()
	sort.Strings(ids)
	return ids
}

// broadcast queues frame to every subscriber but except and returns how
// many took it. The lock is held only to enqueue, which never blocks.
func (ch *channel) broadcast(frame []byte, except *Conn) int {
	n := 0
	ch.mu.RLock()
	for c := range ch.subs {
		if c != except && c.send(frame) {
			n++
		}
	}
	ch.mu.RUnlock()
	return n
}

// presenceSucceededLocked returns the presence channel's
// subscription_succeeded frame, encoding it only when the member list has
// changed since it was last encoded. The caller holds ch.mu for writing.
func (ch *channel) presenceSucceededLocked(a *appState) []byte {
	if ch.succeeded == nil {
		ch.succeeded = protocol.Event(protocol.EventSubscriptionSucceeded, ch.name, ch.presenceDataLocked(), "")
		a.snapshots.Add(1)
	}
	return ch.succeeded
}

// presenceData encodes {"presence":{"ids":[...],"hash":{...},"count":n}}.
// The caller holds ch.mu.
func (ch *channel) presenceDataLocked() string {
	ids := make([]string, 0, len(ch.members))
	for id := range ch.members {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	buf := make([]byte, 0, 64+len(ids)*48)
	buf = append(buf, `{"presence":{"ids":[`...)
	for i, id := range ids {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = protocol.AppendString(buf, id)
	}
	buf = append(buf, `],"hash":{`...)
	for i, id := range ids {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = protocol.AppendString(buf, id)
		buf = append(buf, ':')
		if info := ch.members[id].info; len(info) > 0 {
			buf = append(buf, info...)
		} else {
			buf = append(buf, "null"...)
		}
	}
	buf = append(buf, `},"count":`...)
	buf = strconv.AppendInt(buf, int64(len(ids)), 10)
	buf = append(buf, "}}"...)
	return string(buf)
}

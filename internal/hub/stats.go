package hub

// Stats is a snapshot of one app's registry and counters on this node.
type Stats struct {
	Connections  int
	Channels     int
	Users        int
	Connected    uint64
	Disconnected uint64
	Received     uint64
	Delivered    uint64
	Published    uint64
	Dropped      uint64
	SlowClosed   uint64
	// Work counters that show a bound holds: presence snapshots encoded,
	// shard maps rebuilt after a spike, channel listings refused for size.
	PresenceSnapshots uint64
	MapRebuilds       uint64
	ListingsRefused   uint64
}

// AppStats returns a snapshot for the app with the given id.
func (h *Hub) AppStats(appID string) Stats {
	a := h.lookupApp(appID)
	if a == nil {
		return Stats{}
	}
	st := Stats{
		Connections:  int(a.conns.Load()),
		Connected:    a.connected.Load(),
		Disconnected: a.disconnected.Load(),
		Received:     a.received.Load(),
		Delivered:    a.delivered.Load(),
		Published:    a.published.Load(),
		Dropped:      a.dropped.Load(),
		SlowClosed:   a.slowClosed.Load(),

		PresenceSnapshots: a.snapshots.Load(),
		MapRebuilds:       a.mapRebuilds.Load(),
		ListingsRefused:   a.listRefused.Load(),
	}
	for i := range a.shards {
		s := &a.shards[i]
		s.mu.RLock()
		st.Channels += len(s.channels)
		s.mu.RUnlock()
	}
	a.usersMu.Lock()
	st.Users = len(a.users)
	a.usersMu.Unlock()
	return st
}

// AppIDs lists the apps that have had sockets on this node.
func (h *Hub) AppIDs() []string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	ids := make([]string, 0, len(h.apps))
	for id := range h.apps {
		ids = append(ids, id)
	}
	return ids
}

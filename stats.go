package sockudo

// Stats is a snapshot of a server's counters and gauges, cheap to take:
// the server keeps them as atomics and a metrics exporter reads them at
// scrape time.
type Stats struct {
	// Connections is the number of open sockets.
	Connections int
	// Apps holds per-app figures for every app that has had a socket.
	Apps map[string]AppStats
	// RateLimiterErrors counts rate limit decisions the limiter's backend
	// could not make, answered by the fail-open or fail-closed policy.
	RateLimiterErrors uint64
}

// AppStats are one app's figures on this server.
type AppStats struct {
	// Connections, Channels and Users are gauges: open sockets, occupied
	// channels and signed-in users.
	Connections, Channels, Users int
	// The rest are counters since the server started: sockets opened and
	// closed, client messages received, messages queued to sockets, and
	// events published through the HTTP or Go API.
	Connected, Disconnected, MessagesReceived, MessagesDelivered, EventsPublished uint64
	// MessagesDropped counts messages refused by full outbound queues
	// (DropMessages policy); SlowConsumersClosed counts sockets closed
	// with 4100 for a full queue (CloseSlowConsumer policy).
	MessagesDropped, SlowConsumersClosed uint64
}

// Stats returns a snapshot of the server's figures.
func (s *Server) Stats() Stats {
	st := Stats{Connections: s.hub.Connections(), Apps: make(map[string]AppStats)}
	st.RateLimiterErrors = s.limiter.Stats().Errors
	for _, id := range s.hub.AppIDs() {
		a := s.hub.AppStats(id)
		st.Apps[id] = AppStats{
			Connections: a.Connections, Channels: a.Channels, Users: a.Users,
			Connected: a.Connected, Disconnected: a.Disconnected,
			MessagesReceived: a.Received, MessagesDelivered: a.Delivered, EventsPublished: a.Published,
			MessagesDropped: a.Dropped, SlowConsumersClosed: a.SlowClosed,
		}
	}
	return st
}

package memory

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/sockudo-go/sockudo/transport"
)

// store is the shared state; every field is guarded by Cluster.mu. Wipe
// replaces it with an empty one of a new epoch.
type store struct {
	epoch    uint64
	leases   map[string]time.Time // incarnation -> lease expiry
	dead     map[string]struct{}  // reaped incarnations (tombstones)
	channels map[chanKey]*chanRec
	users    map[userKey]*countRec
	apps     map[string]*countRec
	vers     map[verKey]uint64
	held     map[chanKey]struct{} // channels with a pending hold
}

func newStore(epoch uint64) *store {
	return &store{
		epoch:    epoch,
		leases:   make(map[string]time.Time),
		dead:     make(map[string]struct{}),
		channels: make(map[chanKey]*chanRec),
		users:    make(map[userKey]*countRec),
		apps:     make(map[string]*countRec),
		vers:     make(map[verKey]uint64),
		held:     make(map[chanKey]struct{}),
	}
}

type chanKey struct{ app, name string }

type userKey struct{ app, user string }

// verKey names one key written by one incarnation: kind 'c' channel
// (name = channel), 'u' user (name = user id), 'a' app connections.
type verKey struct {
	inc       string
	kind      byte
	app, name string
}

// chanRec is one channel: per-incarnation subscriber counts, members
// with per-incarnation socket counts, the sequence and pending holds.
// Records stay when a channel empties, so its sequence keeps growing
// (the store is for tests and examples, not for millions of channels).
type chanRec struct {
	subs      map[string]int // incarnation -> local subscribers (> 0 only)
	total     int
	members   map[string]*memberRec // users with sockets
	seq       uint64
	vacateDue time.Time       // zero: no vacate hold
	vacateSeq uint64          // seq of the ChannelVacated held
	removeDue map[string]hold // user -> member_removed hold
}

// hold is a pending member_removed: when it runs out and the seq of the
// MemberRemoved it confirms.
type hold struct {
	at  time.Time
	seq uint64
}

type memberRec struct {
	byInc map[string]int
	total int
	info  json.RawMessage
}

// countRec is a total of per-incarnation counts (signed-in sockets of a
// user, connections of an app).
type countRec struct {
	byInc map[string]int
	total int
}

func (r *countRec) set(inc string, n int) (before, after int) {
	before = r.total
	r.total += n - r.byInc[inc]
	if n > 0 {
		r.byInc[inc] = n
	} else {
		delete(r.byInc, inc)
	}
	return before, r.total
}

func (s *store) channel(k chanKey) *chanRec {
	rec := s.channels[k]
	if rec == nil {
		rec = &chanRec{subs: make(map[string]int), members: make(map[string]*memberRec), removeDue: make(map[string]hold)}
		s.channels[k] = rec
	}
	return rec
}

// fresh reports whether version v of k is newer than the last applied,
// recording it if so.
func (s *store) fresh(k verKey, v uint64) bool {
	if v <= s.vers[k] {
		return false
	}
	s.vers[k] = v
	return true
}

// setChannel sets inc's subscribers of channel k and the sockets of the
// users in members on it, returning the transitions. quiet (Restore)
// reports none and starts no hold. hold < 0 confirms removals at once.
func (s *store) setChannel(k chanKey, inc string, subs int, members map[string]int, info json.RawMessage, holdFor time.Duration, now time.Time, quiet bool) []transport.Transition {
	rec := s.channel(k)
	var out []transport.Transition
	emit := func(tr transport.Transition) {
		if quiet {
			return
		}
		tr.App, tr.Channel = k.app, k.name
		// A confirmation at once carries the seq of its removal.
		if tr.Kind != transport.VacateConfirmed && tr.Kind != transport.RemovalConfirmed {
			rec.seq++
		}
		tr.Seq = rec.seq
		out = append(out, tr)
	}

	before := rec.total
	rec.total += subs - rec.subs[inc]
	if subs > 0 {
		rec.subs[inc] = subs
	} else {
		delete(rec.subs, inc)
	}
	if before == 0 && rec.total > 0 {
		resumed := !rec.vacateDue.IsZero()
		rec.vacateDue = time.Time{}
		emit(transport.Transition{Kind: transport.ChannelOccupied, Resumed: resumed})
	}

	users := make([]string, 0, len(members))
	for u := range members {
		users = append(users, u)
	}
	slices.Sort(users)
	for _, u := range users {
		n := members[u]
		m := rec.members[u]
		if m == nil {
			if n == 0 {
				continue
			}
			m = &memberRec{byInc: make(map[string]int), info: info}
			rec.members[u] = m
		}
		mb := m.total
		m.total += n - m.byInc[inc]
		if n > 0 {
			m.byInc[inc] = n
		} else {
			delete(m.byInc, inc)
		}
		switch {
		case mb == 0 && m.total > 0:
			_, resumed := rec.removeDue[u]
			delete(rec.removeDue, u)
			emit(transport.Transition{Kind: transport.MemberAdded, UserID: u, Info: m.info, Resumed: resumed})
		case mb > 0 && m.total == 0:
			delete(rec.members, u)
			emit(transport.Transition{Kind: transport.MemberRemoved, UserID: u})
			switch {
			case quiet:
			case holdFor < 0:
				emit(transport.Transition{Kind: transport.RemovalConfirmed, UserID: u})
			default:
				rec.removeDue[u] = hold{now.Add(holdFor), rec.seq}
				s.held[k] = struct{}{}
			}
		case m.total == 0:
			delete(rec.members, u)
		}
	}

	if before > 0 && rec.total == 0 {
		emit(transport.Transition{Kind: transport.ChannelVacated})
		switch {
		case quiet:
		case holdFor < 0:
			emit(transport.Transition{Kind: transport.VacateConfirmed})
		default:
			rec.vacateDue, rec.vacateSeq = now.Add(holdFor), rec.seq
			s.held[k] = struct{}{}
		}
	}
	return out
}

// setUser sets inc's signed-in sockets of a user.
func (s *store) setUser(k userKey, inc string, n int, quiet bool) (int, []transport.Transition) {
	rec := s.users[k]
	if rec == nil {
		rec = &countRec{byInc: make(map[string]int)}
		s.users[k] = rec
	}
	before, after := rec.set(inc, n)
	if after == 0 {
		delete(s.users, k)
	}
	if quiet {
		return after, nil
	}
	switch {
	case before == 0 && after > 0:
		return after, []transport.Transition{{Kind: transport.UserOnline, App: k.app, UserID: k.user}}
	case before > 0 && after == 0:
		return after, []transport.Transition{{Kind: transport.UserOffline, App: k.app, UserID: k.user}}
	}
	return after, nil
}

// setConns sets inc's connections of app.
func (s *store) setConns(app, inc string, n int) int {
	rec := s.apps[app]
	if rec == nil {
		rec = &countRec{byInc: make(map[string]int)}
		s.apps[app] = rec
	}
	_, after := rec.set(inc, n)
	if after == 0 {
		delete(s.apps, app)
	}
	return after
}

// remove takes every contribution of inc out of the store through the
// usual transitions (quiet: none), as reaping and Deregister do.
func (s *store) remove(inc string, hold time.Duration, now time.Time, quiet bool) []transport.Transition {
	var out []transport.Transition
	keys := make([]chanKey, 0)
	for k, rec := range s.channels {
		if rec.subs[inc] > 0 {
			keys = append(keys, k)
			continue
		}
		for _, m := range rec.members {
			if m.byInc[inc] > 0 {
				keys = append(keys, k)
				break
			}
		}
	}
	slices.SortFunc(keys, func(a, b chanKey) int {
		if c := strings.Compare(a.app, b.app); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	for _, k := range keys {
		rec := s.channels[k]
		members := make(map[string]int)
		for u, m := range rec.members {
			if m.byInc[inc] > 0 {
				members[u] = 0
			}
		}
		out = append(out, s.setChannel(k, inc, 0, members, nil, hold, now, quiet)...)
	}
	ukeys := make([]userKey, 0)
	for k, rec := range s.users {
		if rec.byInc[inc] > 0 {
			ukeys = append(ukeys, k)
		}
	}
	slices.SortFunc(ukeys, func(a, b userKey) int {
		if c := strings.Compare(a.app, b.app); c != 0 {
			return c
		}
		return strings.Compare(a.user, b.user)
	})
	for _, k := range ukeys {
		_, trs := s.setUser(k, inc, 0, quiet)
		out = append(out, trs...)
	}
	for app, rec := range s.apps {
		if rec.byInc[inc] > 0 {
			s.setConns(app, inc, 0)
		}
	}
	for k := range s.vers {
		if k.inc == inc {
			delete(s.vers, k)
		}
	}
	return out
}

// due confirms the holds that ran out by now; the caller's node reports
// them, so each is confirmed exactly once.
func (s *store) due(now time.Time) []transport.Transition {
	var out []transport.Transition
	for k := range s.held {
		rec := s.channels[k]
		if rec == nil {
			delete(s.held, k)
			continue
		}
		var users []string
		for u, h := range rec.removeDue {
			if !now.Before(h.at) {
				users = append(users, u)
			}
		}
		slices.Sort(users)
		for _, u := range users {
			seq := rec.removeDue[u].seq
			delete(rec.removeDue, u)
			out = append(out, transport.Transition{Kind: transport.RemovalConfirmed, App: k.app, Channel: k.name, UserID: u, Seq: seq})
		}
		if !rec.vacateDue.IsZero() && !now.Before(rec.vacateDue) {
			rec.vacateDue = time.Time{}
			out = append(out, transport.Transition{Kind: transport.VacateConfirmed, App: k.app, Channel: k.name, Seq: rec.vacateSeq})
		}
		if rec.vacateDue.IsZero() && len(rec.removeDue) == 0 {
			delete(s.held, k)
		}
	}
	return out
}

func (s *store) info(k chanKey) transport.ChannelInfo {
	ci := transport.ChannelInfo{Name: k.name}
	if rec := s.channels[k]; rec != nil {
		ci.Subscribers, ci.Users = rec.total, len(rec.members)
	}
	return ci
}

func (s *store) members(k chanKey) transport.Members {
	rec := s.channels[k]
	if rec == nil {
		return transport.Members{}
	}
	ms := transport.Members{Seq: rec.seq, Users: make([]transport.Member, 0, len(rec.members))}
	for u, m := range rec.members {
		ms.Users = append(ms.Users, transport.Member{ID: u, Info: bytes.Clone(m.info)})
	}
	slices.SortFunc(ms.Users, func(a, b transport.Member) int { return strings.Compare(a.ID, b.ID) })
	return ms
}

package hub

import (
	"encoding/json"
	"strings"

	"github.com/sockudo-go/sockudo/internal/auth"
	"github.com/sockudo-go/sockudo/internal/protocol"
)

// userData is the signed user_data of pusher:signin.
type userData struct {
	ID        json.RawMessage `json:"id"`
	Watchlist []string        `json:"watchlist"`
}

func (c *Conn) handleSignin(m *protocol.Message) {
	var d protocol.SigninData
	if err := m.DecodeData(&d); err != nil {
		c.sendError(protocol.CodeInvalidMessage, "Invalid pusher:signin data: "+err.Error(), "")
		return
	}
	raw := string(d.UserData)
	if err := auth.VerifyToken(d.Auth, c.app.Key, c.app.Secret, auth.UserString(c.id, raw)); err != nil {
		c.countError(errAuth)
		c.refuseSignin("Invalid signature: " + err.Error())
		return
	}
	var ud userData
	if err := json.Unmarshal([]byte(raw), &ud); err != nil {
		c.refuseSignin("user_data is not a JSON object")
		return
	}
	var id string
	if len(ud.ID) == 0 || ud.ID[0] != '"' || json.Unmarshal(ud.ID, &id) != nil || id == "" {
		c.refuseSignin("user_data.id must be a non-empty string")
		return
	}
	c.subMu.Lock()
	current := c.userID
	c.subMu.Unlock()
	if current != "" && current != id {
		c.refuseSignin("Already signed in as another user")
		return
	}
	watch := ud.Watchlist
	overflow := false
	if !c.app.EnableWatchlistEvents {
		watch = nil
	} else if len(watch) > maxWatchlist {
		watch, overflow = watch[:maxWatchlist], true
	}
	c.hub.signIn(c, id, raw, watch)
	if overflow {
		c.sendError(protocol.CodeWatchlistLimit, "Watchlist limit exceeded; only the first 100 user IDs are accepted", "")
	}
}

// signIn registers c as user id, tells the user's watchers when this is
// its first socket, and sends c the state of its own watchlist.
func (h *Hub) signIn(c *Conn, id, raw string, watch []string) {
	a := c.state
	success := protocol.Event(protocol.EventSigninSuccess, "", `{"user_data":`+string(protocol.AppendString(nil, raw))+`}`, "")

	a.usersMu.Lock()
	c.subMu.Lock()
	c.userID = id
	oldWatch := c.watchlist
	c.watchlist = watch
	c.subMu.Unlock()
	if c.authTime != nil {
		c.authTime.Stop()
	}
	for _, w := range oldWatch {
		removeFrom(a.watchers, w, c)
	}
	socks := a.users[id]
	online := len(socks) == 0
	if socks == nil {
		socks = make(map[*Conn]struct{}, 1)
		a.users[id] = socks
	}
	socks[c] = struct{}{}
	// Answer before any watchlist event so the client knows who it is.
	c.send(success)
	var on, off []string
	for _, w := range watch {
		addTo(a.watchers, w, c)
		if len(a.users[w]) > 0 {
			on = append(on, w)
		} else {
			off = append(off, w)
		}
	}
	if len(watch) > 0 {
		c.send(protocol.Watchlist(on, off))
	}
	if online {
		notifyWatchers(a, id, "online")
	}
	a.usersMu.Unlock()
}

// signOut removes a closing socket from the user and watcher registries.
func (h *Hub) signOut(c *Conn) {
	c.subMu.Lock()
	id, watch := c.userID, c.watchlist
	c.subMu.Unlock()
	if id == "" && len(watch) == 0 {
		return
	}
	a := c.state
	a.usersMu.Lock()
	defer a.usersMu.Unlock()
	for _, w := range watch {
		removeFrom(a.watchers, w, c)
	}
	if id == "" {
		return
	}
	if removeFrom(a.users, id, c) {
		notifyWatchers(a, id, "offline")
	}
}

// notifyWatchers sends an online/offline watchlist event about id to its
// watchers. The caller holds usersMu.
func notifyWatchers(a *appState, id, status string) {
	ws := a.watchers[id]
	if len(ws) == 0 {
		return
	}
	var frame []byte
	if status == "online" {
		frame = protocol.Watchlist([]string{id}, nil)
	} else {
		frame = protocol.Watchlist(nil, []string{id})
	}
	for w := range ws {
		w.send(frame)
	}
}

// addTo and removeFrom maintain a map of sets; removeFrom reports whether
// the set became empty.
func addTo(m map[string]map[*Conn]struct{}, k string, c *Conn) {
	s := m[k]
	if s == nil {
		s = make(map[*Conn]struct{}, 1)
		m[k] = s
	}
	s[c] = struct{}{}
}

func removeFrom(m map[string]map[*Conn]struct{}, k string, c *Conn) bool {
	s, ok := m[k]
	if !ok {
		return false
	}
	if _, in := s[c]; !in {
		return false
	}
	delete(s, c)
	if len(s) == 0 {
		delete(m, k)
		return true
	}
	return false
}

// subscribeServerToUser acknowledges pusher-js's subscription to
// #server-to-user-{id}. Delivery goes by signed-in user, not by this
// subscription, so the channel is not registered.
func (c *Conn) subscribeServerToUser(name string) {
	id := strings.TrimPrefix(name, protocol.PrefixServerToUser)
	c.subMu.Lock()
	me := c.userID
	c.subMu.Unlock()
	if me == "" || me != id {
		c.rejectSubscription(name, protocol.CodeUnauthorized, "AuthError", "Sign in as this user to subscribe to "+name, 401)
		return
	}
	c.send(protocol.Event(protocol.EventSubscriptionSucceeded, name, "{}", ""))
}

// userConns returns the signed-in sockets of a user.
func (a *appState) userConns(id string) []*Conn {
	a.usersMu.Lock()
	defer a.usersMu.Unlock()
	s := a.users[id]
	out := make([]*Conn, 0, len(s))
	for c := range s {
		out = append(out, c)
	}
	return out
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	pusher "github.com/pusher/pusher-http-go/v5"

	"github.com/sockudo-go/sockudo"
)

// modeSoak runs the churn of the soak scenario in the client process.
const modeSoak = "soak"

// soakEvent is the event the soak publisher triggers.
const soakEvent = "soak"

// soakSpec configures the soak client.
type soakSpec struct {
	// Duration is the churn time; Life the longest session (each lasts a
	// random time in [Life/4, Life]).
	Duration time.Duration `json:"duration"`
	Life     time.Duration `json:"life"`
	// Rate is HTTP API publishes per second over all channels; Channels
	// the number of channels of each kind (public, private, presence).
	Rate     int `json:"rate"`
	Channels int `json:"channels"`
	// API is the HTTP API's host:port; the app's credentials sign the
	// requests and the private and presence subscriptions.
	API    string `json:"api"`
	AppID  string `json:"app_id"`
	Key    string `json:"key"`
	Secret string `json:"secret"`
	Seed   uint64 `json:"seed"`
}

// soakCounts are the soak client's figures.
type soakCounts struct {
	// Sessions: sockets through connection_established, dials that failed,
	// and how sessions ended: closed without a close frame (abrupt; hasty
	// ones right after sending their subscribes), with a close handshake
	// (clean), or by the server.
	Connects      int64 `json:"connects"`
	ConnectErrors int64 `json:"connect_errors"`
	Abrupt        int64 `json:"abrupt"`
	Hasty         int64 `json:"hasty"`
	Clean         int64 `json:"clean"`
	ServerCloses  int64 `json:"server_closes"`
	// Subscriptions confirmed, refused or never confirmed, and
	// unsubscribes sent before a close.
	Subscribed      int64 `json:"subscribed"`
	SubscribeErrors int64 `json:"subscribe_errors"`
	Unsubscribes    int64 `json:"unsubscribes"`
	// Sign-ins sent and confirmed; pusher:error frames received.
	Signins      int64 `json:"signins"`
	SignedIn     int64 `json:"signed_in"`
	ServerErrors int64 `json:"server_errors"`
	// Publishes accepted and refused by the HTTP API.
	Publishes     int64 `json:"publishes"`
	PublishErrors int64 `json:"publish_errors"`
	// Received counts the soak events delivered; Lost the events a
	// subscribed socket should have received and did not; Duplicates the
	// events delivered twice or out of order.
	Received   int64 `json:"received"`
	Lost       int64 `json:"lost"`
	Duplicates int64 `json:"duplicates"`
	// Drained counts the sessions open at the end that waited for the
	// last publish of each of their channels.
	Drained int64 `json:"drained"`
}

// add adds o's figures to c.
func (c *soakCounts) add(o *soakCounts) {
	for _, p := range [][2]*int64{
		{&c.Connects, &o.Connects}, {&c.ConnectErrors, &o.ConnectErrors}, {&c.Abrupt, &o.Abrupt},
		{&c.Hasty, &o.Hasty}, {&c.Clean, &o.Clean}, {&c.ServerCloses, &o.ServerCloses},
		{&c.Subscribed, &o.Subscribed}, {&c.SubscribeErrors, &o.SubscribeErrors}, {&c.Unsubscribes, &o.Unsubscribes},
		{&c.Signins, &o.Signins}, {&c.SignedIn, &o.SignedIn}, {&c.ServerErrors, &o.ServerErrors},
		{&c.Publishes, &o.Publishes}, {&c.PublishErrors, &o.PublishErrors},
		{&c.Received, &o.Received}, {&c.Lost, &o.Lost}, {&c.Duplicates, &o.Duplicates}, {&c.Drained, &o.Drained},
	} {
		*p[0] += *p[1]
	}
}

// feed is one channel's publisher state. Sequence numbers are taken
// before the request is sent, so a socket that holds a subscription
// confirmation when next reads s must receive every event numbered s or
// more for as long as it stays subscribed.
type feed struct {
	name  string
	next  atomic.Int64
	final atomic.Int64 // the last publish's number, set before it is sent; -1 until then
}

// soaker runs the churn.
type soaker struct {
	spec  soakSpec
	url   string
	users int // presence user ids
	feeds []*feed
	api   *pusher.Client
	// finalSent is closed once the last publish of every feed has been
	// answered.
	finalSent chan struct{}

	mu    sync.Mutex
	total soakCounts
}

func (c *client) soak(ctx context.Context) error {
	sp := c.spec.Soak
	if sp == nil || sp.Duration <= 0 || sp.Life <= 0 || sp.Rate < 1 || sp.Channels < 1 || sp.API == "" {
		return fmt.Errorf("soak spec: bad values %+v", sp)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 3 * sp.Channels}
	defer tr.CloseIdleConnections()
	s := &soaker{
		spec:      *sp,
		url:       c.spec.URL,
		users:     max(1, c.spec.Conns/2),
		api:       &pusher.Client{AppID: sp.AppID, Key: sp.Key, Secret: sp.Secret, Host: sp.API, HTTPClient: &http.Client{Timeout: 10 * time.Second, Transport: tr}},
		finalSent: make(chan struct{}),
	}
	for _, prefix := range []string{"soak-", "private-soak-", "presence-soak-"} {
		for i := range sp.Channels {
			f := &feed{name: prefix + strconv.Itoa(i)}
			f.final.Store(-1)
			s.feeds = append(s.feeds, f)
		}
	}
	churn, stop := context.WithTimeout(ctx, sp.Duration)
	defer stop()

	var pubs sync.WaitGroup
	interval := time.Duration(int64(time.Second) * int64(len(s.feeds)) / int64(sp.Rate))
	for i, f := range s.feeds {
		// Spread the feeds over the interval rather than publish in bursts.
		offset := interval * time.Duration(i) / time.Duration(len(s.feeds))
		pubs.Go(func() { s.publish(churn, f, offset, interval) })
	}
	var sessions sync.WaitGroup
	for i := range c.spec.Conns {
		sessions.Go(func() { s.churn(ctx, churn, rand.New(rand.NewPCG(sp.Seed, uint64(i)))) })
	}
	pubs.Wait()
	// The last publish of every feed, which the sessions still open wait
	// for before they close.
	for _, f := range s.feeds {
		seq := f.next.Add(1) - 1
		f.final.Store(seq)
		s.trigger(f, seq)
	}
	close(s.finalSent)
	sessions.Wait()
	tr.CloseIdleConnections()
	s.mu.Lock()
	total := s.total
	s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("soak: %w", err)
	}
	return c.report(clientReport{Phase: phaseResult, Conns: c.spec.Conns, Soak: &total})
}

// publish triggers an event on f every interval until ctx ends.
func (s *soaker) publish(ctx context.Context, f *feed, offset, interval time.Duration) {
	select {
	case <-time.After(offset):
	case <-ctx.Done():
		return
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		s.trigger(f, f.next.Add(1)-1)
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

func (s *soaker) trigger(f *feed, seq int64) {
	data := `{"seq":` + strconv.FormatInt(seq, 10) + `,"pad":"` + tickPad + `"}`
	err := s.api.Trigger(f.name, soakEvent, data)
	s.mu.Lock()
	if err != nil {
		s.total.PublishErrors++
	} else {
		s.total.Publishes++
	}
	s.mu.Unlock()
}

// churn runs sessions one after the other until churn ends.
func (s *soaker) churn(ctx, churn context.Context, rng *rand.Rand) {
	for churn.Err() == nil {
		var n soakCounts
		if !s.session(ctx, churn, rng, &n) {
			// The dial failed: do not spin.
			select {
			case <-time.After(100 * time.Millisecond):
			case <-churn.Done():
			}
		}
		s.mu.Lock()
		s.total.add(&n)
		s.mu.Unlock()
	}
}

// subState is one channel of a session.
type subState struct {
	feed *feed
	// floor is next of the feed when the confirmation arrived, -1 before.
	floor, next int64
	// gone: unsubscribed; refused: the server refused the subscription.
	gone, refused bool
}

// session is one socket's state, shared by its reader and its owner.
type session struct {
	mu   sync.Mutex
	subs map[string]*subState
	n    *soakCounts
}

// drained reports whether every live subscription has received the last
// publish of its feed (or was confirmed after it was taken).
func (ss *session) drained() bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for _, st := range ss.subs {
		if st.gone || st.refused {
			continue
		}
		if st.floor < 0 || st.next <= st.feed.final.Load() {
			return false
		}
	}
	return true
}

// settleDrain counts what the sessions still open at the end missed.
func (ss *session) settleDrain() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for _, st := range ss.subs {
		switch {
		case st.gone || st.refused:
		case st.floor < 0:
			ss.n.SubscribeErrors++ // never confirmed
		default:
			if missed := st.feed.final.Load() + 1 - st.next; missed > 0 {
				ss.n.Lost += missed
			}
		}
	}
}

// soakFrame is the part of a server frame the reader looks at.
type soakFrame struct {
	Event   string `json:"event"`
	Channel string `json:"channel"`
}

// read handles the server's frames until the socket ends.
func (ss *session) read(ws *websocket.Conn) {
	for {
		_, msg, err := ws.Read(context.Background())
		if err != nil {
			return
		}
		var f soakFrame
		if json.Unmarshal(msg, &f) != nil {
			continue
		}
		switch f.Event {
		case "pusher:ping":
			_ = ws.Write(context.Background(), websocket.MessageText, pongFrame)
		case "pusher_internal:subscription_succeeded":
			ss.mu.Lock()
			if st := ss.subs[f.Channel]; st != nil && st.floor < 0 {
				st.floor = st.feed.next.Load()
				st.next = st.floor
				ss.n.Subscribed++
			}
			ss.mu.Unlock()
		case "pusher:signin_success":
			ss.mu.Lock()
			ss.n.SignedIn++
			ss.mu.Unlock()
		case "pusher:error":
			ss.mu.Lock()
			ss.n.ServerErrors++
			ss.mu.Unlock()
		case "pusher:subscription_error":
			ss.mu.Lock()
			if st := ss.subs[f.Channel]; st != nil {
				st.refused = true
			}
			ss.n.SubscribeErrors++
			ss.mu.Unlock()
		case soakEvent:
			seq, ok := intAfter(msg, `"seq`)
			ss.mu.Lock()
			ss.n.Received++
			if st := ss.subs[f.Channel]; ok && st != nil && !st.gone && st.floor >= 0 && seq >= st.floor {
				switch {
				case seq < st.next:
					ss.n.Duplicates++
				default:
					ss.n.Lost += seq - st.next
					st.next = seq + 1
				}
			}
			ss.mu.Unlock()
		}
	}
}

// session runs one socket: connect, subscribe to a public, a private and
// a presence channel, receive for a random life, then leave abruptly or
// cleanly. When churn ends first, it waits (bounded) for the last
// publish of its channels before it leaves. It returns false when the
// dial failed.
func (s *soaker) session(ctx, churn context.Context, rng *rand.Rand, n *soakCounts) bool {
	hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	ws, _, err := websocket.Dial(hctx, s.url, nil)
	if err != nil {
		n.ConnectErrors++
		return false
	}
	socketID, err := readEstablished(hctx, ws)
	if err != nil {
		ws.CloseNow()
		n.ConnectErrors++
		return false
	}
	n.Connects++
	k := s.spec.Channels
	chans := []*feed{s.feeds[rng.IntN(k)], s.feeds[k+rng.IntN(k)], s.feeds[2*k+rng.IntN(k)]}
	ss := &session{subs: make(map[string]*subState, len(chans)), n: n}
	for _, f := range chans {
		ss.subs[f.name] = &subState{feed: f, floor: -1}
	}
	// A user per two pool slots: users often hold several sockets at
	// once, and a presence member stays while one of its sockets does.
	user := "u" + strconv.Itoa(rng.IntN(s.users))
	done := make(chan struct{})
	go func() {
		defer close(done)
		ss.read(ws)
	}()
	frames := make([][]byte, 0, len(chans)+1)
	if rng.IntN(2) == 0 {
		// Half the sessions sign in, as the presence user, watching two
		// other users: the server's user and watchlist maps churn too.
		watch := []string{"u" + strconv.Itoa(rng.IntN(s.users)), "u" + strconv.Itoa(rng.IntN(s.users))}
		frame, err := signinFrame(s.spec.Key, s.spec.Secret, socketID, sockudo.User{ID: user, Watchlist: watch})
		if err != nil {
			ws.CloseNow()
			<-done
			n.ServerErrors++
			return true
		}
		frames = append(frames, frame)
		n.Signins++
	}
	for _, f := range chans {
		frame, err := s.subscribeFrame(socketID, f.name, user)
		if err != nil {
			ws.CloseNow()
			<-done
			n.ServerErrors++
			return true
		}
		frames = append(frames, frame)
	}
	for _, frame := range frames {
		if err := ws.Write(hctx, websocket.MessageText, frame); err != nil {
			ws.CloseNow()
			<-done
			n.ServerCloses++
			return true
		}
	}
	if rng.IntN(10) == 0 {
		// Gone before the server has answered the subscribes.
		ws.CloseNow()
		<-done
		n.Abrupt++
		n.Hasty++
		ss.mu.Lock()
		for _, st := range ss.subs {
			st.gone = true
		}
		ss.mu.Unlock()
		return true
	}
	life := s.spec.Life/4 + time.Duration(rng.Int64N(int64(s.spec.Life*3/4)+1))
	timer := time.NewTimer(life)
	defer timer.Stop()
	select {
	case <-timer.C:
		if rng.IntN(4) == 0 {
			f := chans[rng.IntN(len(chans))]
			ss.mu.Lock()
			ss.subs[f.name].gone = true
			ss.mu.Unlock()
			frame := `{"event":"pusher:unsubscribe","data":{"channel":"` + f.name + `"}}`
			if ws.Write(ctx, websocket.MessageText, []byte(frame)) == nil {
				n.Unsubscribes++
			}
		}
	case <-churn.Done():
		s.drain(ctx, ss)
	case <-done:
		n.ServerCloses++
		ss.settleDrain()
		return true
	}
	if rng.IntN(2) == 0 {
		ws.CloseNow()
		n.Abrupt++
	} else {
		if ws.Close(websocket.StatusNormalClosure, "") == nil {
			n.Clean++
		} else {
			n.ServerCloses++
		}
	}
	<-done
	return true
}

// drain waits for ss to receive the last publish of each of its
// channels, and counts what it missed. The wait is bounded: the last
// publishes may wait for the HTTP requests in flight at the end of the
// churn (the HTTP client's timeout), then for their delivery.
func (s *soaker) drain(ctx context.Context, ss *session) {
	deadline := time.Now().Add(2 * drainTimeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-s.finalSent:
			if ss.drained() {
				ss.settleDrain()
				ss.n.Drained++
				return
			}
		default:
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			ss.settleDrain()
			ss.n.Drained++
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
		}
	}
}

// subscribeFrame is a pusher:subscribe frame for channel, signed for
// private and presence channels.
func (s *soaker) subscribeFrame(socketID, channel, user string) ([]byte, error) {
	data := map[string]string{"channel": channel}
	var signed []byte
	var err error
	switch {
	case len(channel) > len("private-") && channel[:len("private-")] == "private-":
		signed, err = sockudo.AuthorizeChannel(s.spec.Key, s.spec.Secret, socketID, channel)
	case len(channel) > len("presence-") && channel[:len("presence-")] == "presence-":
		signed, err = sockudo.AuthorizePresenceChannel(s.spec.Key, s.spec.Secret, socketID, channel, sockudo.PresenceMember{UserID: user})
	}
	if err != nil {
		return nil, err
	}
	if signed != nil {
		if err := json.Unmarshal(signed, &data); err != nil {
			return nil, err
		}
		data["channel"] = channel
	}
	return json.Marshal(map[string]any{"event": "pusher:subscribe", "data": data})
}

// signinFrame is a signed pusher:signin frame for u.
func signinFrame(key, secret, socketID string, u sockudo.User) ([]byte, error) {
	signed, err := sockudo.AuthenticateUser(key, secret, socketID, u)
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{"event": "pusher:signin", "data": json.RawMessage(signed)})
}

// readEstablished reads pusher:connection_established and returns the
// socket id.
func readEstablished(ctx context.Context, ws *websocket.Conn) (string, error) {
	_, msg, err := ws.Read(ctx)
	if err != nil {
		return "", fmt.Errorf("waiting for pusher:connection_established: %w", err)
	}
	var f struct {
		Event string `json:"event"`
		Data  string `json:"data"`
	}
	if err := json.Unmarshal(msg, &f); err != nil || f.Event != "pusher:connection_established" {
		return "", fmt.Errorf("got %.200s, want pusher:connection_established", msg)
	}
	var d struct {
		SocketID string `json:"socket_id"`
	}
	if err := json.Unmarshal([]byte(f.Data), &d); err != nil || d.SocketID == "" {
		return "", fmt.Errorf("connection_established without a socket id: %.200s", msg)
	}
	return d.SocketID, nil
}

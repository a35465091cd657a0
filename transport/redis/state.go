package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"

	"github.com/sockudo-go/sockudo/transport"
	"github.com/sockudo-go/sockudo/transport/internal/driverkit"
)

func toInt(m rueidis.RedisMessage) int {
	v, _ := m.AsInt64()
	return int(v)
}

// SetChannel sets this node's contribution to a channel.
func (n *node) SetChannel(ctx context.Context, op transport.ChannelOp) (transport.ChannelResult, error) {
	if err := driverkit.CheckChannelOp(op, false); err != nil {
		return transport.ChannelResult{}, err
	}
	user, sockets, info := "", 0, ""
	if m := op.Member; m != nil {
		user, sockets, info = m.UserID, m.Sockets, string(m.Info)
	}
	arr, err := n.write(ctx, setChannelScript, version(op.Version), op.App, op.Channel,
		strconv.Itoa(op.Subscribers), n.hold(), strconv.Itoa(op.MemberLimit), user, strconv.Itoa(sockets), info)
	if err != nil {
		return transport.ChannelResult{}, err
	}
	status, _ := arr[0].ToString()
	if status == "LIMIT" {
		return transport.ChannelResult{}, fmt.Errorf("%w: %d members in %s", transport.ErrLimit, toInt(arr[1]), op.Channel)
	}
	if len(arr) < 6 {
		return transport.ChannelResult{}, fmt.Errorf("%w: unexpected reply to set_channel", transport.ErrUnavailable)
	}
	res := transport.ChannelResult{
		Stale:       status == "STALE",
		Subscribers: toInt(arr[1]),
		Users:       toInt(arr[2]),
		Seq:         uint64(toInt(arr[3])),
		Transitions: parseTransitions(arr[4]),
	}
	if !res.Stale && op.Member != nil && op.Member.Sockets > 0 {
		res.Members = &transport.Members{Seq: res.Seq, Users: parseMembers(arr[5])}
	}
	return res, nil
}

// parseMembers reads a member hash (user, info, ...) sorted by user.
func parseMembers(m rueidis.RedisMessage) []transport.Member {
	f, _ := m.ToArray()
	out := make([]transport.Member, 0, len(f)/2)
	for i := 0; i+2 <= len(f); i += 2 {
		id, _ := f[i].ToString()
		info, _ := f[i+1].ToString()
		out = append(out, transport.Member{ID: id, Info: json.RawMessage(info)})
	}
	slices.SortFunc(out, func(a, b transport.Member) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// SetUser sets this node's signed-in sockets of a user.
func (n *node) SetUser(ctx context.Context, op transport.UserOp) (transport.UserResult, error) {
	if err := driverkit.CheckUserOp(op, false); err != nil {
		return transport.UserResult{}, err
	}
	arr, err := n.write(ctx, setUserScript, version(op.Version), op.App, op.UserID, strconv.Itoa(op.Sockets))
	if err != nil {
		return transport.UserResult{}, err
	}
	if len(arr) < 3 {
		return transport.UserResult{}, fmt.Errorf("%w: unexpected reply to set_user", transport.ErrUnavailable)
	}
	status, _ := arr[0].ToString()
	return transport.UserResult{Stale: status == "STALE", Sockets: toInt(arr[1]), Transitions: parseTransitions(arr[2])}, nil
}

// SetConnections sets this node's connections of an app.
func (n *node) SetConnections(ctx context.Context, op transport.ConnOp) (transport.ConnResult, error) {
	if err := driverkit.CheckConnOp(op, false); err != nil {
		return transport.ConnResult{}, err
	}
	arr, err := n.write(ctx, setConnsScript, version(op.Version), op.App, strconv.Itoa(op.Connections), strconv.Itoa(op.Limit))
	if err != nil {
		return transport.ConnResult{}, err
	}
	if len(arr) < 2 {
		return transport.ConnResult{}, fmt.Errorf("%w: unexpected reply to set_conns", transport.ErrUnavailable)
	}
	status, _ := arr[0].ToString()
	if status == "LIMIT" {
		return transport.ConnResult{}, fmt.Errorf("%w: %d connections of app %s", transport.ErrLimit, toInt(arr[1]), op.App)
	}
	return transport.ConnResult{Stale: status == "STALE", Total: toInt(arr[1])}, nil
}

// Channel returns a channel's totals.
func (n *node) Channel(ctx context.Context, app, channel string) (transport.ChannelInfo, error) {
	msg, err := n.read(ctx, channelScript, app, channel)
	if err != nil {
		return transport.ChannelInfo{}, err
	}
	f, _ := msg.ToArray()
	if len(f) < 2 {
		return transport.ChannelInfo{}, fmt.Errorf("%w: unexpected reply to channel", transport.ErrUnavailable)
	}
	return transport.ChannelInfo{Name: channel, Subscribers: toInt(f[0]), Users: toInt(f[1])}, nil
}

// Channels returns app's occupied channels starting with prefix. It
// scans in batches: each channel's counts are exact as of its batch.
func (n *node) Channels(ctx context.Context, app, prefix string) ([]transport.ChannelInfo, error) {
	var out []transport.ChannelInfo
	seen := make(map[string]bool)
	cursor := "0"
	for {
		msg, err := n.read(ctx, channelsScript, app, prefix, cursor)
		if err != nil {
			return nil, err
		}
		f, _ := msg.ToArray()
		if len(f) != 2 {
			return nil, fmt.Errorf("%w: unexpected reply to channels", transport.ErrUnavailable)
		}
		cursor, _ = f[0].ToString()
		batch, _ := f[1].ToArray()
		for i := 0; i+3 <= len(batch); i += 3 {
			name, _ := batch[i].ToString()
			// SSCAN may return an element twice.
			if !seen[name] {
				seen[name] = true
				out = append(out, transport.ChannelInfo{Name: name, Subscribers: toInt(batch[i+1]), Users: toInt(batch[i+2])})
			}
		}
		if cursor == "0" {
			break
		}
	}
	slices.SortFunc(out, func(a, b transport.ChannelInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Members returns a presence channel's members.
func (n *node) Members(ctx context.Context, app, channel string) (transport.Members, error) {
	msg, err := n.read(ctx, membersScript, app, channel)
	if err != nil {
		return transport.Members{}, err
	}
	f, _ := msg.ToArray()
	if len(f) < 2 {
		return transport.Members{}, fmt.Errorf("%w: unexpected reply to members", transport.ErrUnavailable)
	}
	return transport.Members{Seq: uint64(toInt(f[0])), Users: parseMembers(f[1])}, nil
}

// Online reports which users have a signed-in socket.
func (n *node) Online(ctx context.Context, app string, users []string) ([]bool, error) {
	msg, err := n.read(ctx, onlineScript, append([]string{app}, users...)...)
	if err != nil {
		return nil, err
	}
	f, _ := msg.ToArray()
	if len(f) != len(users) {
		return nil, fmt.Errorf("%w: unexpected reply to online", transport.ErrUnavailable)
	}
	out := make([]bool, len(users))
	for i := range f {
		out[i] = toInt(f[i]) > 0
	}
	return out, nil
}

// Connections returns app's connections cluster-wide.
func (n *node) Connections(ctx context.Context, app string) (int, error) {
	msg, err := n.read(ctx, connectionsScript, app)
	if err != nil {
		return 0, err
	}
	return toInt(msg), nil
}

// snapshotJSON is a Snapshot as the restore script reads it.
type snapshotJSON struct {
	Channels    []restoreOp `json:"c"`
	Users       []restoreOp `json:"u"`
	Connections []restoreOp `json:"a"`
}

type restoreOp struct {
	App     string `json:"a"`
	Name    string `json:"n"`
	Count   int    `json:"s"`
	User    string `json:"u"`
	Sockets int    `json:"m"`
	Info    string `json:"i"`
	Version string `json:"v"`
}

func encodeSnapshot(s transport.Snapshot) ([]byte, error) {
	js := snapshotJSON{Channels: []restoreOp{}, Users: []restoreOp{}, Connections: []restoreOp{}}
	for _, op := range s.Channels {
		if err := driverkit.CheckChannelOp(op, true); err != nil {
			return nil, err
		}
		r := restoreOp{App: op.App, Name: op.Channel, Count: op.Subscribers, Version: version(op.Version)}
		if m := op.Member; m != nil {
			r.User, r.Sockets, r.Info = m.UserID, m.Sockets, string(m.Info)
		}
		js.Channels = append(js.Channels, r)
	}
	for _, op := range s.Users {
		if err := driverkit.CheckUserOp(op, true); err != nil {
			return nil, err
		}
		js.Users = append(js.Users, restoreOp{App: op.App, Name: op.UserID, Count: op.Sockets, Version: version(op.Version)})
	}
	for _, op := range s.Connections {
		if err := driverkit.CheckConnOp(op, true); err != nil {
			return nil, err
		}
		js.Connections = append(js.Connections, restoreOp{App: op.App, Count: op.Connections, Version: version(op.Version)})
	}
	return json.Marshal(js)
}

// Restore replaces this node's contributions with s, quietly.
func (n *node) Restore(ctx context.Context, s transport.Snapshot) error {
	payload, err := encodeSnapshot(s)
	if err != nil {
		return err
	}
	if err := n.usable(ctx); err != nil {
		return err
	}
	n.mu.Lock()
	epoch := n.epoch
	n.mu.Unlock()
	start := time.Now()
	msg, err := n.exec(ctx, restoreScript, n.id, epoch, randomID(), ms(n.cfg.Lease), n.cfg.Name, string(payload))
	if err != nil {
		return err
	}
	arr, err := msg.ToArray()
	if err != nil || len(arr) == 0 {
		return fmt.Errorf("%w: unexpected reply to restore", transport.ErrUnavailable)
	}
	status, _ := arr[0].ToString()
	if err := n.guarded(status, epoch); err != nil {
		return err
	}
	if len(arr) < 2 {
		return fmt.Errorf("%w: unexpected reply to restore", transport.ErrUnavailable)
	}
	newEpoch, _ := arr[1].ToString()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fenced || n.closed {
		return transport.ErrClosed
	}
	n.epoch, n.wiped, n.lastRenew = newEpoch, false, start
	n.updateLocked()
	return nil
}

package httpapi

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sockudo-go/sockudo/internal/hub"
	"github.com/sockudo-go/sockudo/internal/protocol"
)

// maxUserIDLength bounds the user id of terminate_connections, as the
// server SDKs do.
const maxUserIDLength = 200

// channels serves GET /apps/{app}/channels: the occupied channels, filtered
// by filter_by_prefix, with {} or the asked counts per channel.
func (h *Handler) channels(ctx context.Context, rq *request) ([]byte, error) {
	prefix, _ := lookup(rq.params, "filter_by_prefix")
	var info hub.Info
	if s, ok := lookup(rq.params, "info"); ok {
		var err error
		if info, err = parseInfo(s, hub.InfoUserCount|hub.InfoSubscriptionCount); err != nil {
			return nil, err
		}
	}
	if info&hub.InfoUserCount != 0 && !strings.HasPrefix(prefix, protocol.PrefixPresence) {
		return nil, badRequest("info=user_count needs filter_by_prefix to start with %q", protocol.PrefixPresence)
	}
	infos, err := h.hub.Channels(ctx, rq.app, prefix, info)
	if err != nil {
		return nil, err
	}
	buf := append(make([]byte, 0, 16+32*len(infos)), `{"channels":`...)
	buf = appendInfoMap(buf, infos)
	return append(buf, '}'), nil
}

// channelName returns the validated {channel} path value.
func channelName(rq *request) (string, error) {
	name := rq.r.PathValue("channel")
	if err := protocol.ValidateChannelName(name, rq.app.MaxChannelNameLength); err != nil {
		return "", badRequest("channel %q: %v", name, err)
	}
	return name, nil
}

// channel serves GET /apps/{app}/channels/{channel}.
func (h *Handler) channel(ctx context.Context, rq *request) ([]byte, error) {
	name, err := channelName(rq)
	if err != nil {
		return nil, err
	}
	var info hub.Info
	if s, ok := lookup(rq.params, "info"); ok {
		if info, err = parseInfo(s, hub.InfoUserCount|hub.InfoSubscriptionCount|hub.InfoCache); err != nil {
			return nil, err
		}
	}
	if info&hub.InfoUserCount != 0 && protocol.Classify(name).Kind != protocol.Presence {
		return nil, badRequest("info=user_count is only available for presence channels")
	}
	ci, err := h.hub.Channel(ctx, rq.app, name, info)
	if err != nil {
		return nil, err
	}
	buf := append(make([]byte, 0, 96), `{"occupied":`...)
	buf = strconv.AppendBool(buf, ci.Occupied)
	buf = appendCountFields(buf, ci)
	if info&hub.InfoCache != 0 {
		buf = append(buf, `,"cache":`...)
		if c := ci.Cache; c != nil {
			buf = append(buf, `{"data":`...)
			buf = appendString(buf, c.Data)
			buf = append(buf, `,"ttl":`...)
			buf = strconv.AppendInt(buf, int64((c.TTL+time.Second-1)/time.Second), 10)
			buf = append(buf, '}')
		} else {
			buf = append(buf, "null"...)
		}
	}
	return append(buf, '}'), nil
}

// users serves GET /apps/{app}/channels/{channel}/users.
func (h *Handler) users(ctx context.Context, rq *request) ([]byte, error) {
	name, err := channelName(rq)
	if err != nil {
		return nil, err
	}
	if protocol.Classify(name).Kind != protocol.Presence {
		return nil, badRequest("users are only available for presence channels")
	}
	ids, err := h.hub.ChannelUsers(ctx, rq.app, name)
	if err != nil {
		return nil, err
	}
	buf := append(make([]byte, 0, 16+16*len(ids)), `{"users":[`...)
	for i, id := range ids {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"id":`...)
		buf = appendString(buf, id)
		buf = append(buf, '}')
	}
	return append(buf, "]}"...), nil
}

// terminate serves POST /apps/{app}/users/{user}/terminate_connections.
// The body, which the SDKs send as {}, is ignored but must be JSON.
func (h *Handler) terminate(ctx context.Context, rq *request) ([]byte, error) {
	id := rq.r.PathValue("user")
	if id == "" || len(id) > maxUserIDLength {
		return nil, badRequest("user id must have 1 to %d bytes", maxUserIDLength)
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x20 || id[i] == 0x7f {
			return nil, badRequest("user id has a control character")
		}
	}
	if len(rq.body) > 0 && !json.Valid(rq.body) {
		return nil, badRequest("malformed JSON body")
	}
	if err := h.hub.TerminateUser(ctx, rq.app, id); err != nil {
		return nil, err
	}
	return emptyObject, nil
}

// appendInfoMap appends {"name":{counts},...} with names sorted.
func appendInfoMap(buf []byte, infos map[string]hub.ChannelInfo) []byte {
	buf = append(buf, '{')
	for i, name := range slices.Sorted(maps.Keys(infos)) {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendString(buf, name)
		buf = append(buf, ':')
		buf = appendCounts(buf, infos[name])
	}
	return append(buf, '}')
}

// appendCounts appends {"user_count":N,"subscription_count":M} with the
// fields ci has.
func appendCounts(buf []byte, ci hub.ChannelInfo) []byte {
	buf = append(buf, '{')
	n := len(buf)
	buf = appendCountFields(buf, ci)
	if len(buf) > n && buf[n] == ',' {
		// Drop the separator before the first field.
		buf = append(buf[:n], buf[n+1:]...)
	}
	return append(buf, '}')
}

// appendCountFields appends ,"user_count":N,"subscription_count":M for the
// fields ci has.
func appendCountFields(buf []byte, ci hub.ChannelInfo) []byte {
	if ci.UserCount != nil {
		buf = append(buf, `,"user_count":`...)
		buf = strconv.AppendInt(buf, int64(*ci.UserCount), 10)
	}
	if ci.SubscriptionCount != nil {
		buf = append(buf, `,"subscription_count":`...)
		buf = strconv.AppendInt(buf, int64(*ci.SubscriptionCount), 10)
	}
	return buf
}

func appendString(buf []byte, s string) []byte { return protocol.AppendString(buf, s) }

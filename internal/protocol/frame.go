package protocol

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// AppendEvent appends a server-to-client frame
// {"event":E,"channel":C,"data":"D","user_id":U} to buf. data is sent as a
// JSON string, as the protocol requires; empty channel and userID are
// omitted. It is the one encoder for every broadcast, so a frame is built
// once and shared by all recipients.
func AppendEvent(buf []byte, event, channel, data, userID string) []byte {
	buf = append(buf, `{"event":`...)
	buf = AppendString(buf, event)
	if channel != "" {
		buf = append(buf, `,"channel":`...)
		buf = AppendString(buf, channel)
	}
	buf = append(buf, `,"data":`...)
	buf = AppendString(buf, data)
	if userID != "" {
		buf = append(buf, `,"user_id":`...)
		buf = AppendString(buf, userID)
	}
	return append(buf, '}')
}

// Event returns the frame AppendEvent builds, in a new slice.
func Event(event, channel, data, userID string) []byte {
	n := len(event) + len(channel) + len(data) + len(userID) + 48
	return AppendEvent(make([]byte, 0, n+n/8), event, channel, data, userID)
}

// EventNoData returns {"event":E,"channel":C} (pusher:cache_miss).
func EventNoData(event, channel string) []byte {
	buf := AppendString([]byte(`{"event":`), event)
	buf = append(buf, `,"channel":`...)
	buf = AppendString(buf, channel)
	return append(buf, '}')
}

// Error returns a pusher:error frame. Its data is an object
// {"code":C,"message":M}, the one exception to string data; code 0 is sent
// as null.
func Error(code int, message, channel string) []byte {
	// Both may carry what the client sent; bound them so an error reply
	// is never larger than a small constant (no amplification).
	message, channel = EchoPrefix(message), EchoPrefix(channel)
	buf := []byte(`{"event":"pusher:error",`)
	if channel != "" {
		buf = append(buf, `"channel":`...)
		buf = AppendString(buf, channel)
		buf = append(buf, ',')
	}
	buf = append(buf, `"data":{"code":`...)
	if code == 0 {
		buf = append(buf, "null"...)
	} else {
		buf = strconv.AppendInt(buf, int64(code), 10)
	}
	buf = append(buf, `,"message":`...)
	buf = AppendString(buf, message)
	return append(buf, "}}"...)
}

// SubscriptionError returns soketi's channel-scoped
// pusher:subscription_error frame, which pusher-js delivers to
// channel.bind('pusher:subscription_error').
func SubscriptionError(channel, typ, message string, status int) []byte {
	buf := []byte(`{"event":"pusher:subscription_error","channel":`)
	buf = AppendString(buf, channel)
	buf = append(buf, `,"data":{"type":`...)
	buf = AppendString(buf, typ)
	buf = append(buf, `,"error":`...)
	buf = AppendString(buf, message)
	buf = append(buf, `,"status":`...)
	buf = strconv.AppendInt(buf, int64(status), 10)
	return append(buf, "}}"...)
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string literal. Invalid UTF-8 becomes
// U+FFFD, as encoding/json does.
func AppendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript source;
		// escape them as encoding/json does.
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

// ConnectionEstablished is the first frame of a socket, announcing its id
// and the activity timeout in whole seconds (at least 1).
func ConnectionEstablished(socketID string, activityTimeoutSeconds int) []byte {
	data := make([]byte, 0, 64)
	data = append(data, `{"socket_id":`...)
	data = AppendString(data, socketID)
	data = append(data, `,"activity_timeout":`...)
	data = strconv.AppendInt(data, int64(max(activityTimeoutSeconds, 1)), 10)
	data = append(data, '}')
	return Event(EventConnectionEstablished, "", string(data), "")
}

// Watchlist is a pusher_internal:watchlist_events frame telling a
// signed-in user which of its watchlist came online and went offline;
// an empty list is left out.
func Watchlist(online, offline []string) []byte {
	data := append(make([]byte, 0, 64), `{"events":[`...)
	n := 0
	for _, e := range []struct {
		name string
		ids  []string
	}{{"online", online}, {"offline", offline}} {
		if len(e.ids) == 0 {
			continue
		}
		if n > 0 {
			data = append(data, ',')
		}
		n++
		data = append(data, `{"name":"`...)
		data = append(data, e.name...)
		data = append(data, `","user_ids":[`...)
		for i, id := range e.ids {
			if i > 0 {
				data = append(data, ',')
			}
			data = AppendString(data, id)
		}
		data = append(data, "]}"...)
	}
	data = append(data, "]}"...)
	return Event(EventWatchlist, "", string(data), "")
}

// MaxEcho bounds, in bytes, what an error frame repeats of a message or
// channel name: enough to recognise it, too little to amplify a flood.
const MaxEcho = 200

// EchoPrefix returns s cut to at most MaxEcho bytes on a rune boundary,
// with invalid UTF-8 dropped (each invalid byte would otherwise become a
// 3-byte U+FFFD), and "..." appended when it was cut.
func EchoPrefix(s string) string {
	if len(s) <= MaxEcho && utf8.ValidString(s) {
		return s
	}
	if len(s) > 4*MaxEcho {
		s = s[:4*MaxEcho] // bound the work below
	}
	s = strings.ToValidUTF8(s, "")
	if len(s) <= MaxEcho {
		return s
	}
	cut := MaxEcho
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

package protocol

// Pusher's limits, applied where an app sets none (a zero or negative
// limit in the app's settings).
const (
	DefaultMaxChannelName   = 200
	DefaultMaxEventName     = 200
	DefaultMaxPayloadBytes  = 10 * 1024
	DefaultMaxEventChannels = 100
	DefaultMaxBatchSize     = 10
	DefaultMaxPresenceUsers = 100
	// DefaultMaxMemberBytes bounds a presence member's JSON (user_id and
	// user_info). Pusher allows 1 KB of user_info; this leaves room for the
	// id and the encoding.
	DefaultMaxMemberBytes = 2 << 10
)

// Limit returns the app's limit v, or def when the app sets none.
func Limit(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// PayloadLimit returns the largest event data in bytes for an app limit
// given in kilobytes.
func PayloadLimit(kb int) int {
	if kb > 0 {
		return kb << 10
	}
	return DefaultMaxPayloadBytes
}

// ValidSocketID reports whether id has the form of a socket id, as the
// protocol requires of every socket_id: ^\d+\.\d+$.
func ValidSocketID(id string) bool {
	dot := -1
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case c >= '0' && c <= '9':
		case c == '.' && dot < 0:
			dot = i
		default:
			return false
		}
	}
	return dot > 0 && dot < len(id)-1
}

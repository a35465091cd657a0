package hub

import (
	"fmt"
	"strings"
	"time"
)

// PublishRequest is one event to publish through the HTTP API or the Go
// API. Both go through Hub.Publish, so they validate and deliver alike.
type PublishRequest struct {
	Name     string
	Channels []string
	Data     string
	// SocketID, when set, is excluded from delivery.
	SocketID string
	// Info asks for channel attributes in the result.
	Info Info
}

// Info selects channel attributes to report.
type Info uint8

// Channel attributes.
const (
	InfoUserCount Info = 1 << iota
	InfoSubscriptionCount
	InfoCache
	// InfoPresenceUserCount adds user_count to the presence channels of a
	// listing, whatever its prefix (the Go API; the HTTP API's user_count
	// needs a presence- prefix).
	InfoPresenceUserCount
)

// ParseInfo parses a comma-separated info parameter
// ("user_count,subscription_count,cache"). Unknown attributes are an error.
func ParseInfo(s string) (Info, error) {
	var in Info
	for _, p := range strings.Split(s, ",") {
		switch strings.TrimSpace(p) {
		case "":
		case "user_count":
			in |= InfoUserCount
		case "subscription_count":
			in |= InfoSubscriptionCount
		case "cache":
			in |= InfoCache
		default:
			return 0, &RequestError{Status: 400, Message: fmt.Sprintf("unknown info attribute %q", p)}
		}
	}
	return in, nil
}

// ChannelInfo is what the API reports about a channel. Nil fields were not
// asked for or do not apply.
type ChannelInfo struct {
	Occupied          bool
	UserCount         *int
	SubscriptionCount *int
	Cache             *CachedEvent
}

// CachedEvent is the last event of a cache channel.
type CachedEvent struct {
	Event string
	Data  string
	TTL   time.Duration
}

// RequestError is a client error of the publish and query API, with the
// HTTP status it maps to (400, 403, 404, 413, 429, 503).
type RequestError struct {
	Status  int
	Message string
}

func (e *RequestError) Error() string { return e.Message }

func badRequest(format string, args ...any) error {
	return &RequestError{Status: 400, Message: fmt.Sprintf(format, args...)}
}

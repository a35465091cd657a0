package hub

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/internal/apierr"
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
			return 0, badRequest("unknown info attribute %q", p)
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

// FindApp looks up the app a publish or query names: a 404 app_not_found
// *apierr.Error when there is none, a 503 when the store fails (both wrap
// the store's error). It does not check that the app is enabled: the HTTP
// API says so only after the signature check (see CheckEnabled).
func FindApp(ctx context.Context, apps appmanager.Manager, id string) (*appmanager.App, error) {
	app, err := apps.FindByID(ctx, id)
	switch {
	case errors.Is(err, appmanager.ErrNotFound):
		return nil, apierr.Wrap(err, http.StatusNotFound, apierr.CodeAppNotFound, "app %q not found", id)
	case err != nil:
		return nil, apierr.Wrap(err, http.StatusServiceUnavailable, apierr.CodeUnavailable, "app manager unavailable, retry later")
	}
	return app, nil
}

// CheckEnabled returns a 403 *apierr.Error for a disabled app.
func CheckEnabled(app *appmanager.App) error {
	if !app.Enabled {
		return apierr.New(http.StatusForbidden, apierr.CodeForbidden, "app %q is disabled", app.ID)
	}
	return nil
}

func badRequest(format string, args ...any) error { return apierr.BadRequest(format, args...) }

func limitExceeded(format string, args ...any) error { return apierr.LimitExceeded(format, args...) }

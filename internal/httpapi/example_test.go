package httpapi_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"time"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/appmanager/memory"
	"github.com/sockudo-go/sockudo/internal/auth"
	"github.com/sockudo-go/sockudo/internal/httpapi"
	"github.com/sockudo-go/sockudo/internal/hub"
)

// oneRoomHub is a Hub with one presence channel of two users.
type oneRoomHub struct{}

func (oneRoomHub) ValidatePublish(*appmanager.App, *hub.PublishRequest) error { return nil }

func (oneRoomHub) Publish(context.Context, *appmanager.App, hub.PublishRequest) (map[string]hub.ChannelInfo, error) {
	return nil, nil
}

func (oneRoomHub) Channels(_ context.Context, _ *appmanager.App, _ string, info hub.Info) (map[string]hub.ChannelInfo, error) {
	ci := hub.ChannelInfo{Occupied: true}
	if info&hub.InfoUserCount != 0 {
		n := 2
		ci.UserCount = &n
	}
	return map[string]hub.ChannelInfo{"presence-room": ci}, nil
}

func (oneRoomHub) Channel(context.Context, *appmanager.App, string, hub.Info) (hub.ChannelInfo, error) {
	return hub.ChannelInfo{Occupied: true}, nil
}

func (oneRoomHub) ChannelUsers(context.Context, *appmanager.App, string) ([]string, error) {
	return []string{"1", "2"}, nil
}

func (oneRoomHub) TerminateUser(context.Context, *appmanager.App, string) error { return nil }

// The handler mounted under /pusher/ of a host mux, answering a request
// signed as the server SDKs sign it: over the path below the mount point.
func Example() {
	apps, err := memory.New(appmanager.App{ID: "app-id", Key: "app-key", Secret: "app-secret", Enabled: true})
	if err != nil {
		panic(err)
	}
	api, err := httpapi.New(httpapi.Config{
		Apps:          apps,
		Hub:           oneRoomHub{},
		Logger:        slog.Default(),
		MaxBodyBytes:  1 << 20,
		TimestampSkew: 600 * time.Second,
		Now:           func() time.Time { return time.Unix(1700000000, 0) },
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/pusher/", http.StripPrefix("/pusher", api))

	q := url.Values{
		"auth_key":         {"app-key"},
		"auth_timestamp":   {"1700000000"},
		"auth_version":     {"1.0"},
		"filter_by_prefix": {"presence-"},
		"info":             {"user_count"},
	}
	q.Set("auth_signature", auth.Sign("app-secret", auth.RequestString("GET", "/apps/app-id/channels", q)))

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/pusher/apps/app-id/channels?"+q.Encode(), nil))
	fmt.Println(rec.Code, rec.Body.String())
	// Output: 200 {"channels":{"presence-room":{"user_count":2}}}
}

package hub

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/internal/testenv"
	ratelimitmemory "github.com/sockudo-go/sockudo/ratelimit/memory"
)

// downApps is an app store that cannot be reached.
type downApps struct{ appmanager.Manager }

func (downApps) FindByKey(context.Context, string) (*appmanager.App, error) {
	return nil, errors.New("connection refused")
}

// While the app store is down, a flood of upgrades writes a bounded number
// of "app lookup failed" lines, each still answered with 4100.
func TestAppLookupFailureLogIsThrottled(t *testing.T) {
	t.Parallel()
	lim, err := ratelimitmemory.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	var logs testenv.LogBuffer
	cfg := testConfig(lim)
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeWS(w, r, "some-key", ConnectOptions{Apps: downApps{}})
	}))
	defer hs.Close()

	const dials = 100
	for range dials {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http"), nil)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		_, _, err = ws.Read(ctx) // the pusher:error
		if err == nil {
			_, _, err = ws.Read(ctx)
		}
		cancel()
		if code := websocket.CloseStatus(err); code != 4100 {
			t.Fatalf("closed with %d (%v), want 4100", code, err)
		}
	}
	if n := strings.Count(logs.String(), "app lookup failed"); n < 1 || n > 20 {
		t.Fatalf("%d failed lookups wrote %d log lines; want 1 to 20", dials, n)
	}
}

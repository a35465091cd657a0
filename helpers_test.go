package sockudo_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/internal/testenv"
	"github.com/sockudo-go/sockudo/internal/wstest"
)

const (
	testKey    = "app-key"
	testSecret = "app-secret"
	testID     = "app-id"
)

func testApp() appmanager.App {
	return appmanager.App{ID: testID, Key: testKey, Secret: testSecret, Enabled: true, EnableClientMessages: true}
}

type testServer struct {
	*sockudo.Server
	http *httptest.Server
	ws   string
}

// newTestServer starts a Server on an httptest server; with no WithApps or
// WithAppManager option it serves testApp.
func newTestServer(t *testing.T, opts ...sockudo.Option) *testServer {
	t.Helper()
	all := []sockudo.Option{sockudo.WithLogger(slog.New(slog.DiscardHandler))}
	all = append(all, opts...)
	srv, err := sockudo.New(all...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		hs.Close()
	})
	return &testServer{Server: srv, http: hs, ws: "ws" + strings.TrimPrefix(hs.URL, "http")}
}

func (s *testServer) dial(t *testing.T, key string) *wstest.Client {
	t.Helper()
	return wstest.Dial(t, s.ws, key, nil)
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// redisClient connects to the Redis at url (via addr instead, when not
// empty, e.g. a testproxy) and closes the client when t ends.
func redisClient(t *testing.T, url, addr string) rueidis.Client {
	t.Helper()
	opt, err := rueidis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	if addr != "" {
		opt.InitAddress = []string{addr}
	}
	return testenv.RedisClient(t, opt)
}

// redisAddr returns the host:port of a Redis URL.
func redisAddr(t *testing.T, url string) string {
	t.Helper()
	opt, err := rueidis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	return opt.InitAddress[0]
}

package sockudo_test

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/appmanager/postgres"
	"github.com/sockudo-go/sockudo/internal/testenv"
	"github.com/sockudo-go/sockudo/internal/testproxy"
	"github.com/sockudo-go/sockudo/internal/wstest"
)

// TestDatabaseOutage serves apps from a real PostgreSQL reached through a
// proxy that can cut the connection: during the outage clients get
// retryable answers (WebSocket 41xx, HTTP 503), never "app not found", and
// service resumes when the database returns, without a restart.
func TestDatabaseOutage(t *testing.T) {
	t.Parallel()
	dsn := testenv.Lookup(t, "SOCKUDO_TEST_POSTGRES_DSN")
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := testproxy.New(t, net.JoinHostPort(cfg.ConnConfig.Host, strconv.Itoa(int(cfg.ConnConfig.Port))))
	host, port, _ := net.SplitHostPort(proxy.Addr())
	p, _ := strconv.Atoi(port)
	cfg.ConnConfig.Host, cfg.ConnConfig.Port = host, uint16(p)
	cfg.ConnConfig.ConnectTimeout = 2 * time.Second
	cfg.ConnConfig.Fallbacks = nil
	ctx := context.Background()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	table := "outage_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	m, err := postgres.New(ctx, pool, &postgres.Options{TableName: table, CreateTable: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = pool.Exec(context.Background(), `DROP TABLE IF EXISTS "`+table+`"`) })
	app := appmanager.App{ID: "db-app", Key: "db-key", Secret: "db-secret", Enabled: true}
	if err := m.CreateApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, sockudo.WithAppManager(m), sockudo.WithAppCache(0))
	wstest.Dial(t, s.ws, "db-key", nil)

	proxy.Cut()
	c := wstest.Dial(t, s.ws, "db-key", &wstest.Options{NoHandshake: true})
	code, _ := c.ExpectError(t)
	if closeCode := c.ExpectClose(t); code < 4100 || code > 4199 || int(closeCode) != code {
		t.Fatalf("during the outage: error %d, close %d; want the same 41xx code", code, closeCode)
	}
	resp := signedRequestFor(t, s, "db-key", "db-secret", "/apps/db-app/channels")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("HTTP API during the outage: %d (Retry-After %q), want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}

	proxy.Restore()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c := wstest.Dial(t, s.ws, "db-key", &wstest.Options{NoHandshake: true})
		f := c.Next(t)
		if f.Event == "pusher:connection_established" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery after the database returned: %s", f.Raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if resp := signedRequestFor(t, s, "db-key", "db-secret", "/apps/db-app/channels"); resp.StatusCode != 200 {
		t.Fatalf("HTTP API after recovery: %d %s", resp.StatusCode, resp.body)
	}
}

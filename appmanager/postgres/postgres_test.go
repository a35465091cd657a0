package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/appmanager/appmanagertest"
	"github.com/sockudo-go/sockudo/appmanager/postgres"
	"github.com/sockudo-go/sockudo/internal/testenv"
	"github.com/sockudo-go/sockudo/internal/testproxy"
)

func testPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	dsn := testenv.Lookup(t, "SOCKUDO_TEST_POSTGRES_DSN")
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return newPool(t, cfg)
}

func newPool(t testing.TB, cfg *pgxpool.Config) *pgxpool.Pool {
	t.Helper()
	cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

var quiet = slog.New(slog.DiscardHandler)

var nonWord = regexp.MustCompile(`[^a-z0-9]+`)

// tableName returns a table name unique to t, dropped when t ends.
func tableName(t testing.TB, pool *pgxpool.Pool) string {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	base := strings.Trim(nonWord.ReplaceAllString(strings.ToLower(t.Name()), "_"), "_")
	if len(base) > 24 {
		base = base[len(base)-24:]
	}
	name := "t_" + base + "_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		_, _ = pool.Exec(context.Background(), "DROP TABLE IF EXISTS "+pgx.Identifier{name}.Sanitize())
	})
	return name
}

func newManager(t testing.TB, pool *pgxpool.Pool) (*postgres.Manager, string) {
	t.Helper()
	table := tableName(t, pool)
	m, err := postgres.New(context.Background(), pool, &postgres.Options{TableName: table, CreateTable: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return m, table
}

func TestConformance(t *testing.T) {
	pool := testPool(t)
	appmanagertest.Run(t, appmanagertest.Harness{
		New: func(t *testing.T) appmanager.Manager {
			m, _ := newManager(t, pool)
			return m
		},
		RequireLister:  true,
		RequireWriter:  true,
		RequireCreator: true,
	})
}

// sockudoDDL is Sockudo's own PostgreSQL schema for the applications
// table (ops/migrations/postgresql/001_fresh_schema.sql), with the table
// name substituted.
const sockudoDDL = `
CREATE TABLE IF NOT EXISTS %[1]s (
    id VARCHAR(255) PRIMARY KEY,
    key VARCHAR(255) UNIQUE NOT NULL,
    secret VARCHAR(255) NOT NULL,
    max_connections INTEGER NOT NULL,
    enable_client_messages BOOLEAN NOT NULL DEFAULT FALSE,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    max_backend_events_per_second INTEGER,
    max_client_events_per_second INTEGER NOT NULL,
    max_read_requests_per_second INTEGER,
    max_presence_members_per_channel INTEGER,
    max_presence_member_size_in_kb INTEGER,
    max_channel_name_length INTEGER,
    max_event_channels_at_once INTEGER,
    max_event_name_length INTEGER,
    max_event_payload_in_kb INTEGER,
    max_event_batch_size INTEGER,
    enable_user_authentication BOOLEAN,
    enable_watchlist_events BOOLEAN,
    policy JSONB,
    webhooks JSONB,
    allowed_origins JSONB,
    channel_delta_compression JSONB,
    idempotency JSONB,
    connection_recovery JSONB,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS idx_%[1]s_key ON %[1]s(key);
CREATE INDEX IF NOT EXISTS idx_%[1]s_enabled ON %[1]s(enabled);
CREATE INDEX IF NOT EXISTS idx_%[1]s_created_at ON %[1]s(created_at);
`

func TestSockudoSchemaAndRows(t *testing.T) {
	pool := testPool(t)
	ctx := context.Background()
	table := tableName(t, pool)
	if _, err := pool.Exec(ctx, fmt.Sprintf(sockudoDDL, table)); err != nil {
		t.Fatal(err)
	}
	// A flat row, as older Sockudo versions and hand-written SQL leave them.
	_, err := pool.Exec(ctx, `INSERT INTO `+table+` (id, key, secret, max_connections, enable_client_messages, enabled,
		max_backend_events_per_second, max_client_events_per_second, max_read_requests_per_second,
		max_presence_members_per_channel, max_presence_member_size_in_kb, max_channel_name_length,
		max_event_channels_at_once, max_event_name_length, max_event_payload_in_kb, max_event_batch_size,
		enable_user_authentication, enable_watchlist_events, webhooks, allowed_origins)
		VALUES ('flat', 'flat-key', 'flat-secret', 101, true, true, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
		true, true,
		'[{"url":"https://hooks.example.com/pusher?x=1","event_types":["channel_occupied","member_added"],
		   "filter":{"channel_prefix":"private-","channel_suffix":"-room","channel_pattern":"^private-[a-z]+-room$"},
		   "headers":{"X-Token":"abc","X-Tenant":"t1"}},{"lambda_function":"notify-flat","event_types":[]}]',
		'["https://app.example.com","*.example.org"]')`)
	if err != nil {
		t.Fatal(err)
	}
	// A row with NULLs in every nullable column.
	if _, err := pool.Exec(ctx, `INSERT INTO `+table+` (id, key, secret, max_connections, max_client_events_per_second)
		VALUES ('bare', 'bare-key', 'bare-secret', 0, 0)`); err != nil {
		t.Fatal(err)
	}
	// A row whose policy JSON (Sockudo's current form) disagrees with its flat columns.
	if _, err := pool.Exec(ctx, `INSERT INTO `+table+` (id, key, secret, max_connections, enable_client_messages, enabled,
		max_client_events_per_second, policy, webhooks)
		VALUES ('pol', 'pol-key', 'pol-secret', 1, false, false, 1,
		'{"limits":{"max_connections":50,"max_client_events_per_second":"7","max_event_batch_size":null,"decay_seconds":null,"terminate_on_limit":false},
		  "features":{"enable_client_messages":true,"enable_user_authentication":null,"enable_watchlist_events":false},
		  "channels":{"allowed_origins":["https://p.example"],"channel_namespaces":null},
		  "webhooks":[{"url":"https://p.example/hook","event_types":["client_event"]}],"idempotency":null}',
		'[{"url":"https://ignored.example"}]')`); err != nil {
		t.Fatal(err)
	}

	m, err := postgres.New(ctx, pool, &postgres.Options{TableName: table})
	if err != nil {
		t.Fatal(err)
	}
	want := appmanagertest.FullApp("flat")
	want.Key, want.Secret = "flat-key", "flat-secret"
	want.EnableSubscriptionCountEvents = false // no flat column for it
	got, err := m.FindByKey(ctx, "flat-key")
	if err != nil {
		t.Fatal(err)
	}
	appmanagertest.AssertApp(t, got, want)

	got, err = m.FindByID(ctx, "bare")
	if err != nil {
		t.Fatal(err)
	}
	appmanagertest.AssertApp(t, got, appmanager.App{ID: "bare", Key: "bare-key", Secret: "bare-secret", Enabled: true})

	got, err = m.FindByID(ctx, "pol")
	if err != nil {
		t.Fatal(err)
	}
	appmanagertest.AssertApp(t, got, appmanager.App{ID: "pol", Key: "pol-key", Secret: "pol-secret",
		MaxConnections: 50, MaxClientEventsPerSecond: 7, EnableClientMessages: true,
		AllowedOrigins: []string{"https://p.example"},
		Webhooks:       []appmanager.Webhook{{URL: "https://p.example/hook", EventTypes: []string{"client_event"}}}})

	// What this driver writes, Sockudo reads: flat columns and policy agree.
	w := appmanagertest.FullApp("written")
	if err := m.CreateApp(ctx, w); err != nil {
		t.Fatal(err)
	}
	var maxConn, batch int
	var hooks, policy string
	if err := pool.QueryRow(ctx, `SELECT max_connections, max_event_batch_size, webhooks::text, policy::text FROM `+table+` WHERE id = 'written'`).
		Scan(&maxConn, &batch, &hooks, &policy); err != nil {
		t.Fatal(err)
	}
	if maxConn != w.MaxConnections || batch != w.MaxEventBatchSize || !strings.Contains(hooks, `"event_types"`) || !strings.Contains(policy, `"limits"`) {
		t.Fatalf("written row: max_connections %d, max_event_batch_size %d, webhooks %s, policy %s", maxConn, batch, hooks, policy)
	}
}

func TestMalformedRows(t *testing.T) {
	pool := testPool(t)
	ctx := context.Background()
	m, table := newManager(t, pool)
	for _, c := range []struct {
		id, set, field string
	}{
		{"hooks-object", `webhooks = '{"url":"x"}'`, "webhooks"},
		{"hooks-type", `webhooks = '[{"url":5}]'`, "webhooks.url"},
		{"origins", `allowed_origins = '"*"'`, "allowed_origins"},
		{"policy-limit", `policy = '{"limits":{"max_connections":"lots"}}'`, "policy.limits.max_connections"},
		{"policy-negative", `policy = '{"limits":{"max_connections":-1}}'`, "policy.limits.max_connections"},
		{"negative", `max_connections = -5`, "max_connections"},
	} {
		if _, err := pool.Exec(ctx, `INSERT INTO `+table+` (id, "key", secret, max_connections, max_client_events_per_second)
			VALUES ($1, $2, 's', 1, 1)`, c.id, "key-"+c.id); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `UPDATE `+table+` SET `+c.set+` WHERE id = $1`, c.id); err != nil {
			t.Fatal(err)
		}
		for _, find := range []func() (*appmanager.App, error){
			func() (*appmanager.App, error) { return m.FindByID(ctx, c.id) },
			func() (*appmanager.App, error) { return m.FindByKey(ctx, "key-"+c.id) },
		} {
			a, err := find()
			var ie *appmanager.InvalidAppError
			if !errors.As(err, &ie) || ie.AppID != c.id || ie.Field != c.field || a != nil {
				t.Errorf("%s: %v, %v; want an InvalidAppError for app %q field %q", c.id, a, err, c.id, c.field)
			}
			if errors.Is(err, appmanager.ErrNotFound) {
				t.Errorf("%s: a malformed row reads as not found: %v", c.id, err)
			}
		}
	}
	if _, err := m.ListApps(ctx); !errors.Is(err, appmanager.ErrInvalidApp) {
		t.Errorf("ListApps over malformed rows = %v; want ErrInvalidApp", err)
	}
}

func TestOutageAndRecovery(t *testing.T) {
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
	pool := newPool(t, cfg)
	m, _ := newManager(t, pool)
	ctx := context.Background()
	app := appmanagertest.MinimalApp("up")
	if err := m.CreateApp(ctx, app); err != nil {
		t.Fatal(err)
	}

	proxy.Cut()
	for i := 0; i < 3; i++ {
		_, err := m.FindByKey(ctx, app.Key)
		if err == nil || errors.Is(err, appmanager.ErrNotFound) {
			t.Fatalf("lookup %d during the outage = %v; want an error that is not ErrNotFound", i, err)
		}
	}
	proxy.Restore()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := m.FindByKey(ctx, app.Key)
		if err == nil {
			if got.ID != app.ID {
				t.Fatalf("after recovery got app %q", got.ID)
			}
			break
		}
		if errors.Is(err, appmanager.ErrNotFound) || time.Now().After(deadline) {
			t.Fatalf("after the database came back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestPoolLimits(t *testing.T) {
	dsn := testenv.Lookup(t, "SOCKUDO_TEST_POSTGRES_DSN")
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MinConns, cfg.MaxConns = 1, 2
	pool := newPool(t, cfg)
	m, _ := newManager(t, pool)
	ctx := context.Background()
	if err := m.CreateApp(ctx, appmanagertest.MinimalApp("p")); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 10; j++ {
				if _, err := m.FindByID(ctx, "p"); err != nil {
					errs <- err
					return
				}
				if n := pool.Stat().TotalConns(); n > 2 {
					errs <- fmt.Errorf("pool has %d connections; MaxConns is 2", n)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if s := pool.Stat(); s.MaxConns() != 2 || s.TotalConns() < 1 {
		t.Fatalf("pool stat: max %d total %d; want max 2, at least MinConns 1", s.MaxConns(), s.TotalConns())
	}
}

func TestOptions(t *testing.T) {
	pool := testPool(t)
	ctx := context.Background()
	for _, name := range []string{"bad-name", "x; DROP TABLE y", "a.b.c", strings.Repeat("a", 64), "1abc"} {
		if _, err := postgres.New(ctx, pool, &postgres.Options{TableName: name}); err == nil || !strings.Contains(err.Error(), "TableName") {
			t.Errorf("TableName %q: %v; want an error naming the option", name, err)
		}
	}
	if _, err := postgres.New(ctx, nil, nil); err == nil {
		t.Error("nil pool accepted")
	}
	missing := tableName(t, pool)
	if _, err := postgres.New(ctx, pool, &postgres.Options{TableName: missing}); err == nil || !strings.Contains(err.Error(), "CreateTable") {
		t.Errorf("missing table without CreateTable: %v", err)
	}
	// Schema-qualified names work, and CreateTable is idempotent.
	name := "public." + tableName(t, pool)
	for i := 0; i < 2; i++ {
		if _, err := postgres.New(ctx, pool, &postgres.Options{TableName: name, CreateTable: true, Logger: quiet}); err != nil {
			t.Fatalf("New(%s) #%d: %v", name, i, err)
		}
	}
}

func BenchmarkFindByKeyUncached(b *testing.B) {
	pool := testPool(b)
	m, _ := newManager(b, pool)
	ctx := context.Background()
	if err := m.CreateApp(ctx, appmanagertest.FullApp("bench")); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.FindByKey(ctx, "Key-bench"); err != nil {
			b.Fatal(err)
		}
	}
}

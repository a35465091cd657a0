package mysql_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/appmanager/appmanagertest"
	"github.com/sockudo-go/sockudo/appmanager/mysql"
	"github.com/sockudo-go/sockudo/internal/testenv"
	"github.com/sockudo-go/sockudo/internal/testproxy"
)

var quiet = slog.New(slog.DiscardHandler)

func testConfig(t testing.TB) *gomysql.Config {
	t.Helper()
	cfg, err := gomysql.ParseDSN(testenv.Lookup(t, "SOCKUDO_TEST_MYSQL_DSN"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Timeout = 5 * time.Second
	return cfg
}

func openDB(t testing.TB, cfg *gomysql.Config) *sql.DB {
	t.Helper()
	conn, err := gomysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	t.Cleanup(func() { db.Close() })
	return db
}

func testDB(t testing.TB) *sql.DB { return openDB(t, testConfig(t)) }

var nonWord = regexp.MustCompile(`[^a-z0-9]+`)

// tableName returns a table name unique to t, dropped when t ends.
func tableName(t testing.TB, db *sql.DB) string {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	base := strings.Trim(nonWord.ReplaceAllString(strings.ToLower(t.Name()), "_"), "_")
	if len(base) > 24 {
		base = base[len(base)-24:]
	}
	name := "t_" + base + "_" + hex.EncodeToString(b)
	t.Cleanup(func() { _, _ = db.Exec("DROP TABLE IF EXISTS `" + name + "`") })
	return name
}

func newManager(t testing.TB, db *sql.DB) (*mysql.Manager, string) {
	t.Helper()
	table := tableName(t, db)
	m, err := mysql.New(context.Background(), db, &mysql.Options{TableName: table, CreateTable: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return m, table
}

func TestConformance(t *testing.T) {
	db := testDB(t)
	appmanagertest.Run(t, appmanagertest.Harness{
		New: func(t *testing.T) appmanager.Manager {
			m, _ := newManager(t, db)
			return m
		},
		RequireLister:  true,
		RequireWriter:  true,
		RequireCreator: true,
	})
}

// sockudoDDL is Sockudo's own MySQL schema for the applications table
// (ops/migrations/mysql/001_fresh_schema.sql), with the table name
// substituted.
const sockudoDDL = "CREATE TABLE IF NOT EXISTS `%[1]s` (" + `
    id VARCHAR(255) CHARACTER SET ascii COLLATE ascii_general_ci PRIMARY KEY,
    ` + "`key`" + ` VARCHAR(255) CHARACTER SET ascii COLLATE ascii_general_ci UNIQUE NOT NULL,
    secret VARCHAR(255) NOT NULL,
    max_connections INT UNSIGNED NOT NULL,
    enable_client_messages BOOLEAN NOT NULL DEFAULT FALSE,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    max_backend_events_per_second INT UNSIGNED NULL,
    max_client_events_per_second INT UNSIGNED NOT NULL,
    max_read_requests_per_second INT UNSIGNED NULL,
    max_presence_members_per_channel INT UNSIGNED NULL,
    max_presence_member_size_in_kb INT UNSIGNED NULL,
    max_channel_name_length INT UNSIGNED NULL,
    max_event_channels_at_once INT UNSIGNED NULL,
    max_event_name_length INT UNSIGNED NULL,
    max_event_payload_in_kb INT UNSIGNED NULL,
    max_event_batch_size INT UNSIGNED NULL,
    enable_user_authentication BOOLEAN NULL,
    enable_watchlist_events BOOLEAN NULL,
    policy JSON NULL,
    webhooks JSON NULL,
    allowed_origins JSON NULL,
    channel_delta_compression JSON NULL,
    idempotency JSON NULL,
    connection_recovery JSON NULL,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`

func TestSockudoSchemaAndRows(t *testing.T) {
	db := testDB(t)
	ctx := context.Background()
	table := tableName(t, db)
	for _, stmt := range []string{
		fmt.Sprintf(sockudoDDL, table),
		fmt.Sprintf("CREATE INDEX idx_%[1]s_key ON `%[1]s` (`key`)", table),
		fmt.Sprintf("CREATE INDEX idx_%[1]s_enabled ON `%[1]s` (enabled)", table),
		fmt.Sprintf("CREATE INDEX idx_%[1]s_created_at ON `%[1]s` (created_at)", table),
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	_, err := db.ExecContext(ctx, "INSERT INTO `"+table+"` (id, `key`, secret, max_connections, enable_client_messages, enabled,"+`
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
	if _, err := db.ExecContext(ctx, "INSERT INTO `"+table+"` (id, `key`, secret, max_connections, max_client_events_per_second) VALUES ('bare', 'bare-key', 'bare-secret', 0, 0)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO `"+table+"` (id, `key`, secret, max_connections, enable_client_messages, enabled,"+`
		max_client_events_per_second, policy, webhooks)
		VALUES ('pol', 'pol-key', 'pol-secret', 1, false, false, 1,
		'{"limits":{"max_connections":50,"max_client_events_per_second":"7","max_event_batch_size":null,"decay_seconds":null,"terminate_on_limit":false},
		  "features":{"enable_client_messages":true,"enable_user_authentication":null,"enable_watchlist_events":false},
		  "channels":{"allowed_origins":["https://p.example"],"channel_namespaces":null},
		  "webhooks":[{"url":"https://p.example/hook","event_types":["client_event"]}],"idempotency":null}',
		'[{"url":"https://ignored.example"}]')`); err != nil {
		t.Fatal(err)
	}

	m, err := mysql.New(ctx, db, &mysql.Options{TableName: table})
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

	// The case-insensitive collation does not leak into lookups.
	if _, err := m.FindByKey(ctx, "FLAT-KEY"); !errors.Is(err, appmanager.ErrNotFound) {
		t.Errorf("FindByKey(FLAT-KEY) = %v; want ErrNotFound", err)
	}
	if err := m.DeleteApp(ctx, "FLAT"); !errors.Is(err, appmanager.ErrNotFound) {
		t.Errorf("DeleteApp(FLAT) = %v; want ErrNotFound (and app flat kept)", err)
	}
	if _, err := m.FindByID(ctx, "flat"); err != nil {
		t.Errorf("app flat after DeleteApp(FLAT): %v", err)
	}
	// An update that changes nothing is not "not found".
	if err := m.UpdateApp(ctx, *got); err != nil {
		t.Errorf("UpdateApp with unchanged values: %v", err)
	}

	// What this driver writes, Sockudo reads: flat columns and policy agree.
	w := appmanagertest.FullApp("written")
	if err := m.CreateApp(ctx, w); err != nil {
		t.Fatal(err)
	}
	var maxConn, batch int
	var hooks, policy string
	if err := db.QueryRowContext(ctx, "SELECT max_connections, max_event_batch_size, webhooks, policy FROM `"+table+"` WHERE id = 'written'").
		Scan(&maxConn, &batch, &hooks, &policy); err != nil {
		t.Fatal(err)
	}
	if maxConn != w.MaxConnections || batch != w.MaxEventBatchSize || !strings.Contains(hooks, `"event_types"`) || !strings.Contains(policy, `"limits"`) {
		t.Fatalf("written row: max_connections %d, max_event_batch_size %d, webhooks %s, policy %s", maxConn, batch, hooks, policy)
	}
}

func TestCreateTableAddsMissingColumns(t *testing.T) {
	db := testDB(t)
	ctx := context.Background()
	table := tableName(t, db)
	// An early Sockudo table, without the JSON columns.
	if _, err := db.ExecContext(ctx, "CREATE TABLE `"+table+"` (id VARCHAR(255) PRIMARY KEY, `key` VARCHAR(255) UNIQUE NOT NULL, "+
		"secret VARCHAR(255) NOT NULL, max_connections INT UNSIGNED NOT NULL, enable_client_messages BOOLEAN NOT NULL DEFAULT FALSE, "+
		"enabled BOOLEAN NOT NULL DEFAULT TRUE, max_backend_events_per_second INT UNSIGNED NULL, max_client_events_per_second INT UNSIGNED NOT NULL, "+
		"max_read_requests_per_second INT UNSIGNED NULL, max_presence_members_per_channel INT UNSIGNED NULL, max_presence_member_size_in_kb INT UNSIGNED NULL, "+
		"max_channel_name_length INT UNSIGNED NULL, max_event_channels_at_once INT UNSIGNED NULL, max_event_name_length INT UNSIGNED NULL, "+
		"max_event_payload_in_kb INT UNSIGNED NULL, max_event_batch_size INT UNSIGNED NULL, enable_user_authentication BOOLEAN NULL)"); err != nil {
		t.Fatal(err)
	}
	if _, err := mysql.New(ctx, db, &mysql.Options{TableName: table}); err == nil {
		t.Fatal("New accepted a table without the policy column")
	}
	m, err := mysql.New(ctx, db, &mysql.Options{TableName: table, CreateTable: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	a := appmanagertest.FullApp("old")
	if err := m.CreateApp(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, err := m.FindByID(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	appmanagertest.AssertApp(t, got, a)
}

func TestMalformedRows(t *testing.T) {
	db := testDB(t)
	ctx := context.Background()
	m, table := newManager(t, db)
	for _, c := range []struct {
		id, set, field string
	}{
		{"hooks-object", `webhooks = '{"url":"x"}'`, "webhooks"},
		{"hooks-type", `webhooks = '[{"url":5}]'`, "webhooks.url"},
		{"origins", `allowed_origins = '"*"'`, "allowed_origins"},
		{"policy-limit", `policy = '{"limits":{"max_connections":"lots"}}'`, "policy.limits.max_connections"},
		{"policy-negative", `policy = '{"limits":{"max_connections":-1}}'`, "policy.limits.max_connections"},
		{"too-big", `max_connections = 4294967295`, "max_connections"},
	} {
		if _, err := db.ExecContext(ctx, "INSERT INTO `"+table+"` (id, `key`, secret, max_connections, max_client_events_per_second) VALUES (?, ?, 's', 1, 1)", c.id, "key-"+c.id); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, "UPDATE `"+table+"` SET "+c.set+" WHERE id = ?", c.id); err != nil {
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
	cfg := testConfig(t)
	proxy := testproxy.New(t, cfg.Addr)
	cfg.Addr = proxy.Addr()
	cfg.Timeout = 2 * time.Second
	db := openDB(t, cfg)
	m, _ := newManager(t, db)
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
	db := testDB(t)
	db.SetMaxOpenConns(2)
	db.SetMaxIdleConns(1)
	m, _ := newManager(t, db)
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
				if n := db.Stats().OpenConnections; n > 2 {
					errs <- fmt.Errorf("%d open connections; MaxOpenConns is 2", n)
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
	if s := db.Stats(); s.MaxOpenConnections != 2 || s.Idle > 1 || s.WaitCount == 0 {
		t.Fatalf("pool stats %+v; want MaxOpenConnections 2, at most 1 idle, some waits", s)
	}
}

func TestOptions(t *testing.T) {
	db := testDB(t)
	ctx := context.Background()
	for _, name := range []string{"bad-name", "x`; DROP TABLE y", "a.b.c", strings.Repeat("a", 65), "1abc"} {
		if _, err := mysql.New(ctx, db, &mysql.Options{TableName: name}); err == nil || !strings.Contains(err.Error(), "TableName") {
			t.Errorf("TableName %q: %v; want an error naming the option", name, err)
		}
	}
	if _, err := mysql.New(ctx, nil, nil); err == nil {
		t.Error("nil db accepted")
	}
	missing := tableName(t, db)
	if _, err := mysql.New(ctx, db, &mysql.Options{TableName: missing}); err == nil || !strings.Contains(err.Error(), "CreateTable") {
		t.Errorf("missing table without CreateTable: %v", err)
	}
	var dbName string
	if err := db.QueryRow("SELECT DATABASE()").Scan(&dbName); err != nil {
		t.Fatal(err)
	}
	name := dbName + "." + tableName(t, db)
	for i := 0; i < 2; i++ {
		if _, err := mysql.New(ctx, db, &mysql.Options{TableName: name, CreateTable: true, Logger: quiet}); err != nil {
			t.Fatalf("New(%s) #%d: %v", name, i, err)
		}
	}
}

func BenchmarkFindByKeyUncached(b *testing.B) {
	db := testDB(b)
	m, _ := newManager(b, db)
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

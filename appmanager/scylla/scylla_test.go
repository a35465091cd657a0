package scylla

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gocql/gocql"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/appmanager/appmanagertest"
)

var quiet = slog.New(slog.DiscardHandler)

// fakeSession starts a fake CQL server for the statements of opts and a
// gocql session on it.
func fakeSession(t *testing.T, opts Options) (*fakeCQL, *gocql.Session) {
	t.Helper()
	o := withDefaults(opts)
	f := newFakeCQL(t, newStatements(o.Keyspace, o.Table, o.ReplicationClass, o.ReplicationFactor))
	cluster := gocql.NewCluster(f.addr())
	cluster.ProtoVersion = 4
	cluster.DisableInitialHostLookup = true
	cluster.Timeout = 5 * time.Second
	cluster.ConnectTimeout = 5 * time.Second
	cluster.NumConns = 1
	cluster.Logger = discardLogger{}
	session, err := cluster.CreateSession()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(session.Close)
	return f, session
}

type discardLogger struct{}

func (discardLogger) Print(...any)          {}
func (discardLogger) Printf(string, ...any) {}
func (discardLogger) Println(...any)        {}

func withDefaults(o Options) Options {
	if o.Keyspace == "" {
		o.Keyspace = DefaultKeyspace
	}
	if o.Table == "" {
		o.Table = DefaultTable
	}
	if o.ReplicationClass == "" {
		o.ReplicationClass = DefaultReplicationClass
	}
	if o.ReplicationFactor == 0 {
		o.ReplicationFactor = DefaultReplicationFactor
	}
	return o
}

func TestConformanceFakeCQL(t *testing.T) {
	appmanagertest.Run(t, appmanagertest.Harness{
		New: func(t *testing.T) appmanager.Manager {
			opts := Options{Keyspace: "ks", Table: "apps", ReplicationFactor: 1, CreateTable: true, Logger: quiet}
			_, session := fakeSession(t, opts)
			m, err := New(context.Background(), session, &opts)
			if err != nil {
				t.Fatal(err)
			}
			return m
		},
		RequireLister:  true,
		RequireWriter:  true,
		RequireCreator: true,
	})
}

// TestConformanceRealCluster runs the suite on a real ScyllaDB or Cassandra
// when SOCKUDO_TEST_SCYLLA_HOSTS (comma-separated host:port) is set. CI has
// no such cluster, so the test is skipped there.
func TestConformanceRealCluster(t *testing.T) {
	hosts := os.Getenv("SOCKUDO_TEST_SCYLLA_HOSTS")
	if hosts == "" {
		t.Skip("SOCKUDO_TEST_SCYLLA_HOSTS is not set")
	}
	cluster := gocql.NewCluster(strings.Split(hosts, ",")...)
	cluster.Timeout = 10 * time.Second
	session, err := cluster.CreateSession()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(session.Close)
	nonWord := regexp.MustCompile(`[^a-z0-9]+`)
	appmanagertest.Run(t, appmanagertest.Harness{
		New: func(t *testing.T) appmanager.Manager {
			b := make([]byte, 4)
			_, _ = rand.Read(b)
			table := "t_" + strings.Trim(nonWord.ReplaceAllString(strings.ToLower(t.Name()), "_"), "_")
			if len(table) > 36 {
				table = table[len(table)-36:]
			}
			table = "t" + table + "_" + hex.EncodeToString(b)
			opts := &Options{Keyspace: "sockudo_test", Table: table, ReplicationFactor: 1, CreateTable: true, Logger: quiet}
			m, err := New(context.Background(), session, opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = session.Query("DROP TABLE IF EXISTS sockudo_test." + table).Exec() })
			return m
		},
		RequireLister:  true,
		RequireWriter:  true,
		RequireCreator: true,
	})
}

func TestStatementsSockudoLayout(t *testing.T) {
	s := newStatements("sockudo", "applications", "SimpleStrategy", 3)
	if want := "CREATE KEYSPACE IF NOT EXISTS sockudo WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}"; s.createKeyspace != want {
		t.Errorf("createKeyspace = %q", s.createKeyspace)
	}
	for _, c := range []string{"id text PRIMARY KEY", `"key" text`, "max_connections int", "enabled boolean",
		"webhooks text", "allowed_origins text", "policy text", "created_at timestamp"} {
		if !strings.Contains(s.createTable, c) {
			t.Errorf("createTable lacks %q: %s", c, s.createTable)
		}
	}
	if !strings.Contains(s.createIndex, "sockudo.applications") {
		t.Errorf("createIndex = %q", s.createIndex)
	}
}

// TestSockudoRows reads rows in Sockudo's two layouts written directly
// into the table: flat columns, and the policy JSON.
func TestSockudoRows(t *testing.T) {
	opts := Options{CreateTable: true, Logger: quiet}
	f, session := fakeSession(t, opts)
	ctx := context.Background()
	m, err := New(ctx, session, &opts)
	if err != nil {
		t.Fatal(err)
	}
	f.putRow(map[string]any{
		"id": "flat", "key": "flat-key", "secret": "flat-secret", "enabled": true,
		"max_connections": int32(101), "max_backend_events_per_second": int32(102), "max_client_events_per_second": int32(103),
		"max_read_requests_per_second": int32(104), "max_presence_members_per_channel": int32(105),
		"max_presence_member_size_in_kb": int32(106), "max_channel_name_length": int32(107),
		"max_event_channels_at_once": int32(108), "max_event_name_length": int32(109),
		"max_event_payload_in_kb": int32(110), "max_event_batch_size": int32(111),
		"enable_client_messages": true, "enable_user_authentication": true, "enable_watchlist_events": true,
		"allowed_origins": `["https://app.example.com","*.example.org"]`,
		"webhooks": `[{"url":"https://hooks.example.com/pusher?x=1","event_types":["channel_occupied","member_added"],
		   "filter":{"channel_prefix":"private-","channel_suffix":"-room","channel_pattern":"^private-[a-z]+-room$"},
		   "headers":{"X-Token":"abc","X-Tenant":"t1"}},{"lambda_function":"notify-flat","event_types":[]}]`,
	})
	f.putRow(map[string]any{"id": "pol", "key": "pol-key", "secret": "pol-secret", "enabled": false,
		"max_connections": int32(1),
		"policy": `{"limits":{"max_connections":50,"max_client_events_per_second":"7"},"features":{"enable_client_messages":true},
			"channels":{"allowed_origins":["https://p.example"]},"webhooks":[{"url":"https://p.example/hook","event_types":["client_event"]}]}`})
	f.putRow(map[string]any{"id": "bare", "key": "bare-key", "secret": "bare-secret"}) // enabled NULL

	want := appmanagertest.FullApp("flat")
	want.Key, want.Secret = "flat-key", "flat-secret"
	want.EnableSubscriptionCountEvents = false
	got, err := m.FindByKey(ctx, "flat-key")
	if err != nil {
		t.Fatal(err)
	}
	appmanagertest.AssertApp(t, got, want)
	got, err = m.FindByID(ctx, "pol")
	if err != nil {
		t.Fatal(err)
	}
	appmanagertest.AssertApp(t, got, appmanager.App{ID: "pol", Key: "pol-key", Secret: "pol-secret",
		MaxConnections: 50, MaxClientEventsPerSecond: 7, EnableClientMessages: true,
		AllowedOrigins: []string{"https://p.example"},
		Webhooks:       []appmanager.Webhook{{URL: "https://p.example/hook", EventTypes: []string{"client_event"}}}})
	got, err = m.FindByID(ctx, "bare")
	if err != nil {
		t.Fatal(err)
	}
	appmanagertest.AssertApp(t, got, appmanager.App{ID: "bare", Key: "bare-key", Secret: "bare-secret", Enabled: true})

	// Two rows with one key are an error, not a guess.
	f.putRow(map[string]any{"id": "dup", "key": "pol-key", "secret": "x"})
	if _, err := m.FindByKey(ctx, "pol-key"); err == nil || errors.Is(err, appmanager.ErrNotFound) {
		t.Errorf("FindByKey of a key held by two rows = %v; want an error", err)
	}
}

func TestMalformedRows(t *testing.T) {
	opts := Options{CreateTable: true, Logger: quiet}
	f, session := fakeSession(t, opts)
	ctx := context.Background()
	m, err := New(ctx, session, &opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id, column string
		value      any
		field      string
	}{
		{"bad-policy", "policy", `{"limits":`, "policy"},
		{"policy-limit", "policy", `{"limits":{"max_connections":"lots"}}`, "policy.limits.max_connections"},
		{"bad-hooks", "webhooks", `[{"url":5}]`, "webhooks.url"},
		{"bad-origins", "allowed_origins", `"*"`, "allowed_origins"},
		{"negative", "max_connections", int32(-3), "max_connections"},
	} {
		f.putRow(map[string]any{"id": c.id, "key": "key-" + c.id, "secret": "x", c.column: c.value})
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

func TestNewWithoutTable(t *testing.T) {
	opts := Options{Logger: quiet}
	_, session := fakeSession(t, opts)
	if _, err := New(context.Background(), session, &opts); err == nil || !strings.Contains(err.Error(), "CreateTable") {
		t.Fatalf("New on a missing table = %v; want an error pointing at CreateTable", err)
	}
}

func TestOptions(t *testing.T) {
	_, session := fakeSession(t, Options{})
	ctx := context.Background()
	for name, o := range map[string]Options{
		"Keyspace":          {Keyspace: "bad-ks"},
		"Table":             {Table: "x; DROP TABLE y"},
		"ReplicationClass":  {ReplicationClass: "Simple'}; DROP"},
		"ReplicationFactor": {ReplicationFactor: -1},
	} {
		if _, err := New(ctx, session, &o); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("bad %s: %v; want an error naming the option", name, err)
		}
	}
	if _, err := New(ctx, nil, nil); err == nil {
		t.Error("nil session accepted")
	}
}

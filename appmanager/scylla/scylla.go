package scylla

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strings"

	"github.com/gocql/gocql"

	"github.com/sockudo-go/sockudo/appmanager"
)

// Defaults are Sockudo's.
const (
	DefaultKeyspace          = "sockudo"
	DefaultTable             = "applications"
	DefaultReplicationClass  = "SimpleStrategy"
	DefaultReplicationFactor = 3
)

// Options configures a Manager. The zero value (or nil) uses Sockudo's
// keyspace and table and expects them to exist.
type Options struct {
	// Keyspace holds the table; empty means DefaultKeyspace.
	Keyspace string
	// Table is the table name; empty means DefaultTable.
	Table string
	// ReplicationClass is the replication strategy of a keyspace created
	// by CreateTable (SimpleStrategy or NetworkTopologyStrategy); empty
	// means DefaultReplicationClass.
	ReplicationClass string
	// ReplicationFactor is the replication factor of a keyspace created by
	// CreateTable; zero means DefaultReplicationFactor.
	ReplicationFactor int
	// CreateTable creates the keyspace, the table and the index on "key"
	// when missing, and adds the policy column that older Sockudo tables
	// lacked.
	CreateTable bool
	// Logger receives a message when the table is created or checked; nil
	// means slog.Default().
	Logger *slog.Logger
}

// Manager reads and writes apps in a CQL table. It is safe for concurrent
// use.
type Manager struct {
	session *gocql.Session
	stmts   statements
}

var (
	_ appmanager.Manager = (*Manager)(nil)
	_ appmanager.Lister  = (*Manager)(nil)
	_ appmanager.Writer  = (*Manager)(nil)
	_ appmanager.Creator = (*Manager)(nil)
)

// columns are the columns read for an app, in Record order.
const columns = `id, "key", secret, max_connections, enable_client_messages, enabled, ` +
	`max_backend_events_per_second, max_client_events_per_second, max_read_requests_per_second, ` +
	`max_presence_members_per_channel, max_presence_member_size_in_kb, max_channel_name_length, ` +
	`max_event_channels_at_once, max_event_name_length, max_event_payload_in_kb, max_event_batch_size, ` +
	`enable_user_authentication, enable_watchlist_events, policy, webhooks, allowed_origins`

// statements are every CQL statement a Manager issues.
type statements struct {
	createKeyspace, createTable, addPolicy, createIndex string
	check, findByID, findByKey, idsByKey, list          string
	insert, update, remove                              string
}

func newStatements(keyspace, table, class string, factor int) statements {
	t := keyspace + "." + table
	return statements{
		createKeyspace: fmt.Sprintf("CREATE KEYSPACE IF NOT EXISTS %s WITH replication = {'class': '%s', 'replication_factor': %d}", keyspace, class, factor),
		createTable: "CREATE TABLE IF NOT EXISTS " + t + ` (id text PRIMARY KEY, "key" text, secret text, ` +
			`max_connections int, enable_client_messages boolean, enabled boolean, ` +
			`max_backend_events_per_second int, max_client_events_per_second int, max_read_requests_per_second int, ` +
			`max_presence_members_per_channel int, max_presence_member_size_in_kb int, max_channel_name_length int, ` +
			`max_event_channels_at_once int, max_event_name_length int, max_event_payload_in_kb int, max_event_batch_size int, ` +
			`enable_user_authentication boolean, enable_watchlist_events boolean, ` +
			`webhooks text, allowed_origins text, channel_delta_compression text, idempotency text, connection_recovery text, ` +
			`policy text, created_at timestamp, updated_at timestamp)`,
		addPolicy:   "ALTER TABLE " + t + " ADD policy text",
		createIndex: "CREATE INDEX IF NOT EXISTS ON " + t + ` ("key")`,
		check:       "SELECT " + columns + " FROM " + t + " LIMIT 1",
		findByID:    "SELECT " + columns + " FROM " + t + " WHERE id = ?",
		findByKey:   "SELECT " + columns + " FROM " + t + ` WHERE "key" = ?`,
		idsByKey:    "SELECT id FROM " + t + ` WHERE "key" = ?`,
		list:        "SELECT " + columns + " FROM " + t,
		insert: "INSERT INTO " + t + ` (id, "key", secret, enabled, policy, created_at, updated_at) ` +
			"VALUES (?, ?, ?, ?, ?, toTimestamp(now()), toTimestamp(now())) IF NOT EXISTS",
		update: "UPDATE " + t + ` SET "key" = ?, secret = ?, enabled = ?, policy = ?, updated_at = toTimestamp(now()) WHERE id = ? IF EXISTS`,
		remove: "DELETE FROM " + t + " WHERE id = ? IF EXISTS",
	}
}

var (
	identRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,47}$`)
	classRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.]*$`)
)

// New returns a Manager on session. It validates the options, creates the
// keyspace and table when opts.CreateTable is set, and checks that the
// table has the columns it needs.
func New(ctx context.Context, session *gocql.Session, opts *Options) (*Manager, error) {
	if session == nil {
		return nil, errors.New("scylla: nil session")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
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
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	switch {
	case !identRE.MatchString(o.Keyspace):
		return nil, fmt.Errorf("scylla: Options.Keyspace %q: use a letter then letters, digits and underscores (at most 48)", o.Keyspace)
	case !identRE.MatchString(o.Table):
		return nil, fmt.Errorf("scylla: Options.Table %q: use a letter then letters, digits and underscores (at most 48)", o.Table)
	case !classRE.MatchString(o.ReplicationClass):
		return nil, fmt.Errorf("scylla: Options.ReplicationClass %q is not a strategy class name", o.ReplicationClass)
	case o.ReplicationFactor < 0:
		return nil, fmt.Errorf("scylla: Options.ReplicationFactor %d is negative", o.ReplicationFactor)
	}
	m := &Manager{session: session, stmts: newStatements(o.Keyspace, o.Table, o.ReplicationClass, o.ReplicationFactor)}
	if o.CreateTable {
		if err := m.createTable(ctx); err != nil {
			return nil, err
		}
		o.Logger.LogAttrs(ctx, slog.LevelInfo, "app manager table ready", slog.String("driver", "scylla"),
			slog.String("keyspace", o.Keyspace), slog.String("table", o.Table))
	}
	if err := session.Query(m.stmts.check).WithContext(ctx).Iter().Close(); err != nil {
		return nil, fmt.Errorf("scylla: table %s.%s is missing or lacks Sockudo's columns (set Options.CreateTable to create it): %w", o.Keyspace, o.Table, err)
	}
	return m, nil
}

func (m *Manager) createTable(ctx context.Context) error {
	for _, s := range []string{m.stmts.createKeyspace, m.stmts.createTable} {
		if err := m.session.Query(s).WithContext(ctx).Exec(); err != nil {
			return fmt.Errorf("scylla: %s: %w", firstWords(s), err)
		}
	}
	// Tables made by older Sockudo versions lack the policy column; adding
	// an existing column is an "invalid request" that is fine here.
	if err := m.session.Query(m.stmts.addPolicy).WithContext(ctx).Exec(); err != nil && !columnExists(err) {
		return fmt.Errorf("scylla: adding the policy column: %w", err)
	}
	if err := m.session.Query(m.stmts.createIndex).WithContext(ctx).Exec(); err != nil {
		return fmt.Errorf("scylla: creating the index on key: %w", err)
	}
	return nil
}

func columnExists(err error) bool {
	var re gocql.RequestError
	if !errors.As(err, &re) || re.Code() != gocql.ErrCodeInvalid {
		return false
	}
	msg := strings.ToLower(re.Message())
	return strings.Contains(msg, "exist") || strings.Contains(msg, "conflict")
}

func firstWords(s string) string {
	f := strings.Fields(s)
	if len(f) > 5 {
		f = f[:5]
	}
	return strings.Join(f, " ")
}

// FindByID returns the app with the id.
func (m *Manager) FindByID(ctx context.Context, id string) (*appmanager.App, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if id == "" { // CQL rejects an empty partition key
		return nil, fmt.Errorf("scylla: app with id %q: %w", id, appmanager.ErrNotFound)
	}
	a, err := scanApp(m.session.Query(m.stmts.findByID, id).WithContext(ctx).Iter())
	if errors.Is(err, gocql.ErrNotFound) {
		return nil, fmt.Errorf("scylla: app with id %q: %w", id, appmanager.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("scylla: find app by id %q: %w", id, err)
	}
	return a, nil
}

// FindByKey returns the app with the key.
func (m *Manager) FindByKey(ctx context.Context, key string) (*appmanager.App, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if key == "" { // never stored: apps must have a key
		return nil, fmt.Errorf("scylla: app with key %q: %w", key, appmanager.ErrNotFound)
	}
	iter := m.session.Query(m.stmts.findByKey, key).WithContext(ctx).Iter()
	apps, err := scanApps(iter)
	if err != nil {
		return nil, fmt.Errorf("scylla: find app by key %q: %w", key, err)
	}
	switch len(apps) {
	case 0:
		return nil, fmt.Errorf("scylla: app with key %q: %w", key, appmanager.ErrNotFound)
	case 1:
		return &apps[0], nil
	default:
		return nil, fmt.Errorf("scylla: %d apps have key %q", len(apps), key)
	}
}

// ListApps returns every app, sorted by id.
func (m *Manager) ListApps(ctx context.Context) ([]appmanager.App, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	apps, err := scanApps(m.session.Query(m.stmts.list).WithContext(ctx).Iter())
	if err != nil {
		return nil, fmt.Errorf("scylla: list apps: %w", err)
	}
	sort.Slice(apps, func(i, j int) bool { return apps[i].ID < apps[j].ID })
	return apps, nil
}

// CreateApp stores app. It fails with appmanager.ErrExists when the id or
// the key is taken.
func (m *Manager) CreateApp(ctx context.Context, app appmanager.App) error {
	r, err := m.prepareWrite(ctx, &app, "create")
	if err != nil {
		return err
	}
	applied, err := m.session.Query(m.stmts.insert, r.ID, r.Key, r.Secret, r.Enabled, string(r.Policy)).
		WithContext(ctx).MapScanCAS(map[string]any{})
	if err != nil {
		return fmt.Errorf("scylla: create app %q: %w", app.ID, err)
	}
	if !applied {
		return fmt.Errorf("scylla: create app %q: %w", app.ID, appmanager.ErrExists)
	}
	return nil
}

// CreateIfAbsent stores app unless an app with its id exists (a
// lightweight transaction), and reports whether it did. A key held by
// another app fails with appmanager.ErrExists.
func (m *Manager) CreateIfAbsent(ctx context.Context, app appmanager.App) (bool, error) {
	r, err := m.prepareWrite(ctx, &app, "create")
	if errors.Is(err, appmanager.ErrExists) {
		// The key check runs first: an existing app with this id is a
		// skip whatever its key, not a conflict.
		if _, ferr := m.FindByID(ctx, app.ID); ferr == nil || errors.Is(ferr, appmanager.ErrInvalidApp) {
			return false, nil
		}
	}
	if err != nil {
		return false, err
	}
	applied, err := m.session.Query(m.stmts.insert, r.ID, r.Key, r.Secret, r.Enabled, string(r.Policy)).
		WithContext(ctx).MapScanCAS(map[string]any{})
	if err != nil {
		return false, fmt.Errorf("scylla: create app %q: %w", app.ID, err)
	}
	return applied, nil
}

// UpdateApp replaces the app with app.ID. It fails with
// appmanager.ErrNotFound when there is none and appmanager.ErrExists when
// the key belongs to another app. Sockudo settings that App does not
// model (idempotency, channel namespaces...) are not kept.
func (m *Manager) UpdateApp(ctx context.Context, app appmanager.App) error {
	r, err := m.prepareWrite(ctx, &app, "update")
	if err != nil {
		return err
	}
	applied, err := m.session.Query(m.stmts.update, r.Key, r.Secret, r.Enabled, string(r.Policy), r.ID).
		WithContext(ctx).MapScanCAS(map[string]any{})
	if err != nil {
		return fmt.Errorf("scylla: update app %q: %w", app.ID, err)
	}
	if !applied {
		return fmt.Errorf("scylla: update app %q: %w", app.ID, appmanager.ErrNotFound)
	}
	return nil
}

// prepareWrite validates app and checks that no other app has its key.
func (m *Manager) prepareWrite(ctx context.Context, app *appmanager.App, op string) (*appmanager.Record, error) {
	r, err := appmanager.NewRecord(app)
	if err != nil {
		return nil, err
	}
	iter := m.session.Query(m.stmts.idsByKey, app.Key).WithContext(ctx).Iter()
	var id string
	taken := false
	for iter.Scan(&id) {
		if id != app.ID {
			taken = true
		}
	}
	if err := iter.Close(); err != nil {
		return nil, fmt.Errorf("scylla: %s app %q: checking the key: %w", op, app.ID, err)
	}
	if taken {
		return nil, fmt.Errorf("scylla: %s app %q: key %q is taken: %w", op, app.ID, app.Key, appmanager.ErrExists)
	}
	return r, nil
}

// DeleteApp removes the app with the id. It fails with
// appmanager.ErrNotFound when there is none.
func (m *Manager) DeleteApp(ctx context.Context, id string) error {
	if id == "" {
		return fmt.Errorf("scylla: delete app %q: %w", id, appmanager.ErrNotFound)
	}
	applied, err := m.session.Query(m.stmts.remove, id).WithContext(ctx).MapScanCAS(map[string]any{})
	if err != nil {
		return fmt.Errorf("scylla: delete app %q: %w", id, err)
	}
	if !applied {
		return fmt.Errorf("scylla: delete app %q: %w", id, appmanager.ErrNotFound)
	}
	return nil
}

// row holds the scan targets of one row of columns.
type row struct {
	r                   appmanager.Record
	enabled             *bool
	cm, ua, wl          bool
	nums                [11]int64
	policy, hooks, orig string
}

func (w *row) dest() []any {
	return []any{&w.r.ID, &w.r.Key, &w.r.Secret, &w.nums[0], &w.cm, &w.enabled,
		&w.nums[1], &w.nums[2], &w.nums[3], &w.nums[4], &w.nums[5], &w.nums[6], &w.nums[7], &w.nums[8], &w.nums[9], &w.nums[10],
		&w.ua, &w.wl, &w.policy, &w.hooks, &w.orig}
}

func (w *row) app() (*appmanager.App, error) {
	r := w.r
	r.Enabled = w.enabled == nil || *w.enabled // NULL reads as enabled, as in the SQL schema
	r.EnableClientMessages, r.EnableUserAuthentication, r.EnableWatchlistEvents = w.cm, w.ua, w.wl
	dst := [11]*int64{
		&r.MaxConnections, &r.MaxBackendEventsPerSecond, &r.MaxClientEventsPerSecond,
		&r.MaxReadRequestsPerSecond, &r.MaxPresenceMembersPerChannel, &r.MaxPresenceMemberSizeInKB,
		&r.MaxChannelNameLength, &r.MaxEventChannelsAtOnce, &r.MaxEventNameLength,
		&r.MaxEventPayloadInKB, &r.MaxEventBatchSize,
	}
	for i, n := range w.nums {
		*dst[i] = n
	}
	r.Policy, r.Webhooks, r.AllowedOrigins = []byte(w.policy), []byte(w.hooks), []byte(w.orig)
	return r.App()
}

// scanApp reads the only row of iter; gocql.ErrNotFound when there is none.
func scanApp(iter *gocql.Iter) (*appmanager.App, error) {
	var w row
	if !iter.Scan(w.dest()...) {
		if err := iter.Close(); err != nil {
			return nil, err
		}
		return nil, gocql.ErrNotFound
	}
	if err := iter.Close(); err != nil {
		return nil, err
	}
	return w.app()
}

// scanApps reads every row of iter.
func scanApps(iter *gocql.Iter) ([]appmanager.App, error) {
	var apps []appmanager.App
	for {
		var w row
		if !iter.Scan(w.dest()...) {
			break
		}
		a, err := w.app()
		if err != nil {
			iter.Close()
			return nil, err
		}
		apps = append(apps, *a)
	}
	if err := iter.Close(); err != nil {
		return nil, err
	}
	return apps, nil
}

package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/sockudo-go/sockudo/appmanager"
)

// DefaultTableName is Sockudo's table name.
const DefaultTableName = "applications"

// Options configures a Manager. The zero value (or nil) uses Sockudo's
// table name and expects the table to exist.
type Options struct {
	// TableName is the table, "name" or "database.name" (letters, digits
	// and underscores). Empty means DefaultTableName.
	TableName string
	// CreateTable creates the table and its indexes when missing, and adds
	// the columns that older Sockudo versions lacked, as Sockudo does at
	// start.
	CreateTable bool
	// Logger receives a message when the table is created or checked; nil
	// means slog.Default().
	Logger *slog.Logger
}

// Manager reads and writes apps in a MySQL or MariaDB table. It is safe for
// concurrent use.
type Manager struct {
	db    *sql.DB
	table string // quoted

	findByID, findByKey, list, insert, update, remove, exists string
}

var (
	_ appmanager.Manager = (*Manager)(nil)
	_ appmanager.Lister  = (*Manager)(nil)
	_ appmanager.Writer  = (*Manager)(nil)
	_ appmanager.Creator = (*Manager)(nil)
)

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// columns are the columns read and written for an app, in Record order.
const columns = "id, `key`, secret, max_connections, enable_client_messages, enabled, " +
	"max_backend_events_per_second, max_client_events_per_second, max_read_requests_per_second, " +
	"max_presence_members_per_channel, max_presence_member_size_in_kb, max_channel_name_length, " +
	"max_event_channels_at_once, max_event_name_length, max_event_payload_in_kb, max_event_batch_size, " +
	"enable_user_authentication, enable_watchlist_events, policy, webhooks, allowed_origins"

// New returns a Manager on db. It validates the options, creates the table
// when opts.CreateTable is set, and checks that the table has the columns
// it needs.
func New(ctx context.Context, db *sql.DB, opts *Options) (*Manager, error) {
	if db == nil {
		return nil, errors.New("mysql: nil db")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.TableName == "" {
		o.TableName = DefaultTableName
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	parts := strings.Split(o.TableName, ".")
	if len(parts) > 2 {
		return nil, fmt.Errorf("mysql: Options.TableName %q: want name or database.name", o.TableName)
	}
	quoted := make([]string, len(parts))
	for i, p := range parts {
		if !identRE.MatchString(p) {
			return nil, fmt.Errorf("mysql: Options.TableName %q: use letters, digits and underscores (at most 64)", o.TableName)
		}
		quoted[i] = "`" + p + "`"
	}
	m := &Manager{db: db, table: strings.Join(quoted, ".")}
	m.findByID = "SELECT " + columns + " FROM " + m.table + " WHERE id = ?"
	m.findByKey = "SELECT " + columns + " FROM " + m.table + " WHERE `key` = ?"
	m.list = "SELECT " + columns + " FROM " + m.table + " ORDER BY id"
	m.insert = "INSERT INTO " + m.table + " (" + columns + ") VALUES (?" + strings.Repeat(", ?", 20) + ")"
	m.update = "UPDATE " + m.table + " SET `key` = ?, secret = ?, max_connections = ?, " +
		"enable_client_messages = ?, enabled = ?, max_backend_events_per_second = ?, " +
		"max_client_events_per_second = ?, max_read_requests_per_second = ?, " +
		"max_presence_members_per_channel = ?, max_presence_member_size_in_kb = ?, " +
		"max_channel_name_length = ?, max_event_channels_at_once = ?, max_event_name_length = ?, " +
		"max_event_payload_in_kb = ?, max_event_batch_size = ?, enable_user_authentication = ?, " +
		"enable_watchlist_events = ?, policy = ?, webhooks = ?, allowed_origins = ? WHERE id = ? AND BINARY id = ?"
	m.remove = "DELETE FROM " + m.table + " WHERE id = ? AND BINARY id = ?"
	m.exists = "SELECT id FROM " + m.table + " WHERE id = ?"

	if o.CreateTable {
		if err := m.createTable(ctx, parts); err != nil {
			return nil, err
		}
		o.Logger.LogAttrs(ctx, slog.LevelInfo, "app manager table ready", slog.String("driver", "mysql"), slog.String("table", o.TableName))
	}
	rows, err := db.QueryContext(ctx, "SELECT "+columns+" FROM "+m.table+" WHERE 1 = 0")
	if err != nil {
		return nil, fmt.Errorf("mysql: table %s is missing or lacks Sockudo's columns (set Options.CreateTable to create it): %w", m.table, err)
	}
	rows.Close()
	return m, nil
}

// createTableSQL is Sockudo's MySQL schema for the applications table, with
// its indexes declared inline so that it can run again.
func createTableSQL(table, bare string) string {
	return "CREATE TABLE IF NOT EXISTS " + table + ` (
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
		updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
		INDEX ` + "`idx_" + bare + "_key` (`key`)" + `,
		INDEX ` + "`idx_" + bare + "_enabled`" + ` (enabled),
		INDEX ` + "`idx_" + bare + "_created_at`" + ` (created_at)
	) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`
}

// laterColumns were added to Sockudo's table after its first release.
var laterColumns = []struct{ name, typ string }{
	{"allowed_origins", "JSON NULL"},
	{"enable_watchlist_events", "BOOLEAN NULL"},
	{"webhooks", "JSON NULL"},
	{"channel_delta_compression", "JSON NULL"},
	{"idempotency", "JSON NULL"},
	{"connection_recovery", "JSON NULL"},
	{"policy", "JSON NULL"},
}

func (m *Manager) createTable(ctx context.Context, parts []string) error {
	bare := parts[len(parts)-1]
	if _, err := m.db.ExecContext(ctx, createTableSQL(m.table, bare)); err != nil {
		return fmt.Errorf("mysql: creating table %s: %w", m.table, err)
	}
	schema := "DATABASE()"
	var args []any
	if len(parts) == 2 {
		schema = "?"
		args = append(args, parts[0])
	}
	args = append(args, bare)
	rows, err := m.db.QueryContext(ctx, "SELECT COLUMN_NAME FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = "+schema+" AND TABLE_NAME = ?", args...)
	if err != nil {
		return fmt.Errorf("mysql: reading the columns of %s: %w", m.table, err)
	}
	have := make(map[string]bool)
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return fmt.Errorf("mysql: reading the columns of %s: %w", m.table, err)
		}
		have[strings.ToLower(c)] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("mysql: reading the columns of %s: %w", m.table, err)
	}
	for _, c := range laterColumns {
		if have[c.name] {
			continue
		}
		_, err := m.db.ExecContext(ctx, "ALTER TABLE "+m.table+" ADD COLUMN "+c.name+" "+c.typ)
		var me *mysql.MySQLError
		if err != nil && !(errors.As(err, &me) && me.Number == 1060) { // 1060: duplicate column (a concurrent start added it)
			return fmt.Errorf("mysql: adding column %s to %s: %w", c.name, m.table, err)
		}
	}
	return nil
}

// FindByID returns the app with the id.
func (m *Manager) FindByID(ctx context.Context, id string) (*appmanager.App, error) {
	return m.find(ctx, m.findByID, "id", id)
}

// FindByKey returns the app with the key.
func (m *Manager) FindByKey(ctx context.Context, key string) (*appmanager.App, error) {
	return m.find(ctx, m.findByKey, "key", key)
}

func (m *Manager) find(ctx context.Context, query, field, v string) (*appmanager.App, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	a, err := scanApp(m.db.QueryRowContext(ctx, query, v))
	// The table's collation is case-insensitive (and ignores trailing
	// spaces); ids and keys must match exactly.
	if errors.Is(err, sql.ErrNoRows) || (err == nil && ((field == "id" && a.ID != v) || (field == "key" && a.Key != v))) {
		return nil, fmt.Errorf("mysql: app with %s %q: %w", field, v, appmanager.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("mysql: find app by %s %q: %w", field, v, err)
	}
	return a, nil
}

// ListApps returns every app, sorted by id. A malformed row fails the
// whole call with an error naming it.
func (m *Manager) ListApps(ctx context.Context) ([]appmanager.App, error) {
	rows, err := m.db.QueryContext(ctx, m.list)
	if err != nil {
		return nil, fmt.Errorf("mysql: list apps: %w", err)
	}
	defer rows.Close()
	var apps []appmanager.App
	for rows.Next() {
		a, err := scanApp(rows)
		if err != nil {
			return nil, fmt.Errorf("mysql: list apps: %w", err)
		}
		apps = append(apps, *a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("mysql: list apps: %w", err)
	}
	return apps, nil
}

// CreateApp inserts app. It fails with appmanager.ErrExists when the id or
// the key is taken (compared case-insensitively, by the table's collation).
func (m *Manager) CreateApp(ctx context.Context, app appmanager.App) error {
	args, err := values(&app)
	if err != nil {
		return err
	}
	if _, err := m.db.ExecContext(ctx, m.insert, args...); err != nil {
		return writeError("create", app.ID, err)
	}
	return nil
}

// CreateIfAbsent inserts app unless an app with its id exists, and
// reports whether it did. An id that differs from a stored one only in case
// (which the table's collation treats as equal) and a key held by another
// app fail with appmanager.ErrExists.
func (m *Manager) CreateIfAbsent(ctx context.Context, app appmanager.App) (bool, error) {
	args, err := values(&app)
	if err != nil {
		return false, err
	}
	// A plain insert, so that a duplicate key is told from a duplicate id
	// (INSERT IGNORE would hide both).
	_, err = m.db.ExecContext(ctx, m.insert, args...)
	var me *mysql.MySQLError
	if err == nil {
		return true, nil
	}
	if !errors.As(err, &me) || me.Number != 1062 {
		return false, writeError("create", app.ID, err)
	}
	var id string
	switch err := m.db.QueryRowContext(ctx, m.exists, app.ID).Scan(&id); {
	case err == nil && id == app.ID:
		return false, nil
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return false, fmt.Errorf("mysql: create app %q: %w", app.ID, err)
	}
	return false, writeError("create", app.ID, me)
}

// UpdateApp replaces the app with app.ID. It fails with
// appmanager.ErrNotFound when there is none and appmanager.ErrExists when
// the key belongs to another app. Sockudo settings that App does not
// model (idempotency, channel namespaces...) are not kept.
func (m *Manager) UpdateApp(ctx context.Context, app appmanager.App) error {
	args, err := values(&app)
	if err != nil {
		return err
	}
	// The collation would match other cases of the id: update the exact one.
	args = append(args[1:], app.ID, app.ID)
	res, err := m.db.ExecContext(ctx, m.update, args...)
	if err != nil {
		return writeError("update", app.ID, err)
	}
	if n, err := res.RowsAffected(); err == nil && n > 0 {
		return nil
	}
	// MySQL counts changed rows, not matched ones: an update that changes
	// nothing affects no row. Tell that from a missing app.
	var id string
	switch err := m.db.QueryRowContext(ctx, m.exists, app.ID).Scan(&id); {
	case errors.Is(err, sql.ErrNoRows) || (err == nil && id != app.ID):
		return fmt.Errorf("mysql: update app %q: %w", app.ID, appmanager.ErrNotFound)
	case err != nil:
		return fmt.Errorf("mysql: update app %q: %w", app.ID, err)
	}
	return nil
}

// DeleteApp removes the app with the id. It fails with
// appmanager.ErrNotFound when there is none.
func (m *Manager) DeleteApp(ctx context.Context, id string) error {
	// The collation would match other cases of id: delete the exact one.
	res, err := m.db.ExecContext(ctx, m.remove, id, id)
	if err != nil {
		return fmt.Errorf("mysql: delete app %q: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("mysql: delete app %q: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("mysql: delete app %q: %w", id, appmanager.ErrNotFound)
	}
	return nil
}

func writeError(op, id string, err error) error {
	var me *mysql.MySQLError
	if errors.As(err, &me) && me.Number == 1062 { // ER_DUP_ENTRY
		return fmt.Errorf("mysql: %s app %q: %w (%s)", op, id, appmanager.ErrExists, me.Message)
	}
	return fmt.Errorf("mysql: %s app %q: %w", op, id, err)
}

// values returns the insert arguments for app, in column order.
func values(app *appmanager.App) ([]any, error) {
	r, err := appmanager.NewRecord(app)
	if err != nil {
		return nil, err
	}
	opt := func(n int64) any {
		if n == 0 {
			return nil
		}
		return n
	}
	doc := func(b []byte) any {
		if b == nil {
			return nil
		}
		return string(b)
	}
	return []any{
		r.ID, r.Key, r.Secret, r.MaxConnections, r.EnableClientMessages, r.Enabled,
		opt(r.MaxBackendEventsPerSecond), r.MaxClientEventsPerSecond, opt(r.MaxReadRequestsPerSecond),
		opt(r.MaxPresenceMembersPerChannel), opt(r.MaxPresenceMemberSizeInKB), opt(r.MaxChannelNameLength),
		opt(r.MaxEventChannelsAtOnce), opt(r.MaxEventNameLength), opt(r.MaxEventPayloadInKB), opt(r.MaxEventBatchSize),
		r.EnableUserAuthentication, r.EnableWatchlistEvents, doc(r.Policy), doc(r.Webhooks), doc(r.AllowedOrigins),
	}, nil
}

type scanner interface{ Scan(dest ...any) error }

// scanApp reads one row of columns into an app.
func scanApp(row scanner) (*appmanager.App, error) {
	var (
		r                    appmanager.Record
		key, secret          sql.NullString
		enabled, cm, ua, wl  sql.NullBool
		nums                 [11]sql.NullInt64
		policy, hooks, origs []byte
	)
	err := row.Scan(&r.ID, &key, &secret, &nums[0], &cm, &enabled,
		&nums[1], &nums[2], &nums[3], &nums[4], &nums[5], &nums[6], &nums[7], &nums[8], &nums[9], &nums[10],
		&ua, &wl, &policy, &hooks, &origs)
	if err != nil {
		return nil, err
	}
	r.Key, r.Secret = key.String, secret.String
	r.Enabled = enabled.Bool || !enabled.Valid // the column defaults to TRUE
	r.EnableClientMessages, r.EnableUserAuthentication, r.EnableWatchlistEvents = cm.Bool, ua.Bool, wl.Bool
	dst := [11]*int64{
		&r.MaxConnections, &r.MaxBackendEventsPerSecond, &r.MaxClientEventsPerSecond,
		&r.MaxReadRequestsPerSecond, &r.MaxPresenceMembersPerChannel, &r.MaxPresenceMemberSizeInKB,
		&r.MaxChannelNameLength, &r.MaxEventChannelsAtOnce, &r.MaxEventNameLength,
		&r.MaxEventPayloadInKB, &r.MaxEventBatchSize,
	}
	for i, n := range nums {
		*dst[i] = n.Int64
	}
	r.Policy, r.Webhooks, r.AllowedOrigins = policy, hooks, origs
	return r.App()
}

package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sockudo-go/sockudo/appmanager"
)

// DefaultTableName is Sockudo's table name.
const DefaultTableName = "applications"

// Options configures a Manager. The zero value (or nil) uses Sockudo's
// table name and expects the table to exist.
type Options struct {
	// TableName is the table, "name" or "schema.name" (letters, digits and
	// underscores). It is quoted, so case matters; Sockudo's unquoted names
	// are lowercase. Empty means DefaultTableName.
	TableName string
	// CreateTable creates the table and its indexes when missing, and adds
	// the JSONB columns that older Sockudo versions lacked, as Sockudo does
	// at start.
	CreateTable bool
	// Logger receives a message when the table is created or checked; nil
	// means slog.Default().
	Logger *slog.Logger
}

// Manager reads and writes apps in a PostgreSQL table. It is safe for
// concurrent use.
type Manager struct {
	pool  *pgxpool.Pool
	table string // quoted

	findByID, findByKey, list, insert, insertIfAbsent, update, remove string
}

var (
	_ appmanager.Manager = (*Manager)(nil)
	_ appmanager.Lister  = (*Manager)(nil)
	_ appmanager.Writer  = (*Manager)(nil)
	_ appmanager.Creator = (*Manager)(nil)
)

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// columns are the columns read for an app, in Record order.
const columns = `id, "key", secret, max_connections, enable_client_messages, enabled,
	max_backend_events_per_second, max_client_events_per_second, max_read_requests_per_second,
	max_presence_members_per_channel, max_presence_member_size_in_kb, max_channel_name_length,
	max_event_channels_at_once, max_event_name_length, max_event_payload_in_kb, max_event_batch_size,
	enable_user_authentication, enable_watchlist_events, policy, webhooks, allowed_origins`

// New returns a Manager on pool. It validates the options, creates the
// table when opts.CreateTable is set, and checks that the table has the
// columns it needs.
func New(ctx context.Context, pool *pgxpool.Pool, opts *Options) (*Manager, error) {
	if pool == nil {
		return nil, errors.New("postgres: nil pool")
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
		return nil, fmt.Errorf("postgres: Options.TableName %q: want name or schema.name", o.TableName)
	}
	for _, p := range parts {
		if !identRE.MatchString(p) {
			return nil, fmt.Errorf("postgres: Options.TableName %q: use letters, digits and underscores (at most 63)", o.TableName)
		}
	}
	m := &Manager{pool: pool, table: pgx.Identifier(parts).Sanitize()}
	m.findByID = `SELECT ` + columns + ` FROM ` + m.table + ` WHERE id = $1`
	m.findByKey = `SELECT ` + columns + ` FROM ` + m.table + ` WHERE "key" = $1`
	m.list = `SELECT ` + columns + ` FROM ` + m.table + ` ORDER BY id`
	m.insert = `INSERT INTO ` + m.table + ` (` + columns + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)`
	// ON CONFLICT (id) skips an existing id only; a taken key still fails.
	m.insertIfAbsent = m.insert + ` ON CONFLICT (id) DO NOTHING`
	m.update = `UPDATE ` + m.table + ` SET "key" = $2, secret = $3, max_connections = $4,
		enable_client_messages = $5, enabled = $6, max_backend_events_per_second = $7,
		max_client_events_per_second = $8, max_read_requests_per_second = $9,
		max_presence_members_per_channel = $10, max_presence_member_size_in_kb = $11,
		max_channel_name_length = $12, max_event_channels_at_once = $13, max_event_name_length = $14,
		max_event_payload_in_kb = $15, max_event_batch_size = $16, enable_user_authentication = $17,
		enable_watchlist_events = $18, policy = $19, webhooks = $20, allowed_origins = $21,
		updated_at = CURRENT_TIMESTAMP
		WHERE id = $1`
	m.remove = `DELETE FROM ` + m.table + ` WHERE id = $1`

	if o.CreateTable {
		if err := m.createTable(ctx, parts[len(parts)-1]); err != nil {
			return nil, err
		}
		o.Logger.LogAttrs(ctx, slog.LevelInfo, "app manager table ready", slog.String("driver", "postgres"), slog.String("table", o.TableName))
	}
	if _, err := pool.Exec(ctx, `SELECT `+columns+` FROM `+m.table+` WHERE false`); err != nil {
		return nil, fmt.Errorf("postgres: table %s is missing or lacks Sockudo's columns (set Options.CreateTable to create it): %w", m.table, err)
	}
	return m, nil
}

// CreateTableSQL returns the statements that create Sockudo's applications
// table under the (unquoted, already validated) name: the table, the JSONB
// columns that older versions lacked, and the indexes.
func createTableSQL(table, bare string) []string {
	stmts := []string{`CREATE TABLE IF NOT EXISTS ` + table + ` (
		id VARCHAR(255) PRIMARY KEY,
		"key" VARCHAR(255) UNIQUE NOT NULL,
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
	)`}
	for _, c := range []string{"allowed_origins", "webhooks", "channel_delta_compression", "idempotency", "connection_recovery", "policy"} {
		stmts = append(stmts, `ALTER TABLE `+table+` ADD COLUMN IF NOT EXISTS `+c+` JSONB`)
	}
	for _, c := range []string{"key", "enabled", "created_at"} {
		idx := pgx.Identifier{"idx_" + bare + "_" + c}.Sanitize()
		stmts = append(stmts, `CREATE INDEX IF NOT EXISTS `+idx+` ON `+table+` (`+pgx.Identifier{c}.Sanitize()+`)`)
	}
	return stmts
}

func (m *Manager) createTable(ctx context.Context, bare string) error {
	for _, s := range createTableSQL(m.table, bare) {
		if _, err := m.pool.Exec(ctx, s); err != nil {
			return fmt.Errorf("postgres: creating table %s: %w", m.table, err)
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
	a, err := scanApp(m.pool.QueryRow(ctx, query, v))
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && ((field == "id" && a.ID != v) || (field == "key" && a.Key != v))) {
		return nil, fmt.Errorf("postgres: app with %s %q: %w", field, v, appmanager.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: find app by %s %q: %w", field, v, err)
	}
	return a, nil
}

// ListApps returns every app, sorted by id. A malformed row fails the
// whole call with an error naming it.
func (m *Manager) ListApps(ctx context.Context) ([]appmanager.App, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rows, err := m.pool.Query(ctx, m.list)
	if err != nil {
		return nil, fmt.Errorf("postgres: list apps: %w", err)
	}
	defer rows.Close()
	var apps []appmanager.App
	for rows.Next() {
		a, err := scanApp(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: list apps: %w", err)
		}
		apps = append(apps, *a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: list apps: %w", err)
	}
	return apps, nil
}

// CreateApp inserts app. It fails with appmanager.ErrExists when the id or
// the key is taken.
func (m *Manager) CreateApp(ctx context.Context, app appmanager.App) error {
	args, err := values(&app)
	if err != nil {
		return err
	}
	if _, err := m.pool.Exec(ctx, m.insert, args...); err != nil {
		return writeError("create", app.ID, err)
	}
	return nil
}

// CreateIfAbsent inserts app unless an app with its id exists, and
// reports whether it did. A key held by another app fails with
// appmanager.ErrExists.
func (m *Manager) CreateIfAbsent(ctx context.Context, app appmanager.App) (bool, error) {
	args, err := values(&app)
	if err != nil {
		return false, err
	}
	tag, err := m.pool.Exec(ctx, m.insertIfAbsent, args...)
	if err != nil {
		return false, writeError("create", app.ID, err)
	}
	return tag.RowsAffected() == 1, nil
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
	tag, err := m.pool.Exec(ctx, m.update, args...)
	if err != nil {
		return writeError("update", app.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: update app %q: %w", app.ID, appmanager.ErrNotFound)
	}
	return nil
}

// DeleteApp removes the app with the id. It fails with
// appmanager.ErrNotFound when there is none.
func (m *Manager) DeleteApp(ctx context.Context, id string) error {
	tag, err := m.pool.Exec(ctx, m.remove, id)
	if err != nil {
		return fmt.Errorf("postgres: delete app %q: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: delete app %q: %w", id, appmanager.ErrNotFound)
	}
	return nil
}

func writeError(op, id string, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" { // unique_violation
		return fmt.Errorf("postgres: %s app %q: %w (%s)", op, id, appmanager.ErrExists, pgErr.ConstraintName)
	}
	return fmt.Errorf("postgres: %s app %q: %w", op, id, err)
}

// values returns the insert/update arguments for app, in column order.
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
	return []any{
		r.ID, r.Key, r.Secret, r.MaxConnections, r.EnableClientMessages, r.Enabled,
		opt(r.MaxBackendEventsPerSecond), r.MaxClientEventsPerSecond, opt(r.MaxReadRequestsPerSecond),
		opt(r.MaxPresenceMembersPerChannel), opt(r.MaxPresenceMemberSizeInKB), opt(r.MaxChannelNameLength),
		opt(r.MaxEventChannelsAtOnce), opt(r.MaxEventNameLength), opt(r.MaxEventPayloadInKB), opt(r.MaxEventBatchSize),
		r.EnableUserAuthentication, r.EnableWatchlistEvents, r.Policy, r.Webhooks, r.AllowedOrigins,
	}, nil
}

// scanApp reads one row of columns into an app.
func scanApp(row pgx.Row) (*appmanager.App, error) {
	var (
		r                    appmanager.Record
		key, secret          pgtype.Text
		enabled, cm, ua, wl  pgtype.Bool
		nums                 [11]pgtype.Int8
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

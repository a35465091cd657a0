package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	gomysql "github.com/go-sql-driver/mysql"
	"github.com/gocql/gocql"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/appmanager/dynamodb"
	"github.com/sockudo-go/sockudo/appmanager/memory"
	"github.com/sockudo-go/sockudo/appmanager/mysql"
	"github.com/sockudo-go/sockudo/appmanager/postgres"
	"github.com/sockudo-go/sockudo/appmanager/scylla"
)

// appManagerConfig is the "app_manager" section.
type appManagerConfig struct {
	Driver string         `json:"driver"`
	Array  appArrayConfig `json:"array"`
	Cache  appCacheConfig `json:"cache"`
	// DefaultApp is built from SOCKUDO_DEFAULT_APP_* and used by the memory
	// driver when no apps are configured.
	DefaultApp appmanager.App `json:"-"`
	// envDefaultApp records that SOCKUDO_DEFAULT_APP_ID, _KEY or _SECRET
	// was set; skipInline that inline apps are switched off.
	envDefaultApp, skipInline bool
	// poolingEnv holds the database_pooling settings given by
	// DATABASE_POOLING_ENABLED and DATABASE_POOL_MIN/MAX; they override
	// the file's database_pooling section.
	poolingEnv databasePoolingConfig `json:"-"`
}

type appArrayConfig struct {
	Apps []appmanager.App `json:"apps"`
}

type appCacheConfig struct {
	Enabled bool `json:"enabled"`
	// TTL is in seconds.
	TTL int `json:"ttl"`
}

func defaultAppManagerConfig() appManagerConfig {
	return appManagerConfig{
		Driver:     "memory",
		Cache:      appCacheConfig{Enabled: true, TTL: 300},
		DefaultApp: sockudoDefaultApp(),
	}
}

// sockudoDefaultApp is Sockudo's default app: app-id / app-key /
// app-secret, client messages off, and 100 for every numeric limit.
func sockudoDefaultApp() appmanager.App {
	return appmanager.App{
		ID: "app-id", Key: "app-key", Secret: "app-secret", Enabled: true,
		MaxConnections: 100, MaxBackendEventsPerSecond: 100, MaxClientEventsPerSecond: 100,
		MaxReadRequestsPerSecond: 100, MaxPresenceMembersPerChannel: 100, MaxPresenceMemberSizeInKB: 100,
		MaxChannelNameLength: 100, MaxEventChannelsAtOnce: 100, MaxEventNameLength: 100,
		MaxEventPayloadInKB: 100, MaxEventBatchSize: 100,
	}
}

func (c *appManagerConfig) applyEnv(e env) error {
	e.str(&c.Driver, "APP_MANAGER_DRIVER")
	// As in Sockudo, CACHE_TTL_SECONDS also sets the app cache's TTL;
	// APP_MANAGER_CACHE_TTL, read below, wins.
	if err := e.integer(&c.Cache.TTL, "CACHE_TTL_SECONDS"); err != nil {
		return err
	}
	if err := e.boolean(&c.Cache.Enabled, "APP_MANAGER_CACHE_ENABLED"); err != nil {
		return err
	}
	if err := e.integer(&c.Cache.TTL, "APP_MANAGER_CACHE_TTL"); err != nil {
		return err
	}
	if err := c.poolingEnv.applyEnv(e); err != nil {
		return err
	}
	// Inline apps can be switched off, and, as in Sockudo, a default app
	// given by SOCKUDO_DEFAULT_APP_ID, _KEY or _SECRET replaces them.
	skip, register := false, true
	if err := e.boolean(&skip, "SOCKUDO_SKIP_INLINE_APPS"); err != nil {
		return err
	}
	if err := e.boolean(&register, "APP_MANAGER_REGISTER_INLINE_APPS"); err != nil {
		return err
	}
	c.skipInline = skip || !register
	for _, n := range []string{"SOCKUDO_DEFAULT_APP_ID", "SOCKUDO_DEFAULT_APP_KEY", "SOCKUDO_DEFAULT_APP_SECRET"} {
		if _, ok := e.lookup(n); ok {
			c.envDefaultApp = true
		}
	}
	if c.skipInline || c.envDefaultApp {
		c.Array.Apps = nil
	}
	d := &c.DefaultApp
	if err := e.boolean(&d.EnableClientMessages, "SOCKUDO_ENABLE_CLIENT_MESSAGES"); err != nil {
		return err
	}
	e.str(&d.ID, "SOCKUDO_DEFAULT_APP_ID")
	e.str(&d.Key, "SOCKUDO_DEFAULT_APP_KEY")
	e.str(&d.Secret, "SOCKUDO_DEFAULT_APP_SECRET")
	for _, b := range []struct {
		dst  *bool
		name string
	}{
		{&d.Enabled, "SOCKUDO_DEFAULT_APP_ENABLED"},
		{&d.EnableClientMessages, "SOCKUDO_DEFAULT_APP_ENABLE_CLIENT_MESSAGES"},
		{&d.EnableUserAuthentication, "SOCKUDO_DEFAULT_APP_ENABLE_USER_AUTHENTICATION"},
		{&d.EnableWatchlistEvents, "SOCKUDO_DEFAULT_APP_ENABLE_WATCHLIST_EVENTS"},
		{&d.EnableSubscriptionCountEvents, "SOCKUDO_DEFAULT_APP_ENABLE_SUBSCRIPTION_COUNT_EVENTS"},
	} {
		if err := e.boolean(b.dst, b.name); err != nil {
			return err
		}
	}
	for _, n := range []struct {
		dst  *int
		name string
	}{
		{&d.MaxConnections, "SOCKUDO_DEFAULT_APP_MAX_CONNECTIONS"},
		{&d.MaxBackendEventsPerSecond, "SOCKUDO_DEFAULT_APP_MAX_BACKEND_EVENTS_PER_SECOND"},
		{&d.MaxClientEventsPerSecond, "SOCKUDO_DEFAULT_APP_MAX_CLIENT_EVENTS_PER_SECOND"},
		{&d.MaxReadRequestsPerSecond, "SOCKUDO_DEFAULT_APP_MAX_READ_REQUESTS_PER_SECOND"},
		{&d.MaxPresenceMembersPerChannel, "SOCKUDO_DEFAULT_APP_MAX_PRESENCE_MEMBERS_PER_CHANNEL"},
		{&d.MaxPresenceMemberSizeInKB, "SOCKUDO_DEFAULT_APP_MAX_PRESENCE_MEMBER_SIZE_IN_KB"},
		{&d.MaxChannelNameLength, "SOCKUDO_DEFAULT_APP_MAX_CHANNEL_NAME_LENGTH"},
		{&d.MaxEventChannelsAtOnce, "SOCKUDO_DEFAULT_APP_MAX_EVENT_CHANNELS_AT_ONCE"},
		{&d.MaxEventNameLength, "SOCKUDO_DEFAULT_APP_MAX_EVENT_NAME_LENGTH"},
		{&d.MaxEventPayloadInKB, "SOCKUDO_DEFAULT_APP_MAX_EVENT_PAYLOAD_IN_KB"},
		{&d.MaxEventBatchSize, "SOCKUDO_DEFAULT_APP_MAX_EVENT_BATCH_SIZE"},
	} {
		if err := e.integer(n.dst, n.name); err != nil {
			return err
		}
	}
	e.list(&d.AllowedOrigins, "SOCKUDO_DEFAULT_APP_ALLOWED_ORIGINS")
	return nil
}

// openAppManager builds the app manager that cfg.AppManager.Driver names.
// The returned close function releases its connections. Database drivers
// create their table when it is missing, as Sockudo does.
func openAppManager(ctx context.Context, cfg *Config, log *slog.Logger) (appmanager.Manager, func(), error) {
	pooling := poolingOf(cfg, cfg.AppManager.poolingEnv)
	switch cfg.AppManager.Driver {
	case "", "memory", "array":
		apps := cfg.AppManager.Array.Apps
		if len(apps) == 0 && !cfg.AppManager.skipInline && cfg.AppManager.DefaultApp.Enabled {
			apps = []appmanager.App{cfg.AppManager.DefaultApp}
		}
		m, err := memory.New(apps...)
		if err != nil {
			return nil, nil, fmt.Errorf("app_manager.array.apps: %w", err)
		}
		return m, func() {}, nil
	case "mysql":
		return openMySQL(ctx, &cfg.Database.MySQL, pooling, log)
	case "postgres", "pgsql", "postgresql":
		return openPostgres(ctx, &cfg.Database.Postgres, pooling, log)
	case "dynamodb":
		return openDynamoDB(ctx, &cfg.Database.DynamoDB, log)
	case "scylladb", "scylla":
		return openScylla(ctx, &cfg.Database.ScyllaDB, log)
	default:
		return nil, nil, fmt.Errorf("app_manager.driver (APP_MANAGER_DRIVER) %q is not one of memory, mysql, postgres, pgsql, dynamodb, scylladb", cfg.AppManager.Driver)
	}
}

// sqlConfig is database.mysql or database.postgres.
type sqlConfig struct {
	Host      string `json:"host"`
	Port      int    `json:"port"`
	Username  string `json:"username"`
	Password  string `json:"password"`
	Database  string `json:"database"`
	TableName string `json:"table_name"`
	// ConnectionPoolSize is the pool size when database_pooling is
	// disabled.
	ConnectionPoolSize int `json:"connection_pool_size"`
	// PoolMin and PoolMax override database_pooling.min and max for this
	// database.
	PoolMin *int `json:"pool_min"`
	PoolMax *int `json:"pool_max"`

	// env is the prefix of this section's environment variables,
	// DATABASE_MYSQL or DATABASE_POSTGRES.
	env string `json:"-"`
}

// defaultSQLConfig returns the defaults of database.mysql (port 3306) or
// database.postgres (any other port); the port also picks the environment
// variables the section reads.
func defaultSQLConfig(port int, user string) sqlConfig {
	env := "DATABASE_POSTGRES"
	if port == 3306 {
		env = "DATABASE_MYSQL"
	}
	return sqlConfig{Host: "127.0.0.1", Port: port, Username: user, Database: "sockudo", TableName: "applications",
		ConnectionPoolSize: 10, env: env}
}

func (c *sqlConfig) applyEnv(e env) error {
	p := c.env
	e.str(&c.Host, p+"_HOST")
	if err := e.integer(&c.Port, p+"_PORT"); err != nil {
		return err
	}
	e.str(&c.Username, p+"_USERNAME", p+"_USER")
	e.str(&c.Password, p+"_PASSWORD")
	e.str(&c.Database, p+"_DATABASE")
	e.str(&c.TableName, p+"_TABLE_NAME")
	if err := e.integer(&c.ConnectionPoolSize, "DATABASE_CONNECTION_POOL_SIZE"); err != nil {
		return err
	}
	for _, v := range []struct {
		dst  **int
		name string
	}{{&c.PoolMin, p + "_POOL_MIN"}, {&c.PoolMax, p + "_POOL_MAX"}} {
		if err := optionalInt(e, v.dst, v.name); err != nil {
			return err
		}
	}
	return nil
}

// optionalInt sets *dst from the variable name when it is set.
func optionalInt(e env, dst **int, name string) error {
	if _, ok := e.lookup(name); !ok {
		return nil
	}
	var n int
	if err := e.integer(&n, name); err != nil {
		return err
	}
	*dst = &n
	return nil
}

// section names the config.json section, for error messages.
func (c *sqlConfig) section() string {
	if c.env == "DATABASE_MYSQL" {
		return "database.mysql"
	}
	return "database.postgres"
}

// databasePoolingConfig is the top-level "database_pooling" section:
// with Enabled (the default) the SQL pools hold Min to Max connections
// (each database's pool_min/pool_max win); without it they hold up to the
// database's connection_pool_size. Unset fields take Sockudo's defaults:
// enabled, min 2, max 10.
type databasePoolingConfig struct {
	Enabled *bool `json:"enabled"`
	Min     *int  `json:"min"`
	Max     *int  `json:"max"`
}

func (c *databasePoolingConfig) applyEnv(e env) error {
	if _, ok := e.lookup("DATABASE_POOLING_ENABLED"); ok {
		var b bool
		if err := e.boolean(&b, "DATABASE_POOLING_ENABLED"); err != nil {
			return err
		}
		c.Enabled = &b
	}
	if err := optionalInt(e, &c.Min, "DATABASE_POOL_MIN"); err != nil {
		return err
	}
	return optionalInt(e, &c.Max, "DATABASE_POOL_MAX")
}

// overriddenBy returns c with the fields that o sets replaced.
func (c databasePoolingConfig) overriddenBy(o databasePoolingConfig) databasePoolingConfig {
	if o.Enabled != nil {
		c.Enabled = o.Enabled
	}
	if o.Min != nil {
		c.Min = o.Min
	}
	if o.Max != nil {
		c.Max = o.Max
	}
	return c
}

// databasePoolingSection carries database_pooling in config.json. Config
// embeds it (one line in its field list: `databasePoolingSection`), which
// makes the key known and decoded; until then the section is ignored and
// only the environment and the defaults apply.
type databasePoolingSection struct {
	DatabasePooling databasePoolingConfig `json:"database_pooling"`
}

func (s *databasePoolingSection) poolingFromFile() databasePoolingConfig { return s.DatabasePooling }

// poolingOf returns the effective database_pooling settings: the file's
// (when cfg embeds databasePoolingSection) overridden by the environment.
func poolingOf(cfg any, fromEnv databasePoolingConfig) databasePoolingConfig {
	var p databasePoolingConfig
	if s, ok := cfg.(interface{ poolingFromFile() databasePoolingConfig }); ok {
		p = s.poolingFromFile()
	}
	return p.overriddenBy(fromEnv)
}

// poolSize returns the minimum and maximum number of connections for the
// database c under the pooling settings p.
func poolSize(p databasePoolingConfig, c *sqlConfig) (lo, hi int, err error) {
	if p.Enabled != nil && !*p.Enabled {
		lo, hi = 0, c.ConnectionPoolSize
	} else {
		lo, hi = 2, 10
		if p.Min != nil {
			lo = *p.Min
		}
		if p.Max != nil {
			hi = *p.Max
		}
		if c.PoolMin != nil {
			lo = *c.PoolMin
		}
		if c.PoolMax != nil {
			hi = *c.PoolMax
		}
	}
	switch {
	case hi < 1:
		return 0, 0, fmt.Errorf("%s: the pool maximum (database_pooling.max, pool_max or connection_pool_size) is %d; want at least 1", c.section(), hi)
	case lo < 0 || lo > hi:
		return 0, 0, fmt.Errorf("%s: the pool minimum (database_pooling.min or pool_min) is %d; want 0 to the maximum %d", c.section(), lo, hi)
	}
	return lo, hi, nil
}

func openPostgres(ctx context.Context, c *sqlConfig, pooling databasePoolingConfig, log *slog.Logger) (appmanager.Manager, func(), error) {
	lo, hi, err := poolSize(pooling, c)
	if err != nil {
		return nil, nil, err
	}
	u := url.URL{Scheme: "postgres", User: url.UserPassword(c.Username, c.Password),
		Host: net.JoinHostPort(c.Host, strconv.Itoa(c.Port)), Path: "/" + c.Database}
	if c.Password == "" {
		u.User = url.User(c.Username)
	}
	pc, err := pgxpool.ParseConfig(u.String())
	if err != nil {
		return nil, nil, fmt.Errorf("database.postgres: %w", err)
	}
	pc.MinConns, pc.MaxConns = int32(lo), int32(hi)
	pc.MaxConnIdleTime = 3 * time.Minute
	pc.ConnConfig.ConnectTimeout = 5 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, nil, fmt.Errorf("database.postgres: %w", err)
	}
	m, err := postgres.New(ctx, pool, &postgres.Options{TableName: c.TableName, CreateTable: true, Logger: log})
	if err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("database.postgres (%s:%d/%s): %w", c.Host, c.Port, c.Database, err)
	}
	return m, pool.Close, nil
}

func openMySQL(ctx context.Context, c *sqlConfig, pooling databasePoolingConfig, log *slog.Logger) (appmanager.Manager, func(), error) {
	lo, hi, err := poolSize(pooling, c)
	if err != nil {
		return nil, nil, err
	}
	mc := gomysql.NewConfig()
	mc.User, mc.Passwd = c.Username, c.Password
	mc.Net, mc.Addr = "tcp", net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	mc.DBName = c.Database
	mc.Timeout = 5 * time.Second
	conn, err := gomysql.NewConnector(mc)
	if err != nil {
		return nil, nil, fmt.Errorf("database.mysql: %w", err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(hi)
	db.SetMaxIdleConns(lo)
	db.SetConnMaxIdleTime(3 * time.Minute)
	m, err := mysql.New(ctx, db, &mysql.Options{TableName: c.TableName, CreateTable: true, Logger: log})
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("database.mysql (%s/%s): %w", mc.Addr, c.Database, err)
	}
	return m, func() { db.Close() }, nil
}

// dynamoDBConfig is database.dynamodb. Credentials not given here come
// from the AWS SDK's usual sources (AWS_* variables, shared files, roles).
type dynamoDBConfig struct {
	Region             string `json:"region"`
	TableName          string `json:"table_name"`
	EndpointURL        string `json:"endpoint_url"`
	AWSAccessKeyID     string `json:"aws_access_key_id"`
	AWSSecretAccessKey string `json:"aws_secret_access_key"`
	AWSProfileName     string `json:"aws_profile_name"`
}

func defaultDynamoDBConfig() dynamoDBConfig {
	return dynamoDBConfig{Region: "us-east-1", TableName: "sockudo-applications"}
}

func (c *dynamoDBConfig) applyEnv(e env) error {
	e.str(&c.Region, "DATABASE_DYNAMODB_REGION")
	e.str(&c.TableName, "DATABASE_DYNAMODB_TABLE_NAME")
	e.str(&c.EndpointURL, "DATABASE_DYNAMODB_ENDPOINT_URL")
	return nil
}

func openDynamoDB(ctx context.Context, c *dynamoDBConfig, log *slog.Logger) (appmanager.Manager, func(), error) {
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(c.Region)}
	if c.AWSProfileName != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(c.AWSProfileName))
	}
	if c.AWSAccessKeyID != "" || c.AWSSecretAccessKey != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(c.AWSAccessKeyID, c.AWSSecretAccessKey, "")))
	}
	ac, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("database.dynamodb: %w", err)
	}
	client := awsdynamodb.NewFromConfig(ac, func(o *awsdynamodb.Options) {
		if c.EndpointURL != "" {
			o.BaseEndpoint = aws.String(c.EndpointURL)
		}
	})
	m, err := dynamodb.New(ctx, client, &dynamodb.Options{TableName: c.TableName, CreateTable: true, Logger: log})
	if err != nil {
		return nil, nil, fmt.Errorf("database.dynamodb: %w", err)
	}
	return m, func() {}, nil
}

// scyllaConfig is database.scylladb.
type scyllaConfig struct {
	Nodes             []string `json:"nodes"`
	Keyspace          string   `json:"keyspace"`
	Table             string   `json:"table_name"`
	Username          string   `json:"username"`
	Password          string   `json:"password"`
	ReplicationClass  string   `json:"replication_class"`
	ReplicationFactor int      `json:"replication_factor"`
}

func defaultScyllaConfig() scyllaConfig {
	return scyllaConfig{Nodes: []string{"127.0.0.1:9042"}, Keyspace: "sockudo", Table: "applications",
		ReplicationClass: "SimpleStrategy", ReplicationFactor: 3}
}

func (c *scyllaConfig) applyEnv(e env) error {
	e.list(&c.Nodes, "SCYLLADB_NODES")
	e.str(&c.Keyspace, "SCYLLADB_KEYSPACE")
	e.str(&c.Table, "SCYLLADB_TABLE_NAME")
	e.str(&c.Username, "SCYLLADB_USERNAME")
	e.str(&c.Password, "SCYLLADB_PASSWORD")
	e.str(&c.ReplicationClass, "SCYLLADB_REPLICATION_CLASS")
	return e.integer(&c.ReplicationFactor, "SCYLLADB_REPLICATION_FACTOR")
}

func openScylla(ctx context.Context, c *scyllaConfig, log *slog.Logger) (appmanager.Manager, func(), error) {
	if len(c.Nodes) == 0 {
		return nil, nil, errors.New("database.scylladb.nodes (SCYLLADB_NODES) is empty")
	}
	cluster := gocql.NewCluster(c.Nodes...)
	cluster.Timeout = 5 * time.Second
	cluster.ConnectTimeout = 5 * time.Second
	if c.Username != "" {
		cluster.Authenticator = gocql.PasswordAuthenticator{Username: c.Username, Password: c.Password}
	}
	session, err := cluster.CreateSession()
	if err != nil {
		return nil, nil, fmt.Errorf("database.scylladb (%v): %w", c.Nodes, err)
	}
	m, err := scylla.New(ctx, session, &scylla.Options{
		Keyspace: c.Keyspace, Table: c.Table,
		ReplicationClass: c.ReplicationClass, ReplicationFactor: c.ReplicationFactor,
		CreateTable: true, Logger: log,
	})
	if err != nil {
		session.Close()
		return nil, nil, fmt.Errorf("database.scylladb: %w", err)
	}
	return m, session.Close, nil
}

package config

import (
	"fmt"

	"github.com/sockudo-go/sockudo/appmanager"
)

// AppManager is the "app_manager" section: where apps come from.
type AppManager struct {
	// Driver is memory (or array), mysql, postgres (pgsql, postgresql),
	// dynamodb or scylladb (scylla).
	Driver string   `json:"driver"`
	Array  AppArray `json:"array"`
	Cache  AppCache `json:"cache"`
	// DefaultApp is built from SOCKUDO_DEFAULT_APP_* and used by the memory
	// driver when no apps are configured.
	DefaultApp appmanager.App `json:"-"`
	// envDefaultApp records that SOCKUDO_DEFAULT_APP_ID, _KEY or _SECRET
	// was set; skipInline that inline apps are switched off.
	envDefaultApp, skipInline bool
	// envDefaultAppComplete records that all three were set (seed.go).
	envDefaultAppComplete bool
}

// AppArray is app_manager.array: the apps of the memory driver.
type AppArray struct {
	Apps []appmanager.App `json:"apps"`
}

// AppCache is app_manager.cache: the server's cache of app lookups.
type AppCache struct {
	Enabled bool `json:"enabled"`
	// TTL is in seconds.
	TTL int `json:"ttl"`
}

func defaultAppManagerConfig() AppManager {
	return AppManager{
		Driver:     "memory",
		Cache:      AppCache{Enabled: true, TTL: 300},
		DefaultApp: sockudoDefaultApp(),
	}
}

// sockudoDefaultApp is Sockudo's default app: app-id / app-key /
// app-secret, client messages off, and 100 for every numeric limit but
// user_info, bounded to 2 KB (Sockudo's [presence] default; Pusher allows
// 1 KB) since every member's user_info is re-sent to each joiner.
func sockudoDefaultApp() appmanager.App {
	return appmanager.App{
		ID: "app-id", Key: "app-key", Secret: "app-secret", Enabled: true,
		MaxConnections: 100, MaxBackendEventsPerSecond: 100, MaxClientEventsPerSecond: 100,
		MaxReadRequestsPerSecond: 100, MaxPresenceMembersPerChannel: 100, MaxPresenceMemberSizeInKB: 2,
		MaxChannelNameLength: 100, MaxEventChannelsAtOnce: 100, MaxEventNameLength: 100,
		MaxEventPayloadInKB: 100, MaxEventBatchSize: 100,
	}
}

// MemoryApps returns the apps the memory driver serves: the inline apps,
// else the default app unless inline apps are switched off or it is
// disabled.
func (c *AppManager) MemoryApps() []appmanager.App {
	if len(c.Array.Apps) == 0 && !c.skipInline && c.DefaultApp.Enabled {
		return []appmanager.App{c.DefaultApp}
	}
	return c.Array.Apps
}

func (c *AppManager) applyEnv(e env) error {
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
	c.envDefaultAppComplete = true
	for _, n := range []string{"SOCKUDO_DEFAULT_APP_ID", "SOCKUDO_DEFAULT_APP_KEY", "SOCKUDO_DEFAULT_APP_SECRET"} {
		if _, ok := e.lookup(n); ok {
			c.envDefaultApp = true
		} else {
			c.envDefaultAppComplete = false
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

// SQL is database.mysql or database.postgres.
type SQL struct {
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
func defaultSQLConfig(port int, user string) SQL {
	env := "DATABASE_POSTGRES"
	if port == 3306 {
		env = "DATABASE_MYSQL"
	}
	return SQL{Host: "127.0.0.1", Port: port, Username: user, Database: "sockudo", TableName: "applications",
		ConnectionPoolSize: 10, env: env}
}

func (c *SQL) applyEnv(e env) error {
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
func (c *SQL) section() string {
	if c.env == "DATABASE_MYSQL" {
		return "database.mysql"
	}
	return "database.postgres"
}

// DatabasePooling is the top-level "database_pooling" section: with
// Enabled (the default) the SQL pools hold Min to Max connections (each
// database's pool_min/pool_max win); without it they hold up to the
// database's connection_pool_size. Unset fields take Sockudo's defaults:
// enabled, min 2, max 10. DATABASE_POOLING_ENABLED and
// DATABASE_POOL_MIN/MAX override the file.
type DatabasePooling struct {
	Enabled *bool `json:"enabled"`
	Min     *int  `json:"min"`
	Max     *int  `json:"max"`
}

func (c *DatabasePooling) applyEnv(e env) error {
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

// PoolSize returns the minimum and maximum number of connections for the
// database c under the pooling settings p.
func (c *SQL) PoolSize(p DatabasePooling) (lo, hi int, err error) {
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

// DynamoDB is database.dynamodb. Credentials not given here come from the
// AWS SDK's usual sources (AWS_* variables, shared files, roles).
type DynamoDB struct {
	Region             string `json:"region"`
	TableName          string `json:"table_name"`
	EndpointURL        string `json:"endpoint_url"`
	AWSAccessKeyID     string `json:"aws_access_key_id"`
	AWSSecretAccessKey string `json:"aws_secret_access_key"`
	AWSProfileName     string `json:"aws_profile_name"`
}

func defaultDynamoDBConfig() DynamoDB {
	return DynamoDB{Region: "us-east-1", TableName: "sockudo-applications"}
}

func (c *DynamoDB) applyEnv(e env) error {
	e.str(&c.Region, "DATABASE_DYNAMODB_REGION")
	e.str(&c.TableName, "DATABASE_DYNAMODB_TABLE_NAME")
	e.str(&c.EndpointURL, "DATABASE_DYNAMODB_ENDPOINT_URL")
	return nil
}

// Scylla is database.scylladb.
type Scylla struct {
	Nodes             []string `json:"nodes"`
	Keyspace          string   `json:"keyspace"`
	Table             string   `json:"table_name"`
	Username          string   `json:"username"`
	Password          string   `json:"password"`
	ReplicationClass  string   `json:"replication_class"`
	ReplicationFactor int      `json:"replication_factor"`
}

func defaultScyllaConfig() Scylla {
	return Scylla{Nodes: []string{"127.0.0.1:9042"}, Keyspace: "sockudo", Table: "applications",
		ReplicationClass: "SimpleStrategy", ReplicationFactor: 3}
}

func (c *Scylla) applyEnv(e env) error {
	e.list(&c.Nodes, "SCYLLADB_NODES")
	e.str(&c.Keyspace, "SCYLLADB_KEYSPACE")
	e.str(&c.Table, "SCYLLADB_TABLE_NAME")
	e.str(&c.Username, "SCYLLADB_USERNAME")
	e.str(&c.Password, "SCYLLADB_PASSWORD")
	e.str(&c.ReplicationClass, "SCYLLADB_REPLICATION_CLASS")
	return e.integer(&c.ReplicationFactor, "SCYLLADB_REPLICATION_FACTOR")
}

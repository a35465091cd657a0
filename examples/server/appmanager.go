package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/appmanager/memory"
)

// appManagerConfig is the "app_manager" section.
type appManagerConfig struct {
	Driver string              `json:"driver"`
	Array  appArrayConfig      `json:"array"`
	Cache  appCacheConfig      `json:"cache"`
	// DefaultApp is built from SOCKUDO_DEFAULT_APP_* and used by the memory
	// driver when no apps are configured.
	DefaultApp appmanager.App `json:"-"`
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
		Driver: "memory",
		Cache:  appCacheConfig{Enabled: true, TTL: 300},
		DefaultApp: appmanager.App{
			ID: "app-id", Key: "app-key", Secret: "app-secret", Enabled: true,
			EnableClientMessages: true,
		},
	}
}

func (c *appManagerConfig) applyEnv(e env) error {
	e.str(&c.Driver, "APP_MANAGER_DRIVER")
	if err := e.boolean(&c.Cache.Enabled, "APP_MANAGER_CACHE_ENABLED"); err != nil {
		return err
	}
	if err := e.integer(&c.Cache.TTL, "APP_MANAGER_CACHE_TTL"); err != nil {
		return err
	}
	d := &c.DefaultApp
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
// The returned close function releases its connections.
func openAppManager(ctx context.Context, cfg *Config, log *slog.Logger) (appmanager.Manager, func(), error) {
	switch cfg.AppManager.Driver {
	case "", "memory", "array":
		apps := cfg.AppManager.Array.Apps
		if len(apps) == 0 {
			apps = []appmanager.App{cfg.AppManager.DefaultApp}
		}
		m, err := memory.New(apps...)
		if err != nil {
			return nil, nil, fmt.Errorf("app_manager.array.apps: %w", err)
		}
		return m, func() {}, nil
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
}

func defaultSQLConfig(port int, user string) sqlConfig {
	return sqlConfig{Host: "127.0.0.1", Port: port, Username: user, Database: "sockudo", TableName: "applications"}
}

func (c *sqlConfig) applyEnv(e env) error { return nil }

// dynamoDBConfig is database.dynamodb.
type dynamoDBConfig struct {
	Region      string `json:"region"`
	TableName   string `json:"table_name"`
	EndpointURL string `json:"endpoint_url"`
}

func defaultDynamoDBConfig() dynamoDBConfig {
	return dynamoDBConfig{Region: "us-east-1", TableName: "sockudo-applications"}
}

func (c *dynamoDBConfig) applyEnv(e env) error { return nil }

// scyllaConfig is database.scylladb.
type scyllaConfig struct {
	Nodes    []string `json:"nodes"`
	Keyspace string   `json:"keyspace"`
	Table    string   `json:"table_name"`
}

func defaultScyllaConfig() scyllaConfig {
	return scyllaConfig{Nodes: []string{"127.0.0.1:9042"}, Keyspace: "sockudo", Table: "applications"}
}

func (c *scyllaConfig) applyEnv(e env) error { return nil }

// Package config reads the standalone server's configuration: defaults,
// then a Sockudo-shaped config.json, then Sockudo's environment variables.
// It only describes and checks settings; package backends opens what they
// name.
package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Config is the standalone server's configuration in Sockudo's config.json
// shape. Defaults come first, then the --config file, then environment
// variables.
type Config struct {
	Debug      bool   `json:"debug"`
	Host       string `json:"host"`
	Port       int    `json:"port"`
	PathPrefix string `json:"path_prefix"`
	// ActivityTimeout is in seconds.
	ActivityTimeout int `json:"activity_timeout"`
	// ShutdownGracePeriod is in seconds.
	ShutdownGracePeriod int `json:"shutdown_grace_period"`
	// MaxConnections is the node-wide connection limit; 0 is unlimited.
	MaxConnections int `json:"max_connections"`
	// UserAuthenticationTimeout is in seconds.
	UserAuthenticationTimeout int `json:"user_authentication_timeout"`

	HTTP        HTTP        `json:"http"`
	AppManager  AppManager  `json:"app_manager"`
	Cache       Cache       `json:"cache"`
	Queue       Queue       `json:"queue"`
	RateLimiter RateLimiter `json:"rate_limiter"`
	Webhooks    Webhooks    `json:"webhooks"`
	Database    Database    `json:"database"`
	Metrics     Metrics     `json:"metrics"`
	SSL         SSL         `json:"ssl"`
	Adapter     Adapter     `json:"adapter"`
	// DatabasePooling sizes the SQL app managers' connection pools.
	DatabasePooling DatabasePooling `json:"database_pooling"`
	// ChannelLimits and EventLimits are per-socket caps (limits.go).
	ChannelLimits ChannelLimits `json:"channel_limits"`
	EventLimits   EventLimits   `json:"event_limits"`
	// CORS is the HTTP endpoints' cross-origin policy (cors.go).
	CORS CORS `json:"cors"`
	// WebSocket holds permessage-deflate (websocket.go).
	WebSocket WebSocket `json:"websocket"`
	// Logging sets the log level and format (logging.go).
	Logging Logging `json:"logging"`
	// HTTPAPI and WebsocketMaxPayloadKB are the server-wide body and
	// message caps (applimits.go).
	HTTPAPI               HTTPAPI `json:"http_api"`
	WebsocketMaxPayloadKB int     `json:"websocket_max_payload_kb"`

	// ignoredApps are the inline apps' settings this server does not
	// apply (appkeys.go).
	ignoredApps []IgnoredSetting
}

// Database is the "database" section: connection settings that the
// drivers share.
type Database struct {
	Redis    Redis    `json:"redis"`
	MySQL    SQL      `json:"mysql"`
	Postgres SQL      `json:"postgres"`
	DynamoDB DynamoDB `json:"dynamodb"`
	ScyllaDB Scylla   `json:"scylladb"`
}

// Metrics is the "metrics" section: the Prometheus listener.
type Metrics struct {
	Enabled bool   `json:"enabled"`
	Host    string `json:"host"`
	Port    int    `json:"port"`
	Driver  string `json:"driver"`
	// Prometheus.Prefix starts every metric name (METRICS_PROMETHEUS_PREFIX).
	Prometheus Prometheus `json:"prometheus"`
}

// Prometheus is the "metrics.prometheus" section.
type Prometheus struct {
	Prefix string `json:"prefix"`
}

// SSL is the "ssl" section: TLS on the main listener.
type SSL struct {
	Enabled  bool   `json:"enabled"`
	CertPath string `json:"cert_path"`
	KeyPath  string `json:"key_path"`
	// RedirectHTTP also listens on HTTPPort (default 80) and redirects
	// plain HTTP there to https with 308.
	RedirectHTTP bool `json:"redirect_http"`
	HTTPPort     int  `json:"http_port"`
}

// Adapter is the horizontal-scaling section. Only "local" is served by
// this version; other drivers are rejected at start.
type Adapter struct {
	Driver string `json:"driver"`
}

// Default returns the configuration with nothing set: Sockudo's defaults.
func Default() Config {
	c := Config{
		Host:                      "0.0.0.0",
		Port:                      6001,
		ActivityTimeout:           120,
		ShutdownGracePeriod:       5,
		UserAuthenticationTimeout: 30,
		HTTP:                      defaultHTTPConfig(),
		AppManager:                defaultAppManagerConfig(),
		Cache:                     defaultCacheConfig(),
		Queue:                     defaultQueueConfig(),
		RateLimiter:               defaultRateLimiterConfig(),
		Webhooks:                  defaultWebhooksConfig(),
		Metrics:                   Metrics{Enabled: true, Host: "127.0.0.1", Port: 9601, Driver: "prometheus", Prometheus: Prometheus{Prefix: "sockudo_"}},
		Adapter:                   Adapter{Driver: "local"},
		ChannelLimits:             defaultChannelLimits(),
		EventLimits:               defaultEventLimits(),
		CORS:                      defaultCORSConfig(),
		WebSocket:                 defaultWebSocketConfig(),
		Logging:                   defaultLoggingConfig(),
		SSL:                       SSL{HTTPPort: 80},
		HTTPAPI:                   defaultHTTPAPIConfig(),
		WebsocketMaxPayloadKB:     64,
	}
	c.Database.Redis = defaultRedisConfig()
	c.Database.MySQL = defaultSQLConfig(3306, "root")
	c.Database.Postgres = defaultSQLConfig(5432, "postgres")
	c.Database.DynamoDB = defaultDynamoDBConfig()
	c.Database.ScyllaDB = defaultScyllaConfig()
	return c
}

// Load builds the configuration from defaults, the JSON file at path (if
// not empty) and the environment, read with lookup (os.LookupEnv in
// production). It returns the keys of the file that this server does not
// know, so the caller can warn about them.
func Load(path string, lookup func(string) (string, bool)) (Config, []string, error) {
	e := env{lookup: lookup}
	c := Default()
	var unknown []string
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return c, nil, fmt.Errorf("config file: %w", err)
		}
		data = interpolate(data, e)
		if err := json.Unmarshal(data, &c); err != nil {
			return c, nil, fmt.Errorf("config file %s: %w", path, err)
		}
		var raw any
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&raw); err != nil {
			return c, nil, fmt.Errorf("config file %s: %w", path, err)
		}
		unknown = unknownKeys("", raw, reflect.TypeOf(c))
		sort.Strings(unknown)
		c.ignoredApps = ignoredAppSettings(raw)
	}
	if err := c.applyEnv(e); err != nil {
		return c, unknown, fmt.Errorf("environment: %w", err)
	}
	// Sockudo's shipped config has "path_prefix": "/", meaning none.
	c.PathPrefix = strings.TrimRight(c.PathPrefix, "/")
	if err := c.validateLimits(); err != nil {
		return c, unknown, err
	}
	return c, unknown, nil
}

// placeholder matches ${NAME} and ${NAME:-default}; quoted matches one
// that is a whole JSON string.
var (
	placeholder = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}"\\]*))?\}`)
	quoted      = regexp.MustCompile(`"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}"\\]*))?\}"`)
)

// interpolate expands ${NAME} and ${NAME:-default} in a config file, as
// Sockudo does. A placeholder that is a whole JSON string and expands to a
// number or a boolean becomes that JSON value, so "port": "${PORT:-6001}"
// reads as a number; anything else is inserted as string content.
func interpolate(data []byte, e env) []byte {
	value := func(m [][]byte) string {
		if v, ok := e.lookup(string(m[1])); ok && v != "" {
			return v
		}
		return string(m[2])
	}
	data = quoted.ReplaceAllFunc(data, func(b []byte) []byte {
		v := value(quoted.FindSubmatch(b))
		if v == "true" || v == "false" || json.Valid([]byte(v)) && isNumber(v) {
			return []byte(v)
		}
		out, _ := json.Marshal(v)
		return out
	})
	return placeholder.ReplaceAllFunc(data, func(b []byte) []byte {
		out, _ := json.Marshal(value(placeholder.FindSubmatch(b)))
		return out[1 : len(out)-1] // string content, escaped
	})
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

func (c *Config) applyEnv(e env) error {
	if err := e.boolean(&c.Debug, "DEBUG", "DEBUG_MODE"); err != nil {
		return err
	}
	e.str(&c.Host, "HOST")
	e.str(&c.PathPrefix, "PATH_PREFIX")
	for _, f := range []struct {
		dst   *int
		names []string
	}{
		{&c.Port, []string{"PORT"}},
		{&c.ActivityTimeout, []string{"ACTIVITY_TIMEOUT"}},
		{&c.ShutdownGracePeriod, []string{"SHUTDOWN_GRACE_PERIOD"}},
		{&c.MaxConnections, []string{"SOCKUDO_MAX_CONNECTIONS"}},
		{&c.UserAuthenticationTimeout, []string{"USER_AUTHENTICATION_TIMEOUT"}},
		{&c.Metrics.Port, []string{"METRICS_PORT"}},
		{&c.WebsocketMaxPayloadKB, []string{"WEBSOCKET_MAX_PAYLOAD_KB"}},
	} {
		if err := e.integer(f.dst, f.names...); err != nil {
			return err
		}
	}
	if err := e.boolean(&c.Metrics.Enabled, "METRICS_ENABLED"); err != nil {
		return err
	}
	e.str(&c.Metrics.Host, "METRICS_HOST")
	e.str(&c.Metrics.Driver, "METRICS_DRIVER")
	e.str(&c.Metrics.Prometheus.Prefix, "METRICS_PROMETHEUS_PREFIX")
	if err := e.boolean(&c.SSL.Enabled, "SSL_ENABLED"); err != nil {
		return err
	}
	e.str(&c.SSL.CertPath, "SSL_CERT_PATH")
	e.str(&c.SSL.KeyPath, "SSL_KEY_PATH")
	if err := e.boolean(&c.SSL.RedirectHTTP, "SSL_REDIRECT_HTTP"); err != nil {
		return err
	}
	if err := e.integer(&c.SSL.HTTPPort, "SSL_HTTP_PORT"); err != nil {
		return err
	}
	e.str(&c.Adapter.Driver, "ADAPTER_DRIVER")
	for _, s := range []interface{ applyEnv(env) error }{
		&c.HTTP, &c.AppManager, &c.DatabasePooling, &c.Cache, &c.Queue, &c.RateLimiter, &c.Webhooks,
		&c.Database.Redis, &c.Database.MySQL, &c.Database.Postgres, &c.Database.DynamoDB, &c.Database.ScyllaDB,
		&c.ChannelLimits, &c.EventLimits, &c.CORS, &c.WebSocket, &c.Logging,
	} {
		if err := s.applyEnv(e); err != nil {
			return err
		}
	}
	return nil
}

// unknownKeys lists the dotted paths of keys in raw that have no field in t.
// Maps (string-keyed) accept any key; slices are checked element by element.
func unknownKeys(prefix string, raw any, t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	// A type with its own decoder (appmanager.App reads two shapes) is
	// checked by that decoder, not here.
	if reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]()) {
		return nil
	}
	var out []string
	switch v := raw.(type) {
	case map[string]any:
		if t.Kind() != reflect.Struct {
			return nil
		}
		fields := jsonFields(t)
		for k, sub := range v {
			ft, ok := fields[k]
			if !ok {
				out = append(out, prefix+k)
				continue
			}
			out = append(out, unknownKeys(prefix+k+".", sub, ft)...)
		}
	case []any:
		if t.Kind() != reflect.Slice {
			return nil
		}
		for i, sub := range v {
			out = append(out, unknownKeys(fmt.Sprintf("%s%d.", prefix, i), sub, t.Elem())...)
		}
	}
	return out
}

// jsonFields maps a struct's JSON names (including those of embedded
// structs and names accepted by a custom decoder's alias list) to types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := make(map[string]reflect.Type)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			for k, v := range jsonFields(f.Type) {
				fields[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = f.Type
		if alias := f.Tag.Get("alias"); alias != "" {
			for _, a := range strings.Split(alias, ",") {
				fields[a] = f.Type
			}
		}
	}
	return fields
}

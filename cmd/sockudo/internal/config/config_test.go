package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// mapEnv is an environment lookup reading m.
func mapEnv(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaults(t *testing.T) {
	cfg, unknown, err := Load("", mapEnv(nil))
	if err != nil || len(unknown) != 0 {
		t.Fatalf("loadConfig: %v, unknown %v", err, unknown)
	}
	if cfg.Host != "0.0.0.0" || cfg.Port != 6001 || cfg.ActivityTimeout != 120 || cfg.Metrics.Port != 9601 {
		t.Fatalf("defaults %+v", cfg)
	}
	d := cfg.AppManager.DefaultApp
	if d.ID != "app-id" || d.Key != "app-key" || d.Secret != "app-secret" || !d.Enabled {
		t.Fatalf("default app %+v", d)
	}
}

const sockudoConfig = `{
  "debug": false,
  "host": "127.0.0.1",
  "port": 7001,
  "mode": "production",
  "app_manager": {
    "driver": "memory",
    "array": {"apps": [
      {"id": "flat", "key": "flat-key", "secret": "s1", "enabled": true, "max_connections": "50",
       "enable_client_messages": true, "enable_user_authentication": true, "max_client_events_per_second": 5,
       "webhooks": [{"url": "https://example.com/hook", "event_types": ["channel_occupied"]}]},
      {"id": "pol", "key": "pol-key", "secret": "s2", "enabled": true,
       "policy": {"limits": {"max_connections": 7, "max_client_events_per_second": 3},
                  "features": {"enable_client_messages": true, "enable_watchlist_events": true},
                  "channels": {"allowed_origins": ["https://app.example.com"]}}}
    ]}
  },
  "cors": {"origin": ["*"]},
  "delta_compression": {"enabled": true}
}`

func TestConfigFileBothAppShapes(t *testing.T) {
	cfg, unknown, err := Load(writeConfig(t, sockudoConfig), mapEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "127.0.0.1" || cfg.Port != 7001 {
		t.Fatalf("host/port %s:%d", cfg.Host, cfg.Port)
	}
	apps := cfg.AppManager.Array.Apps
	if len(apps) != 2 {
		t.Fatalf("%d apps", len(apps))
	}
	flat, pol := apps[0], apps[1]
	if flat.MaxConnections != 50 || !flat.EnableClientMessages || !flat.EnableUserAuthentication || flat.MaxClientEventsPerSecond != 5 ||
		len(flat.Webhooks) != 1 || flat.Webhooks[0].URL != "https://example.com/hook" {
		t.Fatalf("flat app %+v", flat)
	}
	if pol.MaxConnections != 7 || pol.MaxClientEventsPerSecond != 3 || !pol.EnableClientMessages || !pol.EnableWatchlistEvents ||
		!reflect.DeepEqual(pol.AllowedOrigins, []string{"https://app.example.com"}) {
		t.Fatalf("policy app %+v", pol)
	}
	want := []string{"delta_compression", "mode"}
	if !reflect.DeepEqual(unknown, want) {
		t.Fatalf("unknown keys %v, want %v", unknown, want)
	}
}

func TestEnvironmentOverridesFile(t *testing.T) {
	cfg, _, err := Load(writeConfig(t, sockudoConfig), mapEnv(map[string]string{
		"PORT": "7100", "HOST": "127.0.0.2", "ACTIVITY_TIMEOUT": "30", "SOCKUDO_MAX_CONNECTIONS": "9",
		"SOCKUDO_DEFAULT_APP_KEY": "k2", "SOCKUDO_DEFAULT_APP_ENABLE_CLIENT_MESSAGES": "false",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Port != 7100 || cfg.Host != "127.0.0.2" || cfg.ActivityTimeout != 30 || cfg.MaxConnections != 9 {
		t.Fatalf("%+v", cfg)
	}
	if cfg.AppManager.DefaultApp.Key != "k2" || cfg.AppManager.DefaultApp.EnableClientMessages {
		t.Fatalf("default app %+v", cfg.AppManager.DefaultApp)
	}
}

func TestConfigErrorsNameTheSetting(t *testing.T) {
	for name, e := range map[string]map[string]string{
		"PORT":             {"PORT": "sixty"},
		"ACTIVITY_TIMEOUT": {"ACTIVITY_TIMEOUT": "x"},
		"DEBUG":            {"DEBUG": "maybe"},
	} {
		_, _, err := Load("", mapEnv(e))
		if err == nil || !contains(err.Error(), name) {
			t.Errorf("%s: error %v does not name it", name, err)
		}
	}
	if _, _, err := Load(writeConfig(t, `{"port": "x"`), mapEnv(nil)); err == nil {
		t.Error("a malformed file was accepted")
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestConfigInterpolation(t *testing.T) {
	p := writeConfig(t, `{"host": "${SOCKUDO_HOST:-127.0.0.1}", "port": "${SOCKUDO_PORT:-7002}",
		"metrics": {"enabled": "${METRICS_ON:-false}"},
		"path_prefix": "/x/${PREFIX_PART}/y", "app_manager": {"array": {"apps": [
		{"id": "a", "key": "${APP_KEY}", "secret": "${APP_SECRET:-dflt}", "enabled": true}]}}}`)
	cfg, _, err := Load(p, mapEnv(map[string]string{"PREFIX_PART": `q"z`, "APP_KEY": "from-env"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "127.0.0.1" || cfg.Port != 7002 || cfg.Metrics.Enabled || cfg.PathPrefix != `/x/q"z/y` {
		t.Fatalf("host %q port %d metrics %v prefix %q", cfg.Host, cfg.Port, cfg.Metrics.Enabled, cfg.PathPrefix)
	}
	if a := cfg.AppManager.Array.Apps[0]; a.Key != "from-env" || a.Secret != "dflt" {
		t.Fatalf("app %+v", a)
	}
}

func TestDefaultAppFromEnvironmentReplacesInlineApps(t *testing.T) {
	p := writeConfig(t, `{"app_manager":{"array":{"apps":[{"id":"file","key":"file-key","secret":"s","enabled":true}]}}}`)
	cfg, _, err := Load(p, mapEnv(map[string]string{
		"SOCKUDO_DEFAULT_APP_ID": "env", "SOCKUDO_DEFAULT_APP_KEY": "env-key", "SOCKUDO_DEFAULT_APP_SECRET": "env-secret"}))
	if err != nil {
		t.Fatal(err)
	}
	if apps := cfg.AppManager.MemoryApps(); len(apps) != 1 || apps[0].Key != "env-key" {
		t.Errorf("memory apps %+v, want only the environment's default app (not the file's)", apps)
	}
	d := cfg.AppManager.DefaultApp
	if d.MaxConnections != 100 || d.MaxChannelNameLength != 100 || d.EnableClientMessages {
		t.Errorf("default app limits %d/%d, client messages %v; Sockudo's are 100/100, off", d.MaxConnections, d.MaxChannelNameLength, d.EnableClientMessages)
	}
}

func TestInlineAppSwitches(t *testing.T) {
	p := writeConfig(t, `{"app_manager":{"array":{"apps":[{"id":"file","key":"file-key","secret":"s","enabled":true}]}}}`)
	for _, env := range []map[string]string{{"SOCKUDO_SKIP_INLINE_APPS": "true"}, {"APP_MANAGER_REGISTER_INLINE_APPS": "false"}} {
		cfg, _, err := Load(p, mapEnv(env))
		if err != nil {
			t.Fatal(err)
		}
		if n := len(cfg.AppManager.Array.Apps); n != 0 {
			t.Errorf("%v: %d inline apps kept", env, n)
		}
		if apps := cfg.AppManager.MemoryApps(); len(apps) != 0 {
			t.Errorf("%v: memory apps %+v, want none (not even the default app)", env, apps)
		}
	}
	cfg, _, _ := Load("", mapEnv(map[string]string{"CACHE_TTL_SECONDS": "10", "SOCKUDO_ENABLE_CLIENT_MESSAGES": "true"}))
	if cfg.AppManager.Cache.TTL != 10 || !cfg.AppManager.DefaultApp.EnableClientMessages {
		t.Errorf("app cache ttl %d, default app client messages %v", cfg.AppManager.Cache.TTL, cfg.AppManager.DefaultApp.EnableClientMessages)
	}
}

// TestPathPrefixSlash: "/" is Sockudo's default path_prefix (config.json,
// PATH_PREFIX) and means none.
func TestPathPrefixSlash(t *testing.T) {
	for _, tc := range []struct {
		file string
		env  map[string]string
		want string
	}{
		{`{"path_prefix": "/"}`, nil, ""},
		{`{}`, map[string]string{"PATH_PREFIX": "/"}, ""},
		{`{"path_prefix": "/pusher"}`, nil, "/pusher"},
	} {
		cfg, _, err := Load(writeConfig(t, tc.file), mapEnv(tc.env))
		if err != nil || cfg.PathPrefix != tc.want {
			t.Errorf("%s %v: path prefix %q, %v; want %q", tc.file, tc.env, cfg.PathPrefix, err, tc.want)
		}
	}
}

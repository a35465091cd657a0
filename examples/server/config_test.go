package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func mapEnv(m map[string]string) env {
	return env{lookup: func(k string) (string, bool) { v, ok := m[k]; return v, ok }}
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
	cfg, unknown, err := loadConfig("", mapEnv(nil))
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
	cfg, unknown, err := loadConfig(writeConfig(t, sockudoConfig), mapEnv(nil))
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
	want := []string{"cors", "delta_compression", "mode"}
	if !reflect.DeepEqual(unknown, want) {
		t.Fatalf("unknown keys %v, want %v", unknown, want)
	}
}

func TestEnvironmentOverridesFile(t *testing.T) {
	cfg, _, err := loadConfig(writeConfig(t, sockudoConfig), mapEnv(map[string]string{
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
		_, _, err := loadConfig("", mapEnv(e))
		if err == nil || !contains(err.Error(), name) {
			t.Errorf("%s: error %v does not name it", name, err)
		}
	}
	if _, _, err := loadConfig(writeConfig(t, `{"port": "x"`), mapEnv(nil)); err == nil {
		t.Error("a malformed file was accepted")
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

package config

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDriversRedactCredentials(t *testing.T) {
	cfg, _, err := Load("", mapEnv(map[string]string{
		"APP_MANAGER_DRIVER":         "mysql",
		"DATABASE_MYSQL_PASSWORD":    "mysql-pw",
		"CACHE_DRIVER":               "redis",
		"REDIS_URL":                  "redis://u:redis-pw@cache:6379/1",
		"QUEUE_DRIVER":               "redis",
		"RATE_LIMITER_ENABLED":       "true",
		"RATE_LIMITER_DRIVER":        "redis",
		"SOCKUDO_DEFAULT_APP_SECRET": "app-pw",
	}))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Driver{}
	for _, d := range cfg.Drivers() {
		got[d.Role] = d
		if strings.Contains(d.Target, "-pw") {
			t.Errorf("%s target %q holds a password", d.Role, d.Target)
		}
	}
	if d := got["app_manager"]; d.Driver != "mysql" || d.Target != "root@127.0.0.1:3306/sockudo table applications" {
		t.Errorf("app manager %+v", d)
	}
	if d := got["cache"]; d.Driver != "redis" || d.Target != "redis://u:redacted@cache:6379/1" {
		t.Errorf("cache %+v", d)
	}
	if d := got["rate_limiter"]; d.Driver != "redis" || d.Target != "redis://u:redacted@cache:6379/1" {
		t.Errorf("rate limiter %+v", d)
	}
	if d := got["metrics"]; d.Target != "127.0.0.1:9601/metrics" {
		t.Errorf("metrics %+v", d)
	}
	if s := cfg.AppManager.AppSource(); s != "SOCKUDO_DEFAULT_APP_*" {
		t.Errorf("app source %q", s)
	}
}

func TestEffectiveJSONRedacts(t *testing.T) {
	path := writeConfig(t, `{"app_manager": {"array": {"apps": [{"id": "a1", "key": "k1", "secret": "app-pw", "enabled": true,
		"webhooks": [{"url": "https://hook:hook-pw@example.com/x"}]}]}},
		"database": {"dynamodb": {"aws_access_key_id": "AKIA-pw", "aws_secret_access_key": "aws-pw"},
		"postgres": {"password": "pg-pw"}, "redis": {"url": "redis://:redis-pw@r:6379", "cluster": {"nodes": ["redis://u:node-pw@n1:7000"]}}}}`)
	cfg, _, err := Load(path, mapEnv(map[string]string{"DATABASE_REDIS_SENTINEL_PASSWORD": "sentinel-pw"}))
	if err != nil {
		t.Fatal(err)
	}
	out, err := cfg.EffectiveJSON()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "-pw") {
		t.Fatalf("effective config holds a credential:\n%s", out)
	}
	var v struct {
		Port       int `json:"port"`
		AppManager struct {
			Array struct {
				Apps []struct{ ID, Key, Secret string }
			}
		} `json:"app_manager"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	if v.Port != 6001 || len(v.AppManager.Array.Apps) != 1 || v.AppManager.Array.Apps[0].Key != "k1" || v.AppManager.Array.Apps[0].Secret != "redacted" {
		t.Fatalf("effective config %+v", v)
	}
	// The default app is listed too, its secret redacted.
	cfg, _, _ = Load("", mapEnv(nil))
	out, _ = cfg.EffectiveJSON()
	if !strings.Contains(string(out), `"app-key"`) || strings.Contains(string(out), "app-secret") {
		t.Fatalf("default app:\n%s", out)
	}
}

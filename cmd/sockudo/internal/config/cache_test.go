package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestCacheConfigDefaults(t *testing.T) {
	cfg, _, err := Load("", mapEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Cache{
		Driver: "memory",
		Memory: MemoryCache{TTL: 300, CleanupInterval: 60, MaxCapacity: 10000},
		Redis:  RedisCache{Prefix: "sockudo_cache:"},
	}
	if !reflect.DeepEqual(cfg.Cache, want) {
		t.Fatalf("default cache config = %+v, want %+v", cfg.Cache, want)
	}
}

func TestCacheConfigFileAndEnv(t *testing.T) {
	path := writeConfig(t, `{
		"cache": {
			"driver": "redis",
			"memory": {"ttl": 60, "cleanup_interval": 5, "max_capacity": 500},
			"redis": {"prefix": "custom:", "url_override": "redis://10.0.0.1:6380/2", "cluster_mode": true}
		}
	}`)
	cfg, unknown, err := Load(path, mapEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(unknown) != 0 {
		t.Fatalf("unknown keys %v in a file with only known cache keys", unknown)
	}
	want := Cache{
		Driver: "redis",
		Memory: MemoryCache{TTL: 60, CleanupInterval: 5, MaxCapacity: 500},
		Redis:  RedisCache{Prefix: "custom:", URLOverride: "redis://10.0.0.1:6380/2", ClusterMode: true},
	}
	if !reflect.DeepEqual(cfg.Cache, want) {
		t.Fatalf("cache config from file = %+v, want %+v", cfg.Cache, want)
	}

	// The environment overrides the file.
	cfg, _, err = Load(path, mapEnv(map[string]string{
		"CACHE_DRIVER":           "none",
		"CACHE_TTL_SECONDS":      "42",
		"CACHE_CLEANUP_INTERVAL": " 7 ",
		"CACHE_MAX_CAPACITY":     "99",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want.Driver = "none"
	want.Memory = MemoryCache{TTL: 42, CleanupInterval: 7, MaxCapacity: 99}
	if !reflect.DeepEqual(cfg.Cache, want) {
		t.Fatalf("cache config from file and env = %+v, want %+v", cfg.Cache, want)
	}

	// Keys the file omits keep their defaults.
	path = writeConfig(t, `{"cache": {"memory": {"ttl": 10}}}`)
	cfg, _, err = Load(path, mapEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Cache.Memory != (MemoryCache{TTL: 10, CleanupInterval: 60, MaxCapacity: 10000}) || cfg.Cache.Redis.Prefix != "sockudo_cache:" {
		t.Fatalf("partial cache section = %+v, want defaults for the omitted keys", cfg.Cache)
	}
}

func TestCacheConfigEnvErrors(t *testing.T) {
	for _, name := range []string{"CACHE_TTL_SECONDS", "CACHE_CLEANUP_INTERVAL", "CACHE_MAX_CAPACITY"} {
		_, _, err := Load("", mapEnv(map[string]string{name: "ten"}))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=ten: error = %v, want one naming %s", name, err, name)
		}
	}
}

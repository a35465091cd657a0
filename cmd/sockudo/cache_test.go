package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/sockudo-go/sockudo/cache"
	"github.com/sockudo-go/sockudo/cache/memory"
	"github.com/sockudo-go/sockudo/cache/none"
	rediscache "github.com/sockudo-go/sockudo/cache/redis"
	"github.com/sockudo-go/sockudo/internal/testenv"
)

// quiet discards the log output of the caches under test.
var quiet = slog.New(slog.DiscardHandler)

func TestCacheConfigDefaults(t *testing.T) {
	cfg, _, err := loadConfig("", mapEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := cacheConfig{
		Driver: "memory",
		Memory: memoryCacheConfig{TTL: 300, CleanupInterval: 60, MaxCapacity: 10000},
		Redis:  redisCacheConfig{Prefix: "sockudo_cache:"},
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
	cfg, unknown, err := loadConfig(path, mapEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(unknown) != 0 {
		t.Fatalf("unknown keys %v in a file with only known cache keys", unknown)
	}
	want := cacheConfig{
		Driver: "redis",
		Memory: memoryCacheConfig{TTL: 60, CleanupInterval: 5, MaxCapacity: 500},
		Redis:  redisCacheConfig{Prefix: "custom:", URLOverride: "redis://10.0.0.1:6380/2", ClusterMode: true},
	}
	if !reflect.DeepEqual(cfg.Cache, want) {
		t.Fatalf("cache config from file = %+v, want %+v", cfg.Cache, want)
	}

	// The environment overrides the file.
	cfg, _, err = loadConfig(path, mapEnv(map[string]string{
		"CACHE_DRIVER":           "none",
		"CACHE_TTL_SECONDS":      "42",
		"CACHE_CLEANUP_INTERVAL": " 7 ",
		"CACHE_MAX_CAPACITY":     "99",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want.Driver = "none"
	want.Memory = memoryCacheConfig{TTL: 42, CleanupInterval: 7, MaxCapacity: 99}
	if !reflect.DeepEqual(cfg.Cache, want) {
		t.Fatalf("cache config from file and env = %+v, want %+v", cfg.Cache, want)
	}

	// Keys the file omits keep their defaults.
	path = writeConfig(t, `{"cache": {"memory": {"ttl": 10}}}`)
	cfg, _, err = loadConfig(path, mapEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Cache.Memory != (memoryCacheConfig{TTL: 10, CleanupInterval: 60, MaxCapacity: 10000}) || cfg.Cache.Redis.Prefix != "sockudo_cache:" {
		t.Fatalf("partial cache section = %+v, want defaults for the omitted keys", cfg.Cache)
	}
}

func TestCacheConfigEnvErrors(t *testing.T) {
	for _, name := range []string{"CACHE_TTL_SECONDS", "CACHE_CLEANUP_INTERVAL", "CACHE_MAX_CAPACITY"} {
		_, _, err := loadConfig("", mapEnv(map[string]string{name: "ten"}))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=ten: error = %v, want one naming %s", name, err, name)
		}
	}
}

func TestOpenCacheRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		file string
		want string
	}{
		{env: map[string]string{"CACHE_DRIVER": "mongo"}, want: "cache.driver (CACHE_DRIVER)"},
		{env: map[string]string{"CACHE_TTL_SECONDS": "-1"}, want: "cache.memory.ttl (CACHE_TTL_SECONDS)"},
		{env: map[string]string{"CACHE_CLEANUP_INTERVAL": "-1"}, want: "cache.memory.cleanup_interval (CACHE_CLEANUP_INTERVAL)"},
		{env: map[string]string{"CACHE_MAX_CAPACITY": "0"}, want: "cache.memory.max_capacity (CACHE_MAX_CAPACITY)"},
		{env: map[string]string{"CACHE_DRIVER": "redis-cluster"}, want: "DATABASE_REDIS_CLUSTER_NODES"},
		{file: `{"cache": {"driver": "redis", "redis": {"cluster_mode": true}}}`, want: "DATABASE_REDIS_CLUSTER_NODES"},
		{file: `{"cache": {"driver": "redis", "redis": {"url_override": "redis://user:s3cret@[::1"}}}`, want: "cache.redis.url_override"},
	} {
		path := ""
		if tc.file != "" {
			path = writeConfig(t, tc.file)
		}
		cfg, _, err := loadConfig(path, mapEnv(tc.env))
		if err != nil {
			t.Fatal(err)
		}
		c, closeFn, err := openCache(context.Background(), &cfg, quiet)
		if err == nil {
			closeFn()
			t.Errorf("env %v file %s: openCache = %T, want an error naming %s", tc.env, tc.file, c, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("env %v file %s: error %q does not name %s", tc.env, tc.file, err, tc.want)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error %q reveals a password", err)
		}
	}
}

func TestOpenCacheMemory(t *testing.T) {
	cfg, _, err := loadConfig("", mapEnv(map[string]string{
		"CACHE_DRIVER":       "Memory",
		"CACHE_TTL_SECONDS":  "120",
		"CACHE_MAX_CAPACITY": "2",
	}))
	if err != nil {
		t.Fatal(err)
	}
	c, closeFn, err := openCache(context.Background(), &cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	if _, ok := c.(*memory.Cache); !ok {
		t.Fatalf("openCache = %T, want *memory.Cache", c)
	}
	ctx := context.Background()
	for _, k := range []string{"a", "b", "c"} {
		if err := c.Set(ctx, k, []byte(k), 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Get(ctx, "a"); !errors.Is(err, cache.ErrNotFound) {
		t.Fatalf("Get(a) = %v; want it evicted by CACHE_MAX_CAPACITY=2", err)
	}
	e, err := c.Get(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(e.ExpiresAt); left < 110*time.Second || left > 120*time.Second {
		t.Fatalf("entry stored without ttl expires in %v, want CACHE_TTL_SECONDS=120", left)
	}
}

func TestOpenCacheNone(t *testing.T) {
	cfg, _, err := loadConfig("", mapEnv(map[string]string{"CACHE_DRIVER": "none"}))
	if err != nil {
		t.Fatal(err)
	}
	c, closeFn, err := openCache(context.Background(), &cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	if _, ok := c.(*none.Cache); !ok {
		t.Fatalf("openCache = %T, want *none.Cache", c)
	}
}

// uniquePrefix returns a Redis key prefix unique to t and this run.
func uniquePrefix(t *testing.T) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "sockudo_test:" + strings.ReplaceAll(t.Name(), "/", ".") + ":" + hex.EncodeToString(b) + ":"
}

// openRedisCache opens the cache that the environment e and the config
// file body describe, with a unique prefix, and checks that it works and
// that its entries live under the prefix. It returns the client options
// the cache used.
func openRedisCache(t *testing.T, e map[string]string, body string) rueidis.ClientOption {
	t.Helper()
	prefix := uniquePrefix(t)
	path := writeConfig(t, body)
	cfg, _, err := loadConfig(path, mapEnv(e))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Cache.Redis.Prefix = prefix
	opt, err := cfg.Cache.redisOption(&cfg.Database.Redis)
	if err != nil {
		t.Fatal(err)
	}
	c, closeFn, err := openCache(context.Background(), &cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			closeFn()
		}
	})
	if _, ok := c.(*rediscache.Cache); !ok {
		t.Fatalf("openCache = %T, want *redis.Cache", c)
	}

	// A second client sees the entry under the prefix, with the default
	// expiry from cache.memory.ttl.
	check, err := rueidis.NewClient(opt)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	keys := []string{"app:1", "app:2", "channel:x"}
	t.Cleanup(func() {
		defer check.Close()
		for _, k := range keys {
			if err := check.Do(context.Background(), check.B().Del().Key(prefix+k).Build()).Error(); err != nil {
				t.Logf("cleanup: DEL %q: %v", prefix+k, err)
			}
		}
	})
	for _, k := range keys {
		if err := c.Set(ctx, k, []byte("v-"+k), 0); err != nil {
			t.Fatal(err)
		}
		if got, err := c.Get(ctx, k); err != nil || string(got.Value) != "v-"+k {
			t.Fatalf("Get(%q) = %q, %v", k, got.Value, err)
		}
		raw, err := check.Do(ctx, check.B().Get().Key(prefix+k).Build()).ToString()
		if err != nil || raw != "v-"+k {
			t.Fatalf("GET %q = %q, %v", prefix+k, raw, err)
		}
		pttl, err := check.Do(ctx, check.B().Pttl().Key(prefix+k).Build()).AsInt64()
		if err != nil || pttl <= 0 || pttl > 300_000 {
			t.Fatalf("PTTL %q = %d, %v; want the 300 s default", prefix+k, pttl, err)
		}
	}
	// The close function closes the client the cache opened (a cluster
	// client closes its connections in the background).
	closeFn()
	closed = true
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := c.Set(ctx, "app:1", []byte("x"), time.Minute)
		if errors.Is(err, rueidis.ErrClosing) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Set after close = %v, want rueidis.ErrClosing", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return opt
}

func TestOpenCacheRedis(t *testing.T) {
	url := testenv.Lookup(t, "SOCKUDO_TEST_REDIS_URL")
	openRedisCache(t, map[string]string{"CACHE_DRIVER": "redis", "REDIS_URL": url}, `{}`)
}

func TestOpenCacheRedisURLOverride(t *testing.T) {
	url := testenv.Lookup(t, "SOCKUDO_TEST_REDIS_URL")
	// database.redis points at a closed port; the override wins.
	openRedisCache(t, map[string]string{"DATABASE_REDIS_PORT": "1"},
		`{"cache": {"driver": "redis", "redis": {"url_override": "`+url+`"}}}`)
}

func TestOpenCacheRedisSentinel(t *testing.T) {
	sentinels := testenv.Lookup(t, "SOCKUDO_TEST_REDIS_SENTINEL_ADDRS")
	master := testenv.Lookup(t, "SOCKUDO_TEST_REDIS_SENTINEL_MASTER")
	opt := openRedisCache(t, map[string]string{
		"CACHE_DRIVER":                 "redis",
		"DATABASE_REDIS_SENTINELS":     sentinels,
		"DATABASE_REDIS_SENTINEL_NAME": master,
	}, `{}`)
	if opt.Sentinel.MasterSet != master {
		t.Fatalf("client options %+v do not name the Sentinel master %q", opt.Sentinel, master)
	}
}

func TestOpenCacheRedisCluster(t *testing.T) {
	nodes := testenv.Lookup(t, "SOCKUDO_TEST_REDIS_CLUSTER_ADDRS")
	for name, tc := range map[string]struct {
		env  map[string]string
		file string
	}{
		"driver redis-cluster": {map[string]string{"CACHE_DRIVER": "redis-cluster", "DATABASE_REDIS_CLUSTER_NODES": nodes}, `{}`},
		"cluster_mode": {map[string]string{"REDIS_CLUSTER_NODES": nodes},
			`{"cache": {"driver": "redis", "redis": {"cluster_mode": true}}}`},
	} {
		t.Run(name, func(t *testing.T) {
			opt := openRedisCache(t, tc.env, tc.file)
			client, err := rueidis.NewClient(opt)
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			if client.Mode() != rueidis.ClientModeCluster {
				t.Fatalf("the cache's client options make a %s client, want cluster", client.Mode())
			}
		})
	}
}

package backends

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/sockudo-go/sockudo/cache"
	"github.com/sockudo-go/sockudo/cache/memory"
	"github.com/sockudo-go/sockudo/cache/none"
	rediscache "github.com/sockudo-go/sockudo/cache/redis"
	"github.com/sockudo-go/sockudo/cmd/sockudo/internal/config"
	"github.com/sockudo-go/sockudo/internal/testenv"
)

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
		cfg, _, err := config.Load(path, mapEnv(tc.env))
		if err != nil {
			t.Fatal(err)
		}
		c, closeFn, err := openCache(&cfg, testClients(t), quiet)
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
	cfg, _, err := config.Load("", mapEnv(map[string]string{
		"CACHE_DRIVER":       "Memory",
		"CACHE_TTL_SECONDS":  "120",
		"CACHE_MAX_CAPACITY": "2",
	}))
	if err != nil {
		t.Fatal(err)
	}
	c, closeFn, err := openCache(&cfg, testClients(t), quiet)
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
	cfg, _, err := config.Load("", mapEnv(map[string]string{"CACHE_DRIVER": "none"}))
	if err != nil {
		t.Fatal(err)
	}
	c, closeFn, err := openCache(&cfg, testClients(t), quiet)
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
// file body describe, with a unique prefix, and checks that it works, that
// its entries live under the prefix and that closing the shared clients
// closes its client. It returns the client options the cache used.
func openRedisCache(t *testing.T, e map[string]string, body string) rueidis.ClientOption {
	t.Helper()
	prefix := uniquePrefix(t)
	path := writeConfig(t, body)
	cfg, _, err := config.Load(path, mapEnv(e))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Cache.Redis.Prefix = prefix
	opt, err := cacheRedisOption(&cfg.Cache, &cfg.Database.Redis)
	if err != nil {
		t.Fatal(err)
	}
	clients := testClients(t)
	c, closeFn, err := openCache(&cfg, clients, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
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
	// Closing the shared clients closes the cache's (a cluster client
	// closes its connections in the background).
	clients.close()
	testenv.Eventually(t, 5*time.Second, "Set after close fails with rueidis.ErrClosing", func() bool {
		return errors.Is(c.Set(ctx, "app:1", []byte("x"), time.Minute), rueidis.ErrClosing)
	})
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

package redis_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/sockudo-go/sockudo/cache"
	"github.com/sockudo-go/sockudo/cache/cachetest"
	rediscache "github.com/sockudo-go/sockudo/cache/redis"
	"github.com/sockudo-go/sockudo/internal/testenv"
)

// harness returns a conformance harness on the deployment that opt reaches.
// Every cache from New or NewShared gets its own client, as a separate
// process would.
func harness(opt rueidis.ClientOption, opts rediscache.Options) cachetest.Harness {
	newShared := func(t *testing.T, prefix string) cache.Cache {
		client := testenv.RedisClient(t, opt)
		testenv.DropKeys(t, client, prefix)
		o := opts
		o.Prefix = prefix
		c, err := rediscache.New(client, &o)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	return cachetest.Harness{
		New:        func(t *testing.T) cache.Cache { return newShared(t, testenv.UniquePrefix(t)) },
		NewShared:  newShared,
		DefaultTTL: opts.DefaultTTL,
	}
}

func TestConformanceStandalone(t *testing.T) {
	cachetest.Run(t, harness(testenv.RedisStandalone(t), rediscache.Options{}))
}

func TestConformanceStandaloneClientSideCaching(t *testing.T) {
	cachetest.Run(t, harness(testenv.RedisStandalone(t), rediscache.Options{
		ClientSideTTL: time.Minute,
		DefaultTTL:    time.Second,
	}))
}

func TestConformanceCluster(t *testing.T) {
	cachetest.Run(t, harness(testenv.RedisCluster(t), rediscache.Options{DefaultTTL: time.Hour}))
}

func TestConformanceClusterClientSideCaching(t *testing.T) {
	cachetest.Run(t, harness(testenv.RedisCluster(t), rediscache.Options{ClientSideTTL: time.Minute}))
}

func TestConformanceSentinel(t *testing.T) {
	cachetest.Run(t, harness(testenv.RedisSentinel(t), rediscache.Options{}))
}

func TestNewRejectsBadOptions(t *testing.T) {
	for _, tc := range []struct {
		opts *rediscache.Options
		want string
	}{
		{&rediscache.Options{DefaultTTL: -time.Second}, "DefaultTTL"},
		{&rediscache.Options{ClientSideTTL: -time.Second}, "ClientSideTTL"},
		{&rediscache.Options{Timeout: -time.Second}, "Timeout"},
		{nil, "client is nil"},
	} {
		c, err := rediscache.New(nil, tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(nil, %+v) = %v, %v; want an error naming %s", tc.opts, c, err, tc.want)
		}
	}
}

func TestDefaultPrefixAndPlainValues(t *testing.T) {
	client := testenv.RedisClient(t, testenv.RedisStandalone(t))
	c, err := rediscache.New(client, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	key := testenv.UniquePrefix(t) + "k"
	raw := rediscache.DefaultPrefix + key
	t.Cleanup(func() { client.Do(context.Background(), client.B().Del().Key(raw).Build()) })

	if err := c.Set(ctx, key, []byte("value"), time.Minute); err != nil {
		t.Fatal(err)
	}
	got, err := client.Do(ctx, client.B().Get().Key(raw).Build()).ToString()
	if err != nil || got != "value" {
		t.Fatalf("GET %q = %q, %v; want the plain value", raw, got, err)
	}
	pttl, err := client.Do(ctx, client.B().Pttl().Key(raw).Build()).AsInt64()
	if err != nil || pttl <= 0 || pttl > 60000 {
		t.Fatalf("PTTL %q = %d, %v; want the entry's expiry", raw, pttl, err)
	}
	// A key written by another tool is read as an entry too.
	if err := client.Do(ctx, client.B().Set().Key(raw).Value("external").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	e, err := c.Get(ctx, key)
	if err != nil || string(e.Value) != "external" || !e.ExpiresAt.IsZero() {
		t.Fatalf("Get = %q, %v, %v; want the externally written value without expiry", e.Value, e.ExpiresAt, err)
	}
}

func TestClusterKeysSpreadOverSlots(t *testing.T) {
	client := testenv.RedisClient(t, testenv.RedisCluster(t))
	prefix := testenv.UniquePrefix(t)
	testenv.DropKeys(t, client, prefix)
	c, err := rediscache.New(client, &rediscache.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	slots := make(map[int64]bool)
	for _, k := range []string{"app:1", "app:2", "app:3", "channel:a", "channel:b", "channel:c"} {
		if err := c.Set(ctx, k, []byte(k), time.Minute); err != nil {
			t.Fatal(err)
		}
		slot, err := client.Do(ctx, client.B().ClusterKeyslot().Key(prefix+k).Build()).AsInt64()
		if err != nil {
			t.Fatal(err)
		}
		slots[slot] = true
	}
	if len(slots) < 2 {
		t.Fatalf("6 keys fell in %d slot(s); the prefix must not act as a hash tag", len(slots))
	}
}

func TestClientSideCachingKeepsLocalCopy(t *testing.T) {
	client := testenv.RedisClient(t, testenv.RedisStandalone(t))
	prefix := testenv.UniquePrefix(t)
	testenv.DropKeys(t, client, prefix)
	c, err := rediscache.New(client, &rediscache.Options{Prefix: prefix, ClientSideTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Set(ctx, "k", []byte("v"), time.Hour); err != nil {
		t.Fatal(err)
	}
	// Read until a read comes from Redis after the write and is kept.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := c.Get(ctx, "k"); err != nil {
			t.Fatal(err)
		}
		if client.DoCache(ctx, client.B().Get().Key(prefix+"k").Cache(), time.Minute).IsCacheHit() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Get with ClientSideTTL never left a local copy in the client")
		}
	}
	// The local copy and the entry's absolute expiry agree with Redis.
	e, err := c.Get(ctx, "k")
	if err != nil || string(e.Value) != "v" {
		t.Fatalf("Get = %q, %v", e.Value, err)
	}
	if left := time.Until(e.ExpiresAt); left <= 59*time.Minute || left > time.Hour {
		t.Fatalf("ExpiresAt is %v from now, want about an hour", left)
	}
}

func TestClientSideCachingReadsOwnWrites(t *testing.T) {
	client := testenv.RedisClient(t, testenv.RedisStandalone(t))
	prefix := testenv.UniquePrefix(t)
	testenv.DropKeys(t, client, prefix)
	c, err := rediscache.New(client, &rediscache.Options{Prefix: prefix, ClientSideTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 300 {
		want := []byte{byte(i), byte(i >> 8)}
		if err := c.Set(ctx, "k", want, time.Hour); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			e, err := c.Get(ctx, "k")
			if err != nil || string(e.Value) != string(want) {
				t.Fatalf("write %d: Get = %v, %v; want %v", i, e.Value, err, want)
			}
		}
		if i%10 == 0 {
			if err := c.Delete(ctx, "k"); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Get(ctx, "k"); !errors.Is(err, cache.ErrNotFound) {
				t.Fatalf("write %d: Get after Delete = %v, want ErrNotFound", i, err)
			}
		}
	}
}

func Example() {
	client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{"127.0.0.1:6379"}})
	if err != nil {
		panic(err)
	}
	defer client.Close()

	// The same client can serve the queue, rate limiter and transport too.
	c, err := rediscache.New(client, &rediscache.Options{
		Prefix:        "myapp_cache:",
		DefaultTTL:    5 * time.Minute,
		ClientSideTTL: time.Minute, // keep hot keys in memory, invalidated by Redis
	})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	_ = c.Set(ctx, "app:42", []byte(`{"id":"42"}`), 0)
	if e, err := c.Get(ctx, "app:42"); err == nil {
		_ = e.Value // {"id":"42"}, expiring within five minutes
	}
}

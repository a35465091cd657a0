package backends

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/cmd/sockudo/internal/config"
	"github.com/sockudo-go/sockudo/internal/testenv"
	"github.com/sockudo-go/sockudo/ratelimit"
)

// quiet discards the log output of the drivers under test.
var quiet = slog.New(slog.DiscardHandler)

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

// testClients returns a client registry that is closed when t ends.
func testClients(t *testing.T) *redisClients {
	r := newRedisClients()
	t.Cleanup(r.close)
	return r
}

// fakeClient is a rueidis.Client that only counts Close calls; any other
// method panics on the nil embedded interface.
type fakeClient struct {
	rueidis.Client
	id     int
	closed *int
}

func (f fakeClient) Close() { *f.closed++ }

func TestRedisClientsOnePerConnection(t *testing.T) {
	var opened, closed int
	r := newRedisClients()
	r.open = func(rueidis.ClientOption) (rueidis.Client, error) {
		opened++
		return fakeClient{id: opened, closed: &closed}, nil
	}
	must := func(opt rueidis.ClientOption, err error) rueidis.ClientOption {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return opt
	}
	db := config.Default().Database.Redis
	cluster := db
	cluster.Cluster.Nodes = []string{"127.0.0.1:7000", "127.0.0.1:7001"}
	reversed := cluster
	reversed.Cluster.Nodes = []string{"127.0.0.1:7001", "127.0.0.1:7000"}
	sentinel := db
	sentinel.Sentinels = []string{"127.0.0.1:26379"}
	for _, tc := range []struct {
		name   string
		opt    rueidis.ClientOption
		client int // the client expected, by order of opening
	}{
		{"database.redis host and port", must(clientOption(&db, false)), 1},
		{"the same Redis as a URL", must(rueidis.ParseURL("redis://127.0.0.1:6379")), 1},
		{"another database", must(rueidis.ParseURL("redis://127.0.0.1:6379/1")), 2},
		{"other credentials", must(rueidis.ParseURL("redis://u:p@127.0.0.1:6379")), 3},
		{"TLS", must(rueidis.ParseURL("rediss://127.0.0.1:6379")), 4},
		{"a cluster", must(clientOption(&cluster, true)), 5},
		{"the same cluster, seeds in another order", must(clientOption(&reversed, true)), 5},
		{"a Sentinel master", must(clientOption(&sentinel, false)), 6},
		{"database.redis again", must(clientOption(&db, false)), 1},
	} {
		c, err := r.client(tc.opt)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.(fakeClient).id; got != tc.client {
			t.Errorf("%s: got client %d, want %d", tc.name, got, tc.client)
		}
	}
	if opened != 6 {
		t.Errorf("opened %d clients, want 6", opened)
	}
	r.close()
	r.close()
	if closed != 6 {
		t.Errorf("closed %d times, want each of the 6 clients once", closed)
	}
}

func TestRedisClientsOpenError(t *testing.T) {
	r := newRedisClients()
	refused := errors.New("connection refused")
	r.open = func(rueidis.ClientOption) (rueidis.Client, error) { return nil, refused }
	_, err := r.client(rueidis.ClientOption{InitAddress: []string{"127.0.0.1:1"}})
	if !errors.Is(err, refused) {
		t.Fatalf("client() = %v, want the open error", err)
	}
	r.close() // nothing to close
}

// TestOpenSharesOneRedisClient opens a cache, a queue and a rate limiter
// on the same Redis and checks that they share one client, that each
// works through it, and that Close closes it.
func TestOpenSharesOneRedisClient(t *testing.T) {
	url := testenv.Lookup(t, "SOCKUDO_TEST_REDIS_URL")
	prefix := uniquePrefix(t)
	cfg, _, err := config.Load("", mapEnv(map[string]string{
		"REDIS_URL":                 url,
		"CACHE_DRIVER":              "redis",
		"QUEUE_DRIVER":              "redis",
		"QUEUE_REDIS_PREFIX":        prefix + "queue:",
		"RATE_LIMITER_ENABLED":      "true",
		"RATE_LIMITER_DRIVER":       "redis",
		"RATE_LIMITER_REDIS_PREFIX": prefix + "rl:",
	}))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Cache.Redis.Prefix = prefix + "cache:"

	clients := newRedisClients()
	var opened []rueidis.Client
	clients.open = func(opt rueidis.ClientOption) (rueidis.Client, error) {
		c, err := rueidis.NewClient(opt)
		if err == nil {
			opened = append(opened, c)
		}
		return c, err
	}
	b, err := open(context.Background(), &cfg, quiet, clients)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			b.Close()
		}
	})
	if len(opened) != 1 {
		t.Fatalf("cache, queue and rate limiter on one Redis opened %d clients, want 1", len(opened))
	}
	admin, err := rueidis.NewClient(clientOptionOf(t, url))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()

	ctx := context.Background()
	if err := b.cache.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatalf("cache Set: %v", err)
	}
	defer admin.Do(ctx, admin.B().Del().Key(prefix+"cache:k").Build())
	roundTrip(t, b.queue)
	res, err := b.limiter.Allow(ctx, "api:192.0.2.1", ratelimit.Limit{Max: 5, Window: time.Minute}, 1)
	if err != nil || !res.Allowed || res.Remaining != 4 {
		t.Fatalf("limiter Allow = %+v, %v", res, err)
	}
	defer admin.Do(ctx, admin.B().Del().Key(prefix+"rl:api:192.0.2.1").Build())
	keys, err := admin.Do(ctx, admin.B().Keys().Pattern(prefix+"*").Build()).AsStrSlice()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{prefix + "cache:k", prefix + "rl:api:192.0.2.1"} {
		if !slices.Contains(keys, want) {
			t.Errorf("Redis has %v, missing %s", keys, want)
		}
	}
	if _, err := sockudo.New(b.Options()...); err != nil {
		t.Fatalf("sockudo.New with the opened drivers: %v", err)
	}

	b.Close()
	closed = true
	err = opened[0].Do(ctx, opened[0].B().Ping().Build()).Error()
	if !errors.Is(err, rueidis.ErrClosing) {
		t.Fatalf("PING on the shared client after Close = %v, want rueidis.ErrClosing", err)
	}
}

func clientOptionOf(t *testing.T, url string) rueidis.ClientOption {
	t.Helper()
	opt, err := rueidis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	return opt
}

func TestOpenRejectsOtherAdapters(t *testing.T) {
	cfg := config.Default()
	cfg.Adapter.Driver = "redis"
	if _, err := Open(context.Background(), &cfg, quiet); err == nil {
		t.Fatal("adapter.driver redis accepted by a single-node server")
	}
}

func TestOpenClosesWhatItOpenedOnError(t *testing.T) {
	cfg := config.Default()
	cfg.Cache.Driver = "redis"
	cfg.Database.Redis.URL = "redis://127.0.0.1:6379"
	cfg.Queue.Driver = "kafka" // fails after the cache took its client
	var opened, closed int
	clients := newRedisClients()
	clients.open = func(rueidis.ClientOption) (rueidis.Client, error) {
		opened++
		return fakeClient{id: opened, closed: &closed}, nil
	}
	_, err := open(context.Background(), &cfg, quiet, clients)
	if err == nil {
		t.Fatal("queue.driver kafka accepted")
	}
	if opened != 1 || closed != 1 {
		t.Fatalf("opened %d clients and closed %d, want 1 and 1", opened, closed)
	}
}

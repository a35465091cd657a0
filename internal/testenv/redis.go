package testenv

import (
	"context"
	"crypto/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"
)

// The three Redis deployments CI runs, by the variables that locate them.

// RedisStandalone returns the client options of SOCKUDO_TEST_REDIS_URL.
func RedisStandalone(t testing.TB) rueidis.ClientOption {
	t.Helper()
	opt, err := rueidis.ParseURL(Lookup(t, "SOCKUDO_TEST_REDIS_URL"))
	if err != nil {
		t.Fatalf("SOCKUDO_TEST_REDIS_URL: %v", err)
	}
	return opt
}

// RedisCluster returns the client options of the 3-master cluster at
// SOCKUDO_TEST_REDIS_CLUSTER_ADDRS.
func RedisCluster(t testing.TB) rueidis.ClientOption {
	t.Helper()
	addrs := strings.Split(Lookup(t, "SOCKUDO_TEST_REDIS_CLUSTER_ADDRS"), ",")
	return rueidis.ClientOption{InitAddress: addrs, ShuffleInit: true}
}

// RedisSentinel returns the client options of the Sentinel deployment at
// SOCKUDO_TEST_REDIS_SENTINEL_ADDRS, master SOCKUDO_TEST_REDIS_SENTINEL_MASTER.
func RedisSentinel(t testing.TB) rueidis.ClientOption {
	t.Helper()
	addrs := strings.Split(Lookup(t, "SOCKUDO_TEST_REDIS_SENTINEL_ADDRS"), ",")
	master := Lookup(t, "SOCKUDO_TEST_REDIS_SENTINEL_MASTER")
	return rueidis.ClientOption{InitAddress: addrs, Sentinel: rueidis.SentinelOption{MasterSet: master}}
}

// RedisDeployment names a Redis deployment and how to reach it.
type RedisDeployment struct {
	Name   string
	Option func(t testing.TB) rueidis.ClientOption
}

// RedisDeployments lists standalone, cluster and Sentinel, for drivers
// that must pass their suite on each.
var RedisDeployments = []RedisDeployment{
	{"Standalone", RedisStandalone},
	{"Cluster", RedisCluster},
	{"Sentinel", RedisSentinel},
}

// RedisClient connects with opt and closes the client when t ends. Safe
// for parallel tests sharing one opt.
func RedisClient(t testing.TB, opt rueidis.ClientOption) rueidis.Client {
	t.Helper()
	// rueidis shuffles InitAddress in place when ShuffleInit is set.
	opt.InitAddress = slices.Clone(opt.InitAddress)
	c, err := rueidis.NewClient(opt)
	if err != nil {
		t.Fatalf("connect to Redis %v: %v", opt.InitAddress, err)
	}
	t.Cleanup(c.Close)
	return c
}

// RedisPrefix returns a key prefix unique to t and this run, and deletes
// every key under it through client when t ends, so tests can share one
// Redis.
func RedisPrefix(t testing.TB, client rueidis.Client) string {
	t.Helper()
	prefix := UniquePrefix(t)
	DropKeys(t, client, prefix)
	return prefix
}

// UniquePrefix returns a key prefix unique to t and this run.
func UniquePrefix(t testing.TB) string {
	name := strings.NewReplacer("/", ".", " ", "_", "{", "(", "}", ")").Replace(t.Name())
	return "sockudo_test:" + name + ":" + rand.Text()[:8] + ":"
}

// DropKeys deletes every key under prefix, on every node, through client
// when t ends.
func DropKeys(t testing.TB, client rueidis.Client, prefix string) {
	t.Cleanup(func() { DeleteKeys(t, client, prefix) })
}

// DeleteKeys removes the keys under prefix on every node now, as a wipe
// of the store would.
func DeleteKeys(t testing.TB, client rueidis.Client, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for addr, node := range client.Nodes() {
		var cursor uint64
		for range 10_000 {
			e, err := node.Do(ctx, node.B().Scan().Cursor(cursor).Match(prefix+"*").Count(1000).Build()).AsScanEntry()
			if err != nil {
				t.Logf("cleanup: SCAN on %s: %v", addr, err) // a replica or a node that left
				break
			}
			for _, k := range e.Elements {
				// Through the routing client: a replica refuses DEL.
				if err := client.Do(ctx, client.B().Del().Key(k).Build()).Error(); err != nil {
					t.Logf("cleanup: DEL %q: %v", k, err)
				}
			}
			if cursor = e.Cursor; cursor == 0 {
				break
			}
		}
	}
}

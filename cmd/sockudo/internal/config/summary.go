package config

import (
	"net"
	"strconv"
	"strings"

	"github.com/sockudo-go/sockudo/cmd/sockudo/internal/redact"
)

// AppSource says where the memory driver's apps come from: the config
// file's app_manager.array, SOCKUDO_DEFAULT_APP_*, or the built-in default
// app.
func (c *AppManager) AppSource() string {
	switch {
	case len(c.Array.Apps) > 0:
		return "app_manager.array.apps"
	case c.envDefaultApp:
		return "SOCKUDO_DEFAULT_APP_*"
	default:
		return "built-in default app"
	}
}

// Driver is one driver of the configuration and what it connects to, with
// credentials redacted, for the startup summary.
type Driver struct {
	Role   string // app_manager, cache, queue, rate_limiter, metrics
	Driver string
	Target string
}

// Drivers lists the drivers the configuration names and their targets,
// with passwords in URLs and DSNs redacted.
func (c *Config) Drivers() []Driver {
	out := []Driver{{Role: "app_manager", Driver: driverName(c.AppManager.Driver), Target: c.appManagerTarget()}}
	cache := c.Cache.DriverName()
	out = append(out, Driver{Role: "cache", Driver: cache,
		Target: c.redisTarget(cache, c.Cache.Redis.ClusterMode, c.Cache.Redis.URLOverride)})
	queue := driverName(c.Queue.Driver)
	qt := c.redisTarget(queue, c.Queue.Redis.ClusterMode, c.Queue.Redis.URLOverride)
	if queue == "redis-cluster" && len(c.Queue.RedisCluster.Nodes) > 0 {
		qt = redactList(c.Queue.RedisCluster.Nodes)
	}
	if queue == "sqs" {
		qt = "region " + c.Queue.SQS.Region
		if p := c.Queue.SQS.QueueURLPrefix; p != "" {
			qt += " " + redact.String(p)
		}
		if e := c.Queue.SQS.EndpointURL; e != "" {
			qt += " endpoint " + redact.String(e)
		}
	}
	out = append(out, Driver{Role: "queue", Driver: queue, Target: qt})
	rl := driverName(c.RateLimiter.Driver)
	if !c.RateLimiter.Enabled {
		rl = "none"
	}
	out = append(out, Driver{Role: "rate_limiter", Driver: rl,
		Target: c.redisTarget(rl, c.RateLimiter.Redis.ClusterMode, c.RateLimiter.Redis.URLOverride)})
	m := Driver{Role: "metrics", Driver: "none"}
	if c.Metrics.Enabled {
		m.Driver, m.Target = c.Metrics.Driver, net.JoinHostPort(c.Metrics.Host, strconv.Itoa(c.Metrics.Port))+"/metrics"
	}
	return append(out, m)
}

func (c *Config) appManagerTarget() string {
	switch driverName(c.AppManager.Driver) {
	case "mysql":
		return sqlTarget(&c.Database.MySQL)
	case "postgres", "pgsql", "postgresql":
		return sqlTarget(&c.Database.Postgres)
	case "dynamodb":
		d := c.Database.DynamoDB
		t := "region " + d.Region + " table " + d.TableName
		if d.EndpointURL != "" {
			t += " endpoint " + redact.String(d.EndpointURL)
		}
		return t
	case "scylladb", "scylla":
		s := c.Database.ScyllaDB
		return redactList(s.Nodes) + " keyspace " + s.Keyspace + " table " + s.Table
	}
	return "in memory"
}

// sqlTarget is user@host:port/database (table), never the password.
func sqlTarget(s *SQL) string {
	return s.Username + "@" + net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) + "/" + s.Database + " table " + s.TableName
}

// redisTarget is where a redis or redis-cluster driver connects, as
// package backends picks it.
func (c *Config) redisTarget(driver string, clusterMode bool, override string) string {
	r := &c.Database.Redis
	switch {
	case driver != "redis" && driver != "redis-cluster":
		if driver == "memory" {
			return "in memory"
		}
		return ""
	case driver == "redis-cluster" || clusterMode:
		return redactList(r.Cluster.Nodes)
	case override != "":
		return redact.String(override)
	case r.URL != "":
		return redact.String(r.URL)
	case len(r.Sentinels) > 0:
		return "sentinel " + r.Name + " at " + redactList(r.Sentinels)
	}
	return net.JoinHostPort(r.Host, strconv.Itoa(r.Port)) + "/" + strconv.Itoa(r.DB)
}

func redactList(items []string) string {
	out := make([]string, len(items))
	for i, s := range items {
		out[i] = redact.String(s)
	}
	return strings.Join(out, ",")
}

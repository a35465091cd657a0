package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/redis/rueidis"
)

// redisConfig is database.redis in config.json: the Redis that the redis
// and redis-cluster drivers of the cache, queue and rate limiter share.
type redisConfig struct {
	Host      string   `json:"host"`
	Port      int      `json:"port"`
	DB        int      `json:"db"`
	Username  string   `json:"username"`
	Password  string   `json:"password"`
	KeyPrefix string   `json:"key_prefix"`
	URL       string   `json:"url"`
	Sentinels []string `json:"sentinels"`
	Name      string   `json:"name"`
	// SentinelPassword authenticates to the sentinels themselves.
	SentinelPassword string             `json:"sentinel_password"`
	Cluster          redisClusterConfig `json:"cluster"`
}

type redisClusterConfig struct {
	// Nodes are host:port or redis:// / rediss:// URLs, which may carry
	// credentials; rediss:// turns TLS on.
	Nodes    []string `json:"nodes"`
	Username string   `json:"username"`
	Password string   `json:"password"`
	UseTLS   bool     `json:"use_tls"`
}

func defaultRedisConfig() redisConfig {
	return redisConfig{Host: "127.0.0.1", Port: 6379, KeyPrefix: "sockudo:", Name: "mymaster"}
}

func (c *redisConfig) applyEnv(e env) error {
	e.str(&c.URL, "REDIS_URL")
	e.str(&c.Host, "DATABASE_REDIS_HOST")
	if err := e.integer(&c.Port, "DATABASE_REDIS_PORT"); err != nil {
		return err
	}
	if err := e.integer(&c.DB, "DATABASE_REDIS_DB"); err != nil {
		return err
	}
	e.str(&c.Username, "DATABASE_REDIS_USERNAME")
	e.str(&c.Password, "DATABASE_REDIS_PASSWORD")
	e.str(&c.KeyPrefix, "DATABASE_REDIS_KEY_PREFIX")
	e.list(&c.Sentinels, "DATABASE_REDIS_SENTINELS", "DATABASE_REDIS_SENTINEL_NODES")
	e.str(&c.Name, "DATABASE_REDIS_SENTINEL_NAME", "DATABASE_REDIS_NAME")
	e.str(&c.SentinelPassword, "DATABASE_REDIS_SENTINEL_PASSWORD")
	e.list(&c.Cluster.Nodes, "DATABASE_REDIS_CLUSTER_NODES", "REDIS_CLUSTER_NODES")
	e.str(&c.Cluster.Username, "DATABASE_REDIS_CLUSTER_USERNAME")
	e.str(&c.Cluster.Password, "DATABASE_REDIS_CLUSTER_PASSWORD")
	return e.boolean(&c.Cluster.UseTLS, "DATABASE_REDIS_CLUSTER_USE_TLS")
}

// clientOption builds the rueidis options for a standalone or Sentinel
// Redis (cluster false) or for a Redis Cluster (cluster true).
func (c *redisConfig) clientOption(cluster bool) (rueidis.ClientOption, error) {
	if cluster {
		if len(c.Cluster.Nodes) == 0 {
			return rueidis.ClientOption{}, fmt.Errorf("database.redis.cluster.nodes (DATABASE_REDIS_CLUSTER_NODES) is empty")
		}
		return c.clusterOption()
	}
	if c.URL != "" {
		opt, err := rueidis.ParseURL(c.URL)
		if err != nil {
			return rueidis.ClientOption{}, fmt.Errorf("REDIS_URL: %w", redactURLError(err))
		}
		return opt, nil
	}
	opt := rueidis.ClientOption{
		InitAddress: []string{c.Host + ":" + strconv.Itoa(c.Port)},
		Username:    c.Username,
		Password:    c.Password,
		SelectDB:    c.DB,
	}
	if len(c.Sentinels) > 0 {
		opt.InitAddress = c.Sentinels
		opt.Sentinel = rueidis.SentinelOption{MasterSet: c.Name, Password: c.SentinelPassword}
	}
	return opt, nil
}

// clusterOption builds the options of a Redis Cluster client. Credentials
// come from the cluster section, else from a node URL, else from
// database.redis.
func (c *redisConfig) clusterOption() (rueidis.ClientOption, error) {
	cl := c.Cluster
	opt := rueidis.ClientOption{Username: cl.Username, Password: cl.Password, ShuffleInit: true}
	useTLS := cl.UseTLS
	for _, n := range cl.Nodes {
		if !strings.Contains(n, "://") {
			opt.InitAddress = append(opt.InitAddress, n)
			continue
		}
		u, err := url.Parse(n)
		if err != nil || u.Host == "" || (u.Scheme != "redis" && u.Scheme != "rediss") {
			return rueidis.ClientOption{}, fmt.Errorf("database.redis.cluster.nodes: %q is not host:port or a redis:// URL", redactUserinfo(n))
		}
		opt.InitAddress = append(opt.InitAddress, u.Host)
		useTLS = useTLS || u.Scheme == "rediss"
		if u.User != nil && opt.Password == "" {
			opt.Username = u.User.Username()
			opt.Password, _ = u.User.Password()
		}
	}
	if opt.Password == "" {
		opt.Username, opt.Password = c.Username, c.Password
	}
	if useTLS {
		opt.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return opt, nil
}

// redactUserinfo hides credentials in a node string for error messages.
func redactUserinfo(s string) string {
	if i := strings.LastIndex(s, "@"); i >= 0 {
		if j := strings.Index(s, "://"); j >= 0 && j < i {
			return s[:j+3] + "***" + s[i:]
		}
	}
	return s
}

// redactURLError keeps a password in a malformed URL out of logs: a
// *url.Error quotes the whole URL.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("malformed Redis URL: %v", ue.Err)
	}
	return err
}

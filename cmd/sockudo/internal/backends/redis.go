package backends

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"

	"github.com/sockudo-go/sockudo/cmd/sockudo/internal/config"
)

// redisClients opens one rueidis client per distinct Redis connection and
// hands it to every driver that asks for the same one, so a cache, a queue
// and a rate limiter on one Redis share its connections. It is used while
// the drivers are opened, from one goroutine.
type redisClients struct {
	// open is rueidis.NewClient; tests count calls through it.
	open    func(rueidis.ClientOption) (rueidis.Client, error)
	clients map[redisKey]rueidis.Client
	order   []rueidis.Client
}

func newRedisClients() *redisClients {
	return &redisClients{open: rueidis.NewClient, clients: make(map[redisKey]rueidis.Client)}
}

// client returns the client for opt, opening it on first use.
func (r *redisClients) client(opt rueidis.ClientOption) (rueidis.Client, error) {
	k := keyOf(opt)
	if c, ok := r.clients[k]; ok {
		return c, nil
	}
	c, err := r.open(opt)
	if err != nil {
		return nil, fmt.Errorf("connect to Redis %v: %w", opt.InitAddress, err)
	}
	r.clients[k] = c
	r.order = append(r.order, c)
	return c, nil
}

// close closes every client once, last opened first. Close the drivers
// that use them before.
func (r *redisClients) close() {
	for i := len(r.order) - 1; i >= 0; i-- {
		r.order[i].Close()
	}
	r.order, r.clients = nil, make(map[redisKey]rueidis.Client)
}

// redisKey is what makes two connections the same: every field that
// clientOption, the URL parser and clusterOption can set. The addresses
// are sorted, since rueidis treats them as a set of seeds.
type redisKey struct {
	addrs                              string
	cluster, unix                      bool
	username, password                 string
	db                                 int
	tls, skipVerify                    bool
	serverName                         string
	master, sentinelUser, sentinelPass string
	clientName                         string
	dialTimeout, writeTimeout          time.Duration
	resp2, disableCache, disableRetry  bool
}

func keyOf(o rueidis.ClientOption) redisKey {
	addrs := slices.Clone(o.InitAddress)
	slices.Sort(addrs)
	k := redisKey{
		addrs:   strings.Join(addrs, ","),
		cluster: o.ShuffleInit, unix: o.DialCtxFn != nil,
		username: o.Username, password: o.Password, db: o.SelectDB,
		master: o.Sentinel.MasterSet, sentinelUser: o.Sentinel.Username, sentinelPass: o.Sentinel.Password,
		clientName:  o.ClientName,
		dialTimeout: o.Dialer.Timeout, writeTimeout: o.ConnWriteTimeout,
		resp2: o.AlwaysRESP2, disableCache: o.DisableCache, disableRetry: o.DisableRetry,
	}
	if o.TLSConfig != nil {
		k.tls, k.skipVerify, k.serverName = true, o.TLSConfig.InsecureSkipVerify, o.TLSConfig.ServerName
	}
	return k
}

// redisOption returns the rueidis options of the Redis that a driver
// section names: database.redis.cluster when cluster is set, else the
// section's url_override (named by key in errors) when set, else
// database.redis.
func redisOption(db *config.Redis, cluster bool, override, key string) (rueidis.ClientOption, error) {
	if !cluster && override != "" {
		opt, err := rueidis.ParseURL(override)
		if err != nil {
			return rueidis.ClientOption{}, fmt.Errorf("%s: %w", key, redactURLError(err))
		}
		return opt, nil
	}
	return clientOption(db, cluster)
}

// clientOption builds the rueidis options for a standalone or Sentinel
// Redis (cluster false) or for a Redis Cluster (cluster true).
func clientOption(c *config.Redis, cluster bool) (rueidis.ClientOption, error) {
	if cluster {
		if len(c.Cluster.Nodes) == 0 {
			return rueidis.ClientOption{}, fmt.Errorf("database.redis.cluster.nodes (DATABASE_REDIS_CLUSTER_NODES) is empty")
		}
		return clusterOption(c)
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
func clusterOption(c *config.Redis) (rueidis.ClientOption, error) {
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

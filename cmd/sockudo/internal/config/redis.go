package config

// Redis is database.redis in config.json: the Redis that the redis and
// redis-cluster drivers of the cache, queue and rate limiter share.
type Redis struct {
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
	SentinelPassword string       `json:"sentinel_password"`
	Cluster          RedisCluster `json:"cluster"`
}

// RedisCluster is database.redis.cluster.
type RedisCluster struct {
	// Nodes are host:port or redis:// / rediss:// URLs, which may carry
	// credentials; rediss:// turns TLS on.
	Nodes    []string `json:"nodes"`
	Username string   `json:"username"`
	Password string   `json:"password"`
	UseTLS   bool     `json:"use_tls"`
}

func defaultRedisConfig() Redis {
	return Redis{Host: "127.0.0.1", Port: 6379, KeyPrefix: "sockudo:", Name: "mymaster"}
}

func (c *Redis) applyEnv(e env) error {
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

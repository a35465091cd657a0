// Command shared-redis runs sockudo with its cache, webhook queue and rate
// limiter all on one Redis, through one rueidis client that the host
// opens, hands to cache/redis, queue/redis and ratelimit/redis, and closes
// last. The drivers never close a client they are given, and rueidis
// multiplexes their commands over its connections, so one client per Redis
// is all a process needs.
//
//	REDIS_URL=redis://127.0.0.1:6379 go run ./examples/shared-redis
//
// REDIS_URL may name a standalone Redis (redis://, rediss://) or, with
// ?addr=... seeds, a Redis Cluster; rueidis.NewClient picks the mode.
package main

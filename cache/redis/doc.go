// Package redis is a cache.Cache on Redis through a rueidis client that
// the host owns and may share with other drivers.
//
// The same code serves a standalone Redis, a Sentinel-managed one and a
// Redis Cluster: the kind of deployment is a property of the rueidis client
// (rueidis.ClientOption with one address, with Sentinel set, or with the
// cluster's seed addresses). Every command touches exactly one key, so keys
// need no hash tags and spread evenly over a cluster's slots.
//
// Each entry is a plain Redis string under Options.Prefix + key, with the
// entry's expiry as the key's TTL, so entries are easy to inspect with
// redis-cli and expire on their own. Set is SET with PX, Add is SET NX with
// PX (atomic across every process that shares the Redis), Delete is DEL,
// and Get reads the value and its remaining TTL in one atomic script.
//
// # Outages
//
// Every call is bounded by its context's deadline and by Options.Timeout,
// whichever comes first, so a Redis that stops answering yields errors,
// never a hung caller. Get is retried after a dropped connection within
// that bound; writes are not (a retried Add could report false to its own
// winner), so when a write fails it may or may not have reached Redis.
// rueidis reconnects on its own, so the cache recovers when Redis returns,
// without a new client. The cache logs one warning when calls start failing
// and one message when they succeed again.
//
// # Client-side caching
//
// With Options.ClientSideTTL above zero, Get uses Redis server-assisted
// client-side caching (RESP3 client tracking, rueidis DoMultiCache): a value
// read once is kept in the process's memory for up to that long, and Redis
// tells the client to drop it as soon as any client changes or deletes the
// key. Repeated reads of the same key then cost no round trip.
//
// It pays off for keys read far more often than written, read by many
// server instances: app lookups (every connection and API call looks up its
// app, and apps rarely change), and the last event of a busy cache channel
// that many clients subscribe to. It does not help keys that are written
// about as often as read (each write invalidates every copy) and costs
// memory in every process (rueidis bounds it per connection with
// ClientOption.CacheSizeEachConn). Writes through this Cache are visible to
// its own next Get at once; writes from other processes become visible as
// soon as Redis's invalidation message arrives, normally well under a
// millisecond later, and at the latest after ClientSideTTL.
//
// Client-side caching needs Redis 7.0 or later (Get also reads the key's
// absolute expiry with PEXPIRETIME, measured by the Redis server's clock)
// and a client whose ClientOption.DisableCache is false. With DisableCache
// set, Get still works, with a round trip every time.
package redis

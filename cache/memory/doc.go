// Package memory is an in-process cache.Cache: a least-recently-used map
// bounded by entry count, with per-entry expiry and a background sweep of
// expired entries.
//
// It suits a single server process. Entries are not shared between
// processes, so a cluster of servers behind a load balancer should use
// cache/redis instead: with a memory cache each node answers cache channel
// subscriptions only from the events published through that node.
package memory

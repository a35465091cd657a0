// Package redis is a ratelimit.Limiter on Redis through a rueidis client,
// shared by every server process that uses the same Redis and prefix.
//
// Each decision is one Lua script on one key (Prefix + key), so it is
// atomic and runs on a standalone Redis, behind Sentinel or on a Redis
// Cluster alike: the driver is the same, only the client differs. It
// follows the fixed-window rules of package ratelimit: the key holds the
// units used in the open window and expires when the window ends.
//
// # Clock
//
// Windows are timed by Redis itself: the key is created with a PX expiry
// and the script reads the time left with PTTL. Every process therefore
// shares one timeline whatever the skew between their clocks (a key lives
// on one Cluster shard, so one clock times it), and no time is sent over
// the wire. The driver turns the time left into Result.ResetAt on the
// caller's clock when the reply arrives. Windows have millisecond
// resolution: a Window's sub-millisecond part is dropped.
//
// # Failures
//
// Backend errors are returned wrapped, never logged here; wrap the Limiter
// in a ratelimit.Guard to choose between failing open and failing closed,
// with logging and counting in one place. Options.Timeout bounds each
// decision so that a hung Redis cannot hold requests up.
package redis

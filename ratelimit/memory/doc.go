// Package memory is an in-process ratelimit.Limiter for a single server, or
// for budgets that are local by nature (client events per socket).
//
// It follows the fixed-window rules of package ratelimit. Its memory is
// bounded whatever the number of keys: it keeps at most Options.MaxKeys
// windows, in shards each ordered by last use. When a shard is full, a new
// key evicts the shard's least recently used window, which is usually one
// that has already ended. Evicting a window that is still open only forgets
// that key's usage, so that one key gets a fresh budget early: the limiter
// becomes more lenient for it and stays exact for every other key. An IP
// flood therefore costs at most MaxKeys entries (about 150 bytes each plus
// the key, some 20 MB at the default cap), never unbounded growth, and
// needs no background goroutine. Keys hash unevenly over the shards, so a
// full limiter may hold somewhat fewer than MaxKeys keys.
package memory

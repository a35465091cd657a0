// Package cache defines the key-value cache that a sockudo server uses for
// cache channels and other shared state, with its sentinel ErrNotFound.
//
// Drivers live in subpackages: memory (an in-process LRU with expiry), redis
// (standalone, Sentinel or Cluster through one rueidis client) and none
// (caching disabled). The conformance suite in cachetest is the contract
// every driver, including a host's own, must pass.
//
// Drivers wrap their errors with %w, so callers test for a missing entry
// with errors.Is(err, cache.ErrNotFound) and for a caller's deadline with
// errors.Is(err, context.DeadlineExceeded).
package cache

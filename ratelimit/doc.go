// Package ratelimit defines the rate limiter a sockudo server uses for its
// HTTP API, WebSocket connection attempts and per-app event budgets.
//
// Drivers live in subpackages: memory (in-process, bounded whatever the
// number of keys) and redis (atomic scripts, standalone or Cluster). The
// conformance suite in ratelimittest is the contract every driver must pass.
package ratelimit

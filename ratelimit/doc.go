// Package ratelimit defines the rate limiter a sockudo server uses for its
// HTTP API, WebSocket connection attempts and per-app event budgets.
//
// Drivers live in subpackages: memory (in-process, bounded whatever the
// number of keys) and redis (one atomic script per decision, standalone,
// Sentinel or Cluster). The conformance suite in ratelimittest is the
// contract every driver must pass.
//
// # Algorithm: fixed window
//
// Every driver counts with the same fixed-window rules, so that a
// Result means the same thing whatever the backend:
//
//   - A key has at most one open window. It opens at the first allowed call
//     after the previous window ended and lasts the Window of that call.
//   - A call of cost c under Limit l is allowed when the units already used
//     in the open window plus c are at most l.Max. An allowed call adds c to
//     the window's count; a denied call changes nothing.
//   - Result.Limit is l.Max, Result.Remaining is l.Max minus the units used
//     (never below zero), Result.ResetAt is the end of the open window, and
//     a denied call gets RetryAfter = ResetAt minus now. A cost above l.Max
//     can never be allowed: it is denied without touching the key, and when
//     no window is open it reports ResetAt = now and RetryAfter = l.Window.
//
// A fixed window is exact (at most Max units pass in any one window, also
// under concurrency and across processes), needs one counter per key and
// gives the X-RateLimit-Reset header an obvious meaning. Its known cost is
// that up to 2×Max units can pass in a short time across a window boundary;
// Sockudo's memory driver and soketi behave the same way.
//
// Different Limits on one key share the key's count: each call is judged
// against its own Max, and the window's length is the one of the call that
// opened it. So after 5 units under {Max: 10}, a call under {Max: 3} is
// denied and a call under {Max: 20} is allowed with 14 remaining. Changing
// an app's limit therefore takes effect at once, without resetting its
// usage. Callers that want independent budgets use different keys.
//
// # Failure policy
//
// A shared limiter can fail (Redis unreachable). Guard wraps any Limiter
// and answers by policy instead of returning the error: fail open (allow,
// the default) or fail closed (deny). It logs when the limiter starts
// failing and when it recovers, and counts the failed calls in Stats,
// which a sockudo server reports in its Stats and Prometheus metrics.
//
// # How the server uses it
//
//   - HTTP API requests and WebSocket upgrades, per client IP: Allow with
//     cost 1 under "api:" + ip and "ws:" + ip (or the RateLimit's
//     KeyPrefix; the standalone server uses Sockudo's identifiers "api:"
//     and "websocket_connect:"), with the configured limits.
//   - Per-app budgets: max_backend_events_per_second as Limit{Max: n,
//     Window: time.Second} under "app:" + id + ":backend", cost 1 per
//     published event, and max_read_requests_per_second under
//     "app:" + id + ":read", cost 1 per channel query.
//
// All of them go through the server's limiter (memory by default, or the
// driver given with WithRateLimiter), wrapped in a Guard. Client events
// (max_client_events_per_second) are not: a socket's limit concerns that
// socket alone, so each socket keeps its own token bucket in process and
// a client event costs no call to a shared limiter.
package ratelimit

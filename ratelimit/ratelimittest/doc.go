// Package ratelimittest is the conformance suite for ratelimit.Limiter
// drivers. Every first-party driver runs it, and a host that writes its own
// driver should run it too:
//
//	func TestConformance(t *testing.T) {
//		ratelimittest.Run(t, ratelimittest.Harness{
//			New: func(t *testing.T) ratelimit.Limiter {
//				return mylimiter.New()
//			},
//			Synctest: true, // only for a limiter that does no real I/O
//		})
//	}
//
// The suite checks the fixed-window rules documented in package ratelimit:
// exact limits under concurrency, window reset, independent keys, costs,
// denied calls consuming nothing, the Result fields, mixed Limits on one
// key, argument validation and context cancellation. Each subtest uses its
// own unique keys, so drivers on a shared server need no extra isolation.
package ratelimittest

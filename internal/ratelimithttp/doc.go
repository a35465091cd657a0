// Package ratelimithttp is the per-client-IP rate limiting that the server
// mounts in front of its HTTP API and its WebSocket upgrades, with
// Sockudo's headers and 429 body.
//
// The server builds one Rule per surface from the rate_limiter config:
//
//	api := ratelimithttp.Rule{Limiter: guarded, Limit: apiLimit, KeyPrefix: "api:", TrustHops: apiHops}
//	ws := ratelimithttp.Rule{Limiter: guarded, Limit: wsLimit, KeyPrefix: "ws:", TrustHops: wsHops}
//	mux.Handle("/apps/", ratelimithttp.Middleware(api, apiHandler))
//	mux.Handle("/app/", ratelimithttp.Middleware(ws, upgradeHandler))
//
// where guarded is the configured driver wrapped in a ratelimit.Guard, so a
// backend outage follows the fail-open or fail-closed policy. A handler
// that routes internally can call Rule.Check itself instead.
package ratelimithttp

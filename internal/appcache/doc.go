// Package appcache is the server's in-process cache in front of any
// appmanager.Manager.
//
// A found app is served from memory for Options.TTL; an ErrNotFound answer
// is remembered for the shorter Options.NegativeTTL, so a flood of unknown
// keys cannot hammer the database; concurrent misses for the same id or key
// share one backend lookup; the number of entries is bounded (LRU); any
// other error is returned and never cached, so an outage is retried on the
// next call. Invalidate removes an app under its id and key at once.
//
// The *App values a Cache returns are shared between callers and must be
// treated as read-only: the server reads them on the hot path and does not
// copy them. Call Clone on a result before changing it.
package appcache

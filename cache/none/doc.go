// Package none is a cache.Cache that stores nothing, for running a server
// with caching turned off (CACHE_DRIVER=none).
//
// Writes succeed and are discarded; Get always reports cache.ErrNotFound;
// Add always reports true, so a caller that deduplicates work with Add (an
// idempotency key, a once-only webhook) still does the work rather than
// dropping it. Nothing is deduplicated, so such work may be done twice.
//
// With this cache, cache channels (cache-*, private-cache-*,
// presence-cache-*) never remember their last event: every subscriber gets
// pusher:cache_miss, and the server fires a cache_miss webhook for each
// subscription. Lookups that the server caches go to their backend every
// time.
package none

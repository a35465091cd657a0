// Command custom-cache runs sockudo on a cache driver written by the host:
// mapCache, a map behind a mutex with per-entry expiry, in cache.go. Any
// type with cache.Cache's four methods plugs in with sockudo.WithCache;
// cache_test.go proves it with the conformance suite that every bundled
// driver runs (cache/cachetest).
//
//	go run ./examples/custom-cache
//	go test ./examples/custom-cache
package main

// Package cachetest is the conformance suite for cache.Cache
// implementations. Every driver in this module runs it, and a host that
// writes its own cache should run it too:
//
//	func TestConformance(t *testing.T) {
//		cachetest.Run(t, cachetest.Harness{
//			New: func(t *testing.T) cache.Cache {
//				c := mycache.New(...)
//				t.Cleanup(func() { c.Close() })
//				return c
//			},
//		})
//	}
//
// The Harness is a struct of functions and capability fields, so fields can
// be added later without breaking harnesses that already exist. Every field
// but New is optional, and the zero value of each asks for the whole
// contract: StoresNothing, for instance, is how a no-op cache such as
// cache/none declares that it keeps nothing, and the suite then checks what
// such a cache must do instead of skipping it.
//
// The suite runs one subtest per behaviour with a fresh cache from New. It
// puts a namespace unique to the run and the subtest before every key, and
// deletes its keys when the subtest ends, so several test packages can run
// it at once against one shared server. With NewShared it also checks that
// caches in separate processes (one client each) share entries under one
// prefix and see nothing under another.
package cachetest

package cachetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sockudo-go/sockudo/cache"
)

// Harness describes the cache under test to Run. Only New is required.
type Harness struct {
	// New returns a cache for one subtest; release its resources with
	// t.Cleanup. The suite puts a namespace unique to the run and the
	// subtest before every key it uses and deletes its keys when the
	// subtest ends, so caches from New may share one backend and one key
	// space, as long as nothing else writes keys starting with "cachetest:".
	New func(t *testing.T) cache.Cache

	// NewShared, if set, returns a cache on one backend that all caches
	// from NewShared share, with its keys under prefix: caches given the
	// same prefix see the same entries, as separate processes would, and
	// caches given different prefixes see nothing of each other. Each call
	// should build its own client, so the test covers two processes. The
	// suite passes prefixes unique to the run. Nil skips the sharing tests.
	NewShared func(t *testing.T, prefix string) cache.Cache

	// Synctest runs every subtest inside a testing/synctest bubble, New
	// included, so a cache that reads time.Now and runs its timers on the
	// runtime's clock sees fake time: expiry tests then advance it with
	// time.Sleep, instantly and exactly. Only for caches that do no real
	// I/O, which a bubble does not allow; the cache's goroutines must end
	// by the subtest's Cleanup. Without it expiry tests use short real
	// TTLs and poll.
	Synctest bool

	// DefaultTTL is the expiry the caches give entries stored with a ttl
	// of zero or less; zero means such entries never expire.
	DefaultTTL time.Duration

	// TTLPrecision is how far an entry's expiry may be from the one asked
	// for, in either direction (clock granularity, rounding, clock skew).
	// Zero means 50 ms.
	TTLPrecision time.Duration

	// MaxValueSize is the largest value the cache accepts; zero means no
	// limit. The suite stores values of up to 1 MiB, or MaxValueSize bytes
	// if that is smaller.
	MaxValueSize int

	// StoresNothing declares a cache that accepts writes and keeps nothing,
	// as cache/none does. The suite then skips the tests that need a stored
	// entry and checks what such a cache must do instead: every write
	// succeeds, Add always reports true (so a caller that deduplicates with
	// Add still proceeds), Get always returns ErrNotFound, and a done
	// context is still an error.
	StoresNothing bool
}

// Run runs the conformance suite against the cache that h describes, one
// subtest per behaviour.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("cachetest: Harness.New is nil")
	}
	s := &suite{h: h, run: randomHex(4)}
	for _, tc := range []struct {
		name  string
		needs need
		fn    func(*testing.T, *suite)
	}{
		{"GetMissing", always, testGetMissing},
		{"SetGet", stores, testSetGet},
		{"Overwrite", stores, testOverwrite},
		{"Delete", stores, testDelete},
		{"Expiry", stores, testExpiry},
		{"ExpiresAt", stores, testExpiresAt},
		{"DefaultTTL", stores, testDefaultTTL},
		{"Add", stores, testAdd},
		{"AddAfterExpiry", stores, testAddAfterExpiry},
		{"AddConcurrent", stores, testAddConcurrent},
		{"BinaryValues", stores, testBinaryValues},
		{"EmptyValue", stores, testEmptyValue},
		{"LargeValue", stores, testLargeValue},
		{"ValueOwnership", stores, testValueOwnership},
		{"Keys", stores, testKeys},
		{"Concurrent", always, testConcurrent},
		{"DoneContext", always, testDoneContext},
		{"SharedIsolation", stores | shared, testSharedIsolation},
		{"SharedVisibility", stores | shared, testSharedVisibility},
		{"SharedAddConcurrent", stores | shared, testSharedAddConcurrent},
		{"StoresNothing", storesNothing, testStoresNothing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			switch {
			case tc.needs&stores != 0 && h.StoresNothing:
				t.Skip("Harness.StoresNothing: the cache keeps no entries")
			case tc.needs&storesNothing != 0 && !h.StoresNothing:
				t.Skip("only for a cache that stores nothing")
			case tc.needs&shared != 0 && h.NewShared == nil:
				t.Skip("Harness.NewShared is nil")
			}
			if h.Synctest {
				synctest.Test(t, func(t *testing.T) { tc.fn(t, s) })
				return
			}
			tc.fn(t, s)
		})
	}
}

type need int

const (
	always        need = 0
	stores        need = 1 // needs a cache that keeps entries
	shared        need = 2 // needs Harness.NewShared
	storesNothing need = 4 // only for Harness.StoresNothing
)

type suite struct {
	h   Harness
	run string // random, unique to this Run
}

// opTimeout bounds every call the suite makes, so a hung driver fails the
// test instead of stalling it.
const opTimeout = 10 * time.Second

// now reads the clock the cache uses: the bubble's under Synctest.
func (s *suite) now() time.Time { return time.Now() }

func (s *suite) precision() time.Duration {
	if s.h.Synctest {
		return time.Millisecond // fake time is exact; this is the step the suite takes around an expiry
	}
	if s.h.TTLPrecision > 0 {
		return s.h.TTLPrecision
	}
	return 50 * time.Millisecond
}

// shortTTL is an expiry short enough to wait for in real time.
func (s *suite) shortTTL() time.Duration {
	return max(300*time.Millisecond, 4*s.precision())
}

func (s *suite) maxValue() int {
	if s.h.MaxValueSize > 0 && s.h.MaxValueSize < 1<<20 {
		return s.h.MaxValueSize
	}
	return 1 << 20
}

// cache returns a fresh cache from h.New whose keys are deleted when t ends.
func (s *suite) cache(t *testing.T) *tracked {
	t.Helper()
	c := s.h.New(t)
	if c == nil {
		t.Fatal("Harness.New returned nil")
	}
	return s.track(t, c)
}

// sharedCache returns a cache from h.NewShared.
func (s *suite) sharedCache(t *testing.T, prefix string) *tracked {
	t.Helper()
	c := s.h.NewShared(t, prefix)
	if c == nil {
		t.Fatal("Harness.NewShared returned nil")
	}
	return s.track(t, c)
}

// tracked wraps a cache for one subtest: it puts the subtest's namespace
// before every key, and deletes the keys written through it when the
// subtest ends.
type tracked struct {
	c    cache.Cache
	ns   string
	mu   sync.Mutex
	keys map[string]struct{}
}

var _ cache.Cache = (*tracked)(nil)

// track wraps c. Every cache of one subtest gets the same namespace, so
// caches on a shared backend still see each other's entries.
func (s *suite) track(t *testing.T, c cache.Cache) *tracked {
	ns := "cachetest:" + s.run + ":" + strings.NewReplacer("/", ".", " ", "_").Replace(t.Name()) + ":"
	tc := &tracked{c: c, ns: ns, keys: make(map[string]struct{})}
	t.Cleanup(func() {
		ctx, cancel := opCtx()
		defer cancel()
		tc.mu.Lock()
		defer tc.mu.Unlock()
		for k := range tc.keys {
			if err := c.Delete(ctx, k); err != nil {
				t.Logf("cleanup: Delete(%q): %v", k, err)
			}
		}
	})
	return tc
}

func (tc *tracked) Get(ctx context.Context, key string) (cache.Entry, error) {
	return tc.c.Get(ctx, tc.ns+key)
}

func (tc *tracked) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	tc.remember(tc.ns + key)
	return tc.c.Set(ctx, tc.ns+key, value, ttl)
}

func (tc *tracked) Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	tc.remember(tc.ns + key)
	return tc.c.Add(ctx, tc.ns+key, value, ttl)
}

func (tc *tracked) Delete(ctx context.Context, key string) error {
	return tc.c.Delete(ctx, tc.ns+key)
}

func (tc *tracked) remember(key string) {
	tc.mu.Lock()
	tc.keys[key] = struct{}{}
	tc.mu.Unlock()
}

// opCtx bounds one call to the cache.
func opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), opTimeout)
}

// ctxFor bounds a group of calls that ends with t.
func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	t.Cleanup(cancel)
	return ctx
}

func mustSet(t *testing.T, c cache.Cache, key string, value []byte, ttl time.Duration) {
	t.Helper()
	ctx, cancel := opCtx()
	defer cancel()
	if err := c.Set(ctx, key, value, ttl); err != nil {
		t.Fatalf("Set(%q, %d bytes, %v): %v", key, len(value), ttl, err)
	}
}

func mustAdd(t *testing.T, c cache.Cache, key string, value []byte, ttl time.Duration) bool {
	t.Helper()
	ctx, cancel := opCtx()
	defer cancel()
	ok, err := c.Add(ctx, key, value, ttl)
	if err != nil {
		t.Fatalf("Add(%q, %d bytes, %v): %v", key, len(value), ttl, err)
	}
	return ok
}

func mustDelete(t *testing.T, c cache.Cache, key string) {
	t.Helper()
	ctx, cancel := opCtx()
	defer cancel()
	if err := c.Delete(ctx, key); err != nil {
		t.Fatalf("Delete(%q): %v", key, err)
	}
}

// mustGet fails unless key holds want.
func mustGet(t *testing.T, c cache.Cache, key string, want []byte) cache.Entry {
	t.Helper()
	ctx, cancel := opCtx()
	defer cancel()
	e, err := c.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get(%q): %v, want %s", key, err, show(want))
	}
	if !bytes.Equal(e.Value, want) {
		t.Fatalf("Get(%q) = %s, want %s", key, show(e.Value), show(want))
	}
	return e
}

// mustMiss fails unless Get(key) reports ErrNotFound.
func mustMiss(t *testing.T, c cache.Cache, key string) {
	t.Helper()
	ctx, cancel := opCtx()
	defer cancel()
	e, err := c.Get(ctx, key)
	if !errors.Is(err, cache.ErrNotFound) {
		t.Fatalf("Get(%q) = %s, %v; want an error matching cache.ErrNotFound", key, show(e.Value), err)
	}
}

// show prints a value briefly.
func show(v []byte) string {
	if len(v) > 64 {
		return fmt.Sprintf("%d bytes %q...", len(v), v[:32])
	}
	return fmt.Sprintf("%q", v)
}

// eventually polls cond every 10 ms until it is true or timeout passes.
func eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// uniquePrefix returns a namespace prefix for NewShared, unique to t and
// this run.
func uniquePrefix(t *testing.T, tag string) string {
	name := strings.NewReplacer("/", ".", " ", "_").Replace(t.Name())
	return "cachetest:" + name + ":" + tag + ":" + randomHex(4) + ":"
}

// checkExpiresAt fails unless e expires ttl after a moment in
// [before, after], within the harness's precision.
func (s *suite) checkExpiresAt(t *testing.T, e cache.Entry, before, after time.Time, ttl time.Duration) {
	t.Helper()
	p := s.precision()
	lo, hi := before.Add(ttl-p), after.Add(ttl+p)
	if e.ExpiresAt.IsZero() {
		t.Fatalf("ExpiresAt is zero (never), want between %v and %v", lo, hi)
	}
	if e.ExpiresAt.Before(lo) || e.ExpiresAt.After(hi) {
		t.Fatalf("ExpiresAt = %v, want between %v and %v (ttl %v)", e.ExpiresAt, lo, hi, ttl)
	}
	if left := e.TTL(s.now()); left <= 0 || left > ttl+p {
		t.Fatalf("Entry.TTL(now) = %v, want in (0, %v]", left, ttl+p)
	}
}

// getFresh checks that key holds want, if it was stored with ttl at setAt
// recently enough that the entry must still be live. A slow machine can
// make the answer uncertain; then it checks nothing.
func (s *suite) getFresh(t *testing.T, c cache.Cache, key string, want []byte, ttl time.Duration, setAt time.Time) {
	t.Helper()
	ctx, cancel := opCtx()
	defer cancel()
	e, err := c.Get(ctx, key)
	if s.now().Sub(setAt) >= ttl-s.precision() {
		return
	}
	if err != nil {
		t.Fatalf("Get(%q) before its ttl of %v ran out: %v", key, ttl, err)
	}
	if !bytes.Equal(e.Value, want) {
		t.Fatalf("Get(%q) = %s, want %s", key, show(e.Value), show(want))
	}
}

// awaitExpiry waits until key, stored with ttl at setAt (read from the
// harness clock just before the write), is gone: by advancing the fake
// clock, or by polling. It fails if the entry outlives its ttl by more than
// the precision plus a grace period, or disappears early.
func (s *suite) awaitExpiry(t *testing.T, c cache.Cache, key string, ttl time.Duration, setAt time.Time) {
	t.Helper()
	p := s.precision()
	if s.h.Synctest {
		if d := setAt.Add(ttl - p - time.Millisecond).Sub(s.now()); d > 0 {
			time.Sleep(d)
		}
		ctx, cancel := opCtx()
		defer cancel()
		if _, err := c.Get(ctx, key); err != nil {
			t.Fatalf("Get(%q) %v before its ttl of %v runs out: %v", key, p, ttl, err)
		}
		time.Sleep(2*p + time.Millisecond)
		mustMiss(t, c, key)
		return
	}
	const grace = 5 * time.Second
	var goneAt time.Time
	ok := eventually(time.Until(setAt.Add(ttl+p+grace)), func() bool {
		ctx, cancel := opCtx()
		defer cancel()
		_, err := c.Get(ctx, key)
		if errors.Is(err, cache.ErrNotFound) {
			goneAt = time.Now()
			return true
		}
		if err != nil {
			t.Fatalf("Get(%q) while waiting for expiry: %v", key, err)
		}
		return false
	})
	if !ok {
		t.Fatalf("Get(%q) still finds the entry %v after its ttl of %v ran out", key, p+grace, ttl)
	}
	if early := setAt.Add(ttl - p); goneAt.Before(early) {
		t.Fatalf("entry %q expired %v after Set, before its ttl of %v", key, goneAt.Sub(setAt), ttl)
	}
}

func testGetMissing(t *testing.T, s *suite) {
	c := s.cache(t)
	e, err := c.Get(ctxFor(t), "never-set")
	if !errors.Is(err, cache.ErrNotFound) {
		t.Fatalf("Get(never-set) error = %v, want one matching cache.ErrNotFound", err)
	}
	if e.Value != nil || !e.ExpiresAt.IsZero() {
		t.Fatalf("Get(never-set) entry = %+v, want the zero Entry", e)
	}
	mustDelete(t, c, "never-set")
	mustMiss(t, c, "never-set")
}

func testSetGet(t *testing.T, s *suite) {
	c := s.cache(t)
	mustSet(t, c, "k1", []byte("v1"), time.Hour)
	mustSet(t, c, "k2", []byte("v2"), time.Hour)
	mustGet(t, c, "k1", []byte("v1"))
	mustGet(t, c, "k2", []byte("v2"))
	mustMiss(t, c, "k3")
	// Reading does not consume the entry.
	mustGet(t, c, "k1", []byte("v1"))
}

func testOverwrite(t *testing.T, s *suite) {
	c := s.cache(t)
	mustSet(t, c, "k", []byte("first"), time.Hour)
	mustSet(t, c, "k", []byte("second"), time.Hour)
	mustGet(t, c, "k", []byte("second"))

	// Overwriting replaces the expiry too: a long ttl replaces a short
	// one, and no ttl replaces a ttl with the default.
	before := s.now()
	mustSet(t, c, "k", []byte("third"), 2*time.Hour)
	e := mustGet(t, c, "k", []byte("third"))
	s.checkExpiresAt(t, e, before, s.now(), 2*time.Hour)

	before = s.now()
	mustSet(t, c, "k", []byte("fourth"), 0)
	e = mustGet(t, c, "k", []byte("fourth"))
	if s.h.DefaultTTL == 0 {
		if !e.ExpiresAt.IsZero() {
			t.Fatalf("after Set with ttl 0 (no default TTL), ExpiresAt = %v, want zero", e.ExpiresAt)
		}
	} else {
		s.checkExpiresAt(t, e, before, s.now(), s.h.DefaultTTL)
	}

	// A shorter ttl replaces a longer one.
	setAt := s.now()
	mustSet(t, c, "k", []byte("fifth"), s.shortTTL())
	s.getFresh(t, c, "k", []byte("fifth"), s.shortTTL(), setAt)
	s.awaitExpiry(t, c, "k", s.shortTTL(), setAt)
}

func testDelete(t *testing.T, s *suite) {
	c := s.cache(t)
	mustSet(t, c, "k", []byte("v"), time.Hour)
	mustSet(t, c, "other", []byte("o"), time.Hour)
	mustDelete(t, c, "k")
	mustMiss(t, c, "k")
	mustGet(t, c, "other", []byte("o"))
	// Deleting an absent key is not an error.
	mustDelete(t, c, "k")
	mustDelete(t, c, "never-set")
	// A deleted key can be set again.
	mustSet(t, c, "k", []byte("again"), time.Hour)
	mustGet(t, c, "k", []byte("again"))
}

func testExpiry(t *testing.T, s *suite) {
	c := s.cache(t)
	ttl := s.shortTTL()
	setAt := s.now()
	mustSet(t, c, "short", []byte("s"), ttl)
	mustSet(t, c, "long", []byte("l"), time.Hour)
	s.getFresh(t, c, "short", []byte("s"), ttl, setAt)
	s.awaitExpiry(t, c, "short", ttl, setAt)
	mustGet(t, c, "long", []byte("l"))
	// An expired entry stays expired.
	mustMiss(t, c, "short")
}

func testExpiresAt(t *testing.T, s *suite) {
	c := s.cache(t)
	for _, ttl := range []time.Duration{time.Minute, 24 * time.Hour} {
		before := s.now()
		mustSet(t, c, "set", []byte("v"), ttl)
		e := mustGet(t, c, "set", []byte("v"))
		s.checkExpiresAt(t, e, before, s.now(), ttl)

		mustDelete(t, c, "add")
		before = s.now()
		if !mustAdd(t, c, "add", []byte("v"), ttl) {
			t.Fatal("Add of a deleted key reported false")
		}
		e = mustGet(t, c, "add", []byte("v"))
		s.checkExpiresAt(t, e, before, s.now(), ttl)
	}
	// A ttl that is not a whole number of milliseconds still works.
	before := s.now()
	odd := time.Minute + 1500*time.Microsecond
	mustSet(t, c, "odd", []byte("v"), odd)
	e := mustGet(t, c, "odd", []byte("v"))
	s.checkExpiresAt(t, e, before, s.now(), odd)
}

func testDefaultTTL(t *testing.T, s *suite) {
	c := s.cache(t)
	def := s.h.DefaultTTL
	var setAt time.Time
	for i, ttl := range []time.Duration{0, -time.Second} {
		key := fmt.Sprintf("k%d", i)
		before := s.now()
		if i == 0 {
			setAt = before
		}
		mustSet(t, c, key, []byte("v"), ttl)
		e, err := c.Get(ctxFor(t), key)
		after := s.now()
		if def > 0 && after.Sub(before) >= def-s.precision() {
			continue // too slow to tell; the expiry check below still runs
		}
		if err != nil {
			t.Fatalf("Get(%q) after Set with ttl %v: %v", key, ttl, err)
		}
		if def == 0 {
			if !e.ExpiresAt.IsZero() {
				t.Fatalf("Set(ttl %v) with no default TTL: ExpiresAt = %v, want zero (never)", ttl, e.ExpiresAt)
			}
			if e.TTL(after) != 0 {
				t.Fatalf("Entry.TTL of an entry that never expires = %v, want 0", e.TTL(after))
			}
		} else {
			s.checkExpiresAt(t, e, before, after, def)
		}

		addKey := fmt.Sprintf("add%d", i)
		before = s.now()
		if !mustAdd(t, c, addKey, []byte("v"), ttl) {
			t.Fatalf("Add(%q) of a new key reported false", addKey)
		}
		e, err = c.Get(ctxFor(t), addKey)
		after = s.now()
		if def > 0 && after.Sub(before) >= def-s.precision() {
			continue
		}
		if err != nil {
			t.Fatalf("Get(%q) after Add with ttl %v: %v", addKey, ttl, err)
		}
		if def == 0 {
			if !e.ExpiresAt.IsZero() {
				t.Fatalf("Add(ttl %v) with no default TTL: ExpiresAt = %v, want zero (never)", ttl, e.ExpiresAt)
			}
		} else {
			s.checkExpiresAt(t, e, before, after, def)
		}
	}
	switch {
	case def == 0 && s.h.Synctest:
		time.Sleep(48 * time.Hour) // far beyond every ttl the suite uses
		mustGet(t, c, "k0", []byte("v"))
		mustGet(t, c, "add1", []byte("v"))
	case def > 0 && (s.h.Synctest || def <= 2*time.Second):
		s.awaitExpiry(t, c, "k0", def, setAt)
	}
}

func testAdd(t *testing.T, s *suite) {
	c := s.cache(t)
	if !mustAdd(t, c, "k", []byte("first"), time.Hour) {
		t.Fatal("Add of an absent key reported false")
	}
	mustGet(t, c, "k", []byte("first"))
	if mustAdd(t, c, "k", []byte("second"), time.Hour) {
		t.Fatal("Add of a present key reported true")
	}
	mustGet(t, c, "k", []byte("first"))
	// Add does not touch a present entry's expiry either.
	before := s.now()
	mustSet(t, c, "k", []byte("set"), time.Minute)
	after := s.now()
	if mustAdd(t, c, "k", []byte("third"), time.Hour) {
		t.Fatal("Add of a key stored by Set reported true")
	}
	e := mustGet(t, c, "k", []byte("set"))
	s.checkExpiresAt(t, e, before, after, time.Minute)

	mustDelete(t, c, "k")
	if !mustAdd(t, c, "k", []byte("after-delete"), time.Hour) {
		t.Fatal("Add after Delete reported false")
	}
	mustGet(t, c, "k", []byte("after-delete"))
}

func testAddAfterExpiry(t *testing.T, s *suite) {
	c := s.cache(t)
	ttl := s.shortTTL()
	setAt := s.now()
	if !mustAdd(t, c, "k", []byte("first"), ttl) {
		t.Fatal("Add of an absent key reported false")
	}
	s.awaitExpiry(t, c, "k", ttl, setAt)
	if !mustAdd(t, c, "k", []byte("second"), time.Hour) {
		t.Fatal("Add over an expired entry reported false")
	}
	mustGet(t, c, "k", []byte("second"))
}

// addRace runs n concurrent Adds of key, spread over caches, and checks that
// exactly one wins and its value is the one stored.
func addRace(t *testing.T, caches []cache.Cache, key string, n int) {
	t.Helper()
	ctx := ctxFor(t)
	start := make(chan struct{})
	var wg sync.WaitGroup
	won := make([]bool, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			won[i], errs[i] = caches[i%len(caches)].Add(ctx, key, []byte(fmt.Sprintf("value-%d", i)), time.Hour)
		}()
	}
	close(start)
	wg.Wait()
	winner := -1
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Add #%d: %v", i, errs[i])
		}
		if won[i] {
			if winner >= 0 {
				t.Fatalf("Add #%d and Add #%d both reported true", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("none of %d concurrent Adds of an absent key reported true", n)
	}
	for _, c := range caches {
		mustGet(t, c, key, []byte(fmt.Sprintf("value-%d", winner)))
	}
}

func testAddConcurrent(t *testing.T, s *suite) {
	c := s.cache(t)
	for round := range 5 {
		addRace(t, []cache.Cache{c}, fmt.Sprintf("race-%d", round), 16)
	}
}

func testBinaryValues(t *testing.T, s *suite) {
	c := s.cache(t)
	all := make([]byte, 512)
	for i := range all {
		all[i] = byte(i)
	}
	values := map[string][]byte{
		"all-bytes":    all,
		"nul":          {0},
		"nuls":         {0, 0, 0, 'a', 0},
		"invalid-utf8": {0xff, 0xfe, 0xc3, 0x28},
		"crlf":         []byte("$5\r\nhello\r\n*1\r\n"),
		"high":         bytes.Repeat([]byte{0x80, 0xff}, 100),
		"utf8":         []byte("héllo ☃ 世界"),
	}
	for k, v := range values {
		mustSet(t, c, k, v, time.Hour)
	}
	for k, v := range values {
		mustGet(t, c, k, v)
	}
	if !mustAdd(t, c, "add-all-bytes", all, time.Hour) {
		t.Fatal("Add of an absent key reported false")
	}
	mustGet(t, c, "add-all-bytes", all)
}

func testEmptyValue(t *testing.T, s *suite) {
	c := s.cache(t)
	mustSet(t, c, "empty", []byte{}, time.Hour)
	mustSet(t, c, "nil", nil, time.Hour)
	for _, k := range []string{"empty", "nil"} {
		e := mustGet(t, c, k, nil)
		if len(e.Value) != 0 {
			t.Fatalf("Get(%q) = %s, want an empty value", k, show(e.Value))
		}
	}
	if !mustAdd(t, c, "add-empty", nil, time.Hour) {
		t.Fatal("Add of an absent key reported false")
	}
	// A stored empty value is present: Add must not replace it.
	if mustAdd(t, c, "add-empty", []byte("x"), time.Hour) {
		t.Fatal("Add over a stored empty value reported true")
	}
	mustGet(t, c, "add-empty", nil)
}

func testLargeValue(t *testing.T, s *suite) {
	c := s.cache(t)
	n := s.maxValue()
	v := make([]byte, n)
	_, _ = rand.Read(v)
	mustSet(t, c, "large", v, time.Hour)
	mustGet(t, c, "large", v)
	v2 := bytes.Repeat([]byte{0}, n)
	mustSet(t, c, "large", v2, time.Hour)
	mustGet(t, c, "large", v2)
}

func testValueOwnership(t *testing.T, s *suite) {
	c := s.cache(t)
	v := []byte("original")
	mustSet(t, c, "set", v, time.Hour)
	copy(v, "MUTATED!")
	mustGet(t, c, "set", []byte("original"))

	a := []byte("original")
	mustAdd(t, c, "add", a, time.Hour)
	copy(a, "MUTATED!")
	mustGet(t, c, "add", []byte("original"))

	e := mustGet(t, c, "set", []byte("original"))
	for i := range e.Value {
		e.Value[i] = 'x'
	}
	mustGet(t, c, "set", []byte("original"))
}

func testKeys(t *testing.T, s *suite) {
	c := s.cache(t)
	keys := []string{
		"plain",
		"with space",
		"colon:separated:key",
		"{hash}tag",
		"app:{1}:channel:{cache-x}",
		"glob*?[chars]",
		"new\nline",
		"tab\tand\rreturn",
		"unicode-☃-世界",
		strings.Repeat("long", 256),
		"Plain", // case matters
	}
	for i, k := range keys {
		mustSet(t, c, k, []byte(fmt.Sprintf("value-%d", i)), time.Hour)
	}
	for i, k := range keys {
		mustGet(t, c, k, []byte(fmt.Sprintf("value-%d", i)))
	}
	mustDelete(t, c, "{hash}tag")
	mustMiss(t, c, "{hash}tag")
	mustGet(t, c, "app:{1}:channel:{cache-x}", []byte("value-4"))
}

func testConcurrent(t *testing.T, s *suite) {
	c := s.cache(t)
	ctx := ctxFor(t)
	const workers, ops, nkeys = 8, 150, 6
	valid := func(v []byte) bool {
		var w, i int
		_, err := fmt.Sscanf(string(v), "w%d-%d", &w, &i)
		return err == nil && len(v) < 32
	}
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ops {
				key := fmt.Sprintf("k%d", (w+i)%nkeys)
				val := []byte(fmt.Sprintf("w%d-%d", w, i))
				var err error
				switch i % 5 {
				case 0, 1:
					err = c.Set(ctx, key, val, time.Hour)
				case 2:
					_, err = c.Add(ctx, key, val, time.Hour)
				case 3:
					err = c.Delete(ctx, key)
				case 4:
					var e cache.Entry
					e, err = c.Get(ctx, key)
					if errors.Is(err, cache.ErrNotFound) {
						err = nil
						if s.h.StoresNothing {
							break
						}
					} else if err == nil && (s.h.StoresNothing || !valid(e.Value)) {
						err = fmt.Errorf("Get(%q) = %s, a value never written", key, show(e.Value))
					}
				}
				if err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if !s.h.StoresNothing {
		mustSet(t, c, "k0", []byte("final"), time.Hour)
		mustGet(t, c, "k0", []byte("final"))
	}
}

func testDoneContext(t *testing.T, s *suite) {
	c := s.cache(t)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	for _, tc := range []struct {
		ctx  context.Context
		want error
	}{{canceled, context.Canceled}, {expired, context.DeadlineExceeded}} {
		_, err := c.Get(tc.ctx, "k")
		if !errors.Is(err, tc.want) {
			t.Errorf("Get with a done context: error = %v, want one matching %v", err, tc.want)
		}
		if err := c.Set(tc.ctx, "k", []byte("v"), time.Hour); !errors.Is(err, tc.want) {
			t.Errorf("Set with a done context: error = %v, want one matching %v", err, tc.want)
		}
		ok, err := c.Add(tc.ctx, "k", []byte("v"), time.Hour)
		if !errors.Is(err, tc.want) {
			t.Errorf("Add with a done context: error = %v, want one matching %v", err, tc.want)
		}
		if ok {
			t.Errorf("Add with a done context reported true")
		}
		if err := c.Delete(tc.ctx, "k"); !errors.Is(err, tc.want) {
			t.Errorf("Delete with a done context: error = %v, want one matching %v", err, tc.want)
		}
	}
	// The cache still works afterwards.
	if !s.h.StoresNothing {
		mustSet(t, c, "k", []byte("v"), time.Hour)
		mustGet(t, c, "k", []byte("v"))
	}
}

func testSharedIsolation(t *testing.T, s *suite) {
	a := s.sharedCache(t, uniquePrefix(t, "a"))
	b := s.sharedCache(t, uniquePrefix(t, "b"))
	mustSet(t, a, "k", []byte("from-a"), time.Hour)
	mustMiss(t, b, "k")
	if !mustAdd(t, b, "k", []byte("from-b"), time.Hour) {
		t.Fatal("Add in prefix b reported false for a key that only prefix a holds")
	}
	mustGet(t, a, "k", []byte("from-a"))
	mustGet(t, b, "k", []byte("from-b"))
	mustDelete(t, b, "k")
	mustMiss(t, b, "k")
	mustGet(t, a, "k", []byte("from-a"))
}

func testSharedVisibility(t *testing.T, s *suite) {
	prefix := uniquePrefix(t, "shared")
	a := s.sharedCache(t, prefix)
	b := s.sharedCache(t, prefix)
	ctx := ctxFor(t)

	// converges polls until b sees want (nil: no entry), allowing for
	// caches that hold local copies and learn of changes asynchronously.
	converges := func(want []byte) {
		t.Helper()
		var last []byte
		var lastErr error
		ok := eventually(5*time.Second, func() bool {
			e, err := b.Get(ctx, "k")
			last, lastErr = e.Value, err
			if want == nil {
				return errors.Is(err, cache.ErrNotFound)
			}
			return err == nil && bytes.Equal(e.Value, want)
		})
		if !ok {
			t.Fatalf("the other instance still reads %s, %v; want %s", show(last), lastErr, show(want))
		}
	}
	mustSet(t, a, "k", []byte("v1"), time.Hour)
	converges([]byte("v1"))
	mustGet(t, b, "k", []byte("v1")) // now possibly held locally by b
	mustSet(t, a, "k", []byte("v2"), time.Hour)
	converges([]byte("v2"))
	mustDelete(t, a, "k")
	converges(nil)
	if !mustAdd(t, b, "k", []byte("v3"), time.Hour) {
		t.Fatal("Add of a key deleted through the other instance reported false")
	}
	mustGet(t, a, "k", []byte("v3"))
	// A write through b is visible through b at once.
	mustSet(t, b, "k", []byte("v4"), time.Hour)
	mustGet(t, b, "k", []byte("v4"))
}

func testSharedAddConcurrent(t *testing.T, s *suite) {
	prefix := uniquePrefix(t, "race")
	caches := []cache.Cache{s.sharedCache(t, prefix), s.sharedCache(t, prefix), s.sharedCache(t, prefix)}
	for round := range 3 {
		addRace(t, caches, fmt.Sprintf("race-%d", round), 24)
	}
}

func testStoresNothing(t *testing.T, s *suite) {
	c := s.cache(t)
	big := make([]byte, s.maxValue())
	mustSet(t, c, "k", []byte("v"), time.Hour)
	mustSet(t, c, "big", big, 0)
	mustMiss(t, c, "k")
	mustMiss(t, c, "big")
	for i := range 3 {
		if !mustAdd(t, c, "k", []byte("v"), time.Hour) {
			t.Fatalf("Add #%d reported false; a cache that stores nothing must always report true", i)
		}
	}
	mustMiss(t, c, "k")
	mustDelete(t, c, "k")
	mustDelete(t, c, "never-set")
	mustMiss(t, c, "never-set")
}

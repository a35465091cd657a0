package appcache

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/appmanager/appmanagertest"
	"github.com/sockudo-go/sockudo/appmanager/memory"
	"github.com/sockudo-go/sockudo/internal/testenv"
)

// backend is a Manager over a memory Manager that counts lookups and can
// block them or fail them.
type backend struct {
	*memory.Manager
	calls atomic.Int64
	gate  chan struct{} // when non-nil, lookups wait for it to close
	fail  atomic.Pointer[error]
}

func newBackend(t *testing.T, apps ...appmanager.App) *backend {
	t.Helper()
	m, err := memory.New(apps...)
	if err != nil {
		t.Fatal(err)
	}
	return &backend{Manager: m}
}

func (b *backend) wait(ctx context.Context) error {
	b.calls.Add(1)
	if b.gate != nil {
		select {
		case <-b.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if e := b.fail.Load(); e != nil {
		return *e
	}
	return nil
}

func (b *backend) FindByID(ctx context.Context, id string) (*appmanager.App, error) {
	if err := b.wait(ctx); err != nil {
		return nil, err
	}
	return b.Manager.FindByID(ctx, id)
}

func (b *backend) FindByKey(ctx context.Context, key string) (*appmanager.App, error) {
	if err := b.wait(ctx); err != nil {
		return nil, err
	}
	return b.Manager.FindByKey(ctx, key)
}

func app(id string) appmanager.App {
	return appmanager.App{ID: id, Key: "key-" + id, Secret: "s", Enabled: true}
}

func newCache(b appmanager.Manager) *Cache { return New(b, DefaultOptions()) }

func mustFind(t *testing.T, find func(context.Context, string) (*appmanager.App, error), v, wantID string) *appmanager.App {
	t.Helper()
	a, err := find(context.Background(), v)
	if err != nil {
		t.Fatalf("find(%q): %v", v, err)
	}
	if a.ID != wantID {
		t.Fatalf("find(%q) = app %q; want %q", v, a.ID, wantID)
	}
	return a
}

func TestConformance(t *testing.T) {
	appmanagertest.Run(t, appmanagertest.Harness{
		New: func(t *testing.T) appmanager.Manager {
			c := newCache(newBackend(t))
			return c
		},
		Seed: func(t *testing.T, m appmanager.Manager, apps ...appmanager.App) {
			w := m.(*Cache).m.(*backend).Manager
			for _, a := range apps {
				if err := w.CreateApp(context.Background(), a); err != nil {
					t.Fatal(err)
				}
			}
		},
		SharedResults: true,
	})
}

func TestHitsServedFromMemoryUnderIDAndKey(t *testing.T) {
	// The TTLs pass on the bubble's fake clock.
	synctest.Test(t, func(t *testing.T) {
		b := newBackend(t, app("a"))
		c := newCache(b)
		first := mustFind(t, c.FindByID, "a", "a")
		second := mustFind(t, c.FindByID, "a", "a")
		third := mustFind(t, c.FindByKey, "key-a", "a")
		if n := b.calls.Load(); n != 1 {
			t.Fatalf("backend lookups = %d; want 1 (the app is cached under its id and key)", n)
		}
		if first != second || first != third {
			t.Fatal("hits should return the shared cached *App")
		}
		time.Sleep(DefaultTTL - time.Second)
		mustFind(t, c.FindByKey, "key-a", "a")
		if n := b.calls.Load(); n != 1 {
			t.Fatalf("backend lookups before the TTL = %d; want 1", n)
		}
		time.Sleep(time.Second)
		mustFind(t, c.FindByKey, "key-a", "a")
		if n := b.calls.Load(); n != 2 {
			t.Fatalf("backend lookups after the TTL = %d; want 2", n)
		}
	})
}

func TestZeroTTLDisablesCaching(t *testing.T) {
	b := newBackend(t, app("a"))
	c := New(b, Options{})
	for i := 0; i < 3; i++ {
		mustFind(t, c.FindByID, "a", "a")
		if _, err := c.FindByKey(context.Background(), "nope"); !errors.Is(err, appmanager.ErrNotFound) {
			t.Fatal(err)
		}
	}
	if n := b.calls.Load(); n != 6 {
		t.Fatalf("backend lookups = %d; want 6 with caching disabled", n)
	}
	if c.Len() != 0 {
		t.Fatalf("Len = %d with caching disabled", c.Len())
	}
}

func TestNegativeCaching(t *testing.T) {
	// The TTLs pass on the bubble's fake clock.
	synctest.Test(t, func(t *testing.T) {
		b := newBackend(t)
		c := newCache(b)
		for i := 0; i < 100; i++ {
			a, err := c.FindByKey(context.Background(), "unknown")
			if !errors.Is(err, appmanager.ErrNotFound) || a != nil {
				t.Fatalf("FindByKey(unknown) = %v, %v; want ErrNotFound", a, err)
			}
		}
		if n := b.calls.Load(); n != 1 {
			t.Fatalf("backend lookups for 100 unknown-key calls = %d; want 1", n)
		}
		time.Sleep(DefaultNegativeTTL)
		if _, err := c.FindByKey(context.Background(), "unknown"); !errors.Is(err, appmanager.ErrNotFound) {
			t.Fatal(err)
		}
		if n := b.calls.Load(); n != 2 {
			t.Fatalf("backend lookups after NegativeTTL = %d; want 2", n)
		}

		// NegativeTTL 0 turns it off.
		b2 := newBackend(t)
		c2 := New(b2, Options{TTL: time.Minute})
		for i := 0; i < 3; i++ {
			_, _ = c2.FindByID(context.Background(), "unknown")
		}
		if n := b2.calls.Load(); n != 3 {
			t.Fatalf("backend lookups without negative caching = %d; want 3", n)
		}
	})
}

// An id or key longer than any app can have is not found at once: the
// store is not asked and nothing is remembered, so header-sized keys
// cannot fill the negative cache.
func TestOverlongLookupsNeitherQueriedNorCached(t *testing.T) {
	b := newBackend(t)
	c := newCache(b)
	long := strings.Repeat("k", appmanager.MaxIDLength+1)
	for _, find := range []func(context.Context, string) (*appmanager.App, error){c.FindByKey, c.FindByID} {
		if a, err := find(context.Background(), long); !errors.Is(err, appmanager.ErrNotFound) || a != nil {
			t.Fatalf("lookup of %d bytes = %v, %v; want ErrNotFound", len(long), a, err)
		}
	}
	if n := b.calls.Load(); n != 0 {
		t.Fatalf("%d store lookups for overlong keys; want 0", n)
	}
	if n := c.negByKey.Len() + c.negByID.Len(); n != 0 {
		t.Fatalf("%d negative entries for overlong keys; want 0", n)
	}
}

func TestOtherErrorsAreNotCached(t *testing.T) {
	b := newBackend(t, app("a"))
	outage := errors.New("database is down")
	b.fail.Store(&outage)
	c := newCache(b)
	for i := 0; i < 3; i++ {
		if _, err := c.FindByID(context.Background(), "a"); !errors.Is(err, outage) {
			t.Fatalf("FindByID during an outage = %v; want the backend error", err)
		}
	}
	if n := b.calls.Load(); n != 3 {
		t.Fatalf("backend lookups during an outage = %d; want 3 (errors are not cached)", n)
	}
	b.fail.Store(nil)
	mustFind(t, c.FindByID, "a", "a")
}

func TestConcurrentMissesCollapse(t *testing.T) {
	b := newBackend(t, app("a"))
	b.gate = make(chan struct{})
	c := newCache(b)
	var joined atomic.Int64
	c.testHookWait = func() { joined.Add(1) }

	const callers = 50
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := c.FindByKey(context.Background(), "key-a")
			if err == nil && a.ID != "a" {
				err = fmt.Errorf("got app %q", a.ID)
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	testenv.Eventually(t, 5*time.Second, "every caller to join the lookup", func() bool {
		return b.calls.Load() == 1 && joined.Load() == callers-1
	})
	close(b.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := b.calls.Load(); n != 1 {
		t.Fatalf("backend lookups for %d concurrent misses = %d; want 1", callers, n)
	}
}

func TestWaiterContextEnds(t *testing.T) {
	b := newBackend(t, app("a"))
	b.gate = make(chan struct{})
	c := newCache(b)
	var joined atomic.Int64
	c.testHookWait = func() { joined.Add(1) }

	// The first caller gives up; a second caller, waiting on the same
	// lookup, still gets the app: the first caller's cancellation does not
	// end the shared lookup.
	ctx1, cancel1 := context.WithCancel(context.Background())
	res1 := make(chan error, 1)
	go func() {
		_, err := c.FindByID(ctx1, "a")
		res1 <- err
	}()
	testenv.Eventually(t, 5*time.Second, "the first lookup to start", func() bool { return b.calls.Load() == 1 })
	res2 := make(chan error, 1)
	go func() {
		a, err := c.FindByID(context.Background(), "a")
		if err == nil && a.ID != "a" {
			err = fmt.Errorf("got %q", a.ID)
		}
		res2 <- err
	}()
	testenv.Eventually(t, 5*time.Second, "the second caller to join", func() bool { return joined.Load() == 1 })
	cancel1()
	if err := <-res1; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller got %v; want context.Canceled", err)
	}
	close(b.gate)
	if err := <-res2; err != nil {
		t.Fatalf("second caller: %v", err)
	}
	mustFind(t, c.FindByID, "a", "a")
	if n := b.calls.Load(); n != 1 {
		t.Fatalf("backend lookups = %d; want 1 (the shared lookup was cached)", n)
	}
}

func TestCancelledContextOnHit(t *testing.T) {
	b := newBackend(t, app("a"))
	c := newCache(b)
	mustFind(t, c.FindByID, "a", "a")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if a, err := c.FindByID(ctx, "a"); !errors.Is(err, context.Canceled) || a != nil {
		t.Fatalf("FindByID(cancelled) = %v, %v; want context.Canceled", a, err)
	}
}

func TestInvalidate(t *testing.T) {
	b := newBackend(t, app("a"), app("b"))
	c := newCache(b)
	mustFind(t, c.FindByID, "a", "a")
	mustFind(t, c.FindByID, "b", "b")
	if _, err := c.FindByID(context.Background(), "new"); !errors.Is(err, appmanager.ErrNotFound) {
		t.Fatal(err)
	}

	// Change app a's secret in the backend; the cache serves the old one
	// until Invalidate, which drops it under both its id and its key.
	changed := app("a")
	changed.Secret = "rotated"
	if err := b.UpdateApp(context.Background(), changed); err != nil {
		t.Fatal(err)
	}
	if got := mustFind(t, c.FindByKey, "key-a", "a"); got.Secret != "s" {
		t.Fatal("expected the cached secret before Invalidate")
	}
	c.Invalidate("a")
	if got := mustFind(t, c.FindByKey, "key-a", "a"); got.Secret != "rotated" {
		t.Fatalf("after Invalidate, FindByKey returned secret %q; want the new one", got.Secret)
	}
	if got := mustFind(t, c.FindByID, "a", "a"); got.Secret != "rotated" {
		t.Fatalf("after Invalidate, FindByID returned secret %q", got.Secret)
	}
	calls := b.calls.Load()
	mustFind(t, c.FindByKey, "key-b", "b")
	if b.calls.Load() != calls {
		t.Fatal("Invalidate(a) dropped app b")
	}

	// A remembered ErrNotFound for an id is dropped too.
	if err := b.CreateApp(context.Background(), app("new")); err != nil {
		t.Fatal(err)
	}
	c.Invalidate("new")
	mustFind(t, c.FindByID, "new", "new")

	c.Purge()
	if c.Len() != 0 {
		t.Fatalf("Len after Purge = %d", c.Len())
	}
}

func TestInvalidateDuringLoad(t *testing.T) {
	b := newBackend(t, app("a"))
	b.gate = make(chan struct{})
	c := newCache(b)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = c.FindByID(context.Background(), "a")
	}()
	testenv.Eventually(t, 5*time.Second, "the lookup to start", func() bool { return b.calls.Load() == 1 })
	c.Invalidate("a") // the answer under way may be stale: it must not be cached
	close(b.gate)
	<-done
	mustFind(t, c.FindByID, "a", "a")
	if n := b.calls.Load(); n != 2 {
		t.Fatalf("backend lookups = %d; want 2 (a load overtaken by Invalidate is not cached)", n)
	}
}

func TestKeyChangeDropsOldKey(t *testing.T) {
	// The TTLs pass on the bubble's fake clock.
	synctest.Test(t, func(t *testing.T) {
		b := newBackend(t, app("a"))
		c := newCache(b)
		mustFind(t, c.FindByKey, "key-a", "a")
		moved := app("a")
		moved.Key = "key-moved"
		if err := b.UpdateApp(context.Background(), moved); err != nil {
			t.Fatal(err)
		}
		time.Sleep(DefaultTTL)
		mustFind(t, c.FindByID, "a", "a") // reloads with the new key
		if _, err := c.FindByKey(context.Background(), "key-a"); !errors.Is(err, appmanager.ErrNotFound) {
			t.Fatalf("old key after the app moved = %v; want ErrNotFound", err)
		}
		mustFind(t, c.FindByKey, "key-moved", "a")
	})
}

func TestBoundedSize(t *testing.T) {
	var apps []appmanager.App
	for i := 0; i < 10; i++ {
		apps = append(apps, app(fmt.Sprint(i)))
	}
	b := newBackend(t, apps...)
	opts := DefaultOptions()
	opts.MaxEntries = 3
	c := New(b, opts)
	for _, a := range apps {
		mustFind(t, c.FindByID, a.ID, a.ID)
	}
	if n := c.byID.Len(); n > 3 {
		t.Fatalf("by-id index holds %d entries; want at most 3", n)
	}
	// Every app is in both indexes or in neither.
	for _, a := range apps {
		_, inID := c.byID.Peek(a.ID)
		_, inKey := c.byKey.Peek(a.Key)
		if inID != inKey {
			t.Fatalf("app %s: in by-id index %v, in by-key index %v", a.ID, inID, inKey)
		}
	}
	// The most recent ones are still served from memory.
	calls := b.calls.Load()
	mustFind(t, c.FindByKey, "key-9", "9")
	if b.calls.Load() != calls {
		t.Fatal("the most recently used app was evicted")
	}
}

func BenchmarkCachedFindByKey(b *testing.B) {
	m, err := memory.New(app("a"))
	if err != nil {
		b.Fatal(err)
	}
	c := New(m, DefaultOptions())
	ctx := context.Background()
	if _, err := c.FindByKey(ctx, "key-a"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.FindByKey(ctx, "key-a"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCachedFindByKeyParallel(b *testing.B) {
	m, err := memory.New(app("a"))
	if err != nil {
		b.Fatal(err)
	}
	c := New(m, DefaultOptions())
	ctx := context.Background()
	if _, err := c.FindByKey(ctx, "key-a"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.FindByKey(ctx, "key-a"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// An attacker's stream of unknown keys must not push real apps out.
func TestUnknownKeysCannotEvictApps(t *testing.T) {
	var apps []appmanager.App
	for i := range 5 {
		apps = append(apps, app(fmt.Sprint(i)))
	}
	b := newBackend(t, apps...)
	opts := DefaultOptions()
	opts.MaxEntries, opts.MaxNegativeEntries = 10, 50
	c := New(b, opts)
	for i := range 5 {
		mustFind(t, c.FindByKey, fmt.Sprintf("key-%d", i), fmt.Sprint(i))
	}
	calls := b.calls.Load()
	for i := range 10_000 {
		if _, err := c.FindByKey(context.Background(), fmt.Sprintf("unknown-%d", i)); !errors.Is(err, appmanager.ErrNotFound) {
			t.Fatalf("unknown key %d: %v", i, err)
		}
	}
	unknownCalls := b.calls.Load()
	if unknownCalls-calls != 10_000 {
		t.Fatalf("backend lookups for 10000 distinct unknown keys = %d", unknownCalls-calls)
	}
	for i := range 5 {
		mustFind(t, c.FindByKey, fmt.Sprintf("key-%d", i), fmt.Sprint(i))
		mustFind(t, c.FindByID, fmt.Sprint(i), fmt.Sprint(i))
	}
	if n := b.calls.Load() - unknownCalls; n != 0 {
		t.Fatalf("real apps needed %d backend lookups after the flood, want 0 (evicted)", n)
	}
	if n := c.negByKey.Len(); n > 50 {
		t.Fatalf("%d unknown keys remembered, more than MaxNegativeEntries", n)
	}
}

// Lookups under way are bounded; beyond the bound a new one fails at once
// instead of queuing work on the app store.
func TestConcurrentLoadsBounded(t *testing.T) { synctest.Test(t, testConcurrentLoadsBounded) }

// testConcurrentLoadsBounded runs in a bubble so that synctest.Wait can
// prove the joining lookup waits on the load before the store answers.
func testConcurrentLoadsBounded(t *testing.T) {
	b := newBackend(t, app("a"))
	b.gate = make(chan struct{})
	opts := DefaultOptions()
	opts.MaxConcurrentLoads = 4
	c := New(b, opts)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := range 4 {
		wg.Go(func() {
			_, err := c.FindByKey(context.Background(), fmt.Sprintf("unknown-%d", i))
			errs <- err
		})
	}
	testenv.Eventually(t, 5*time.Second, "four lookups to reach the store", func() bool { return b.calls.Load() == 4 })
	// A fifth distinct lookup fails at once; one for a key already loading
	// joins it and costs nothing.
	if _, err := c.FindByKey(context.Background(), "unknown-5"); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("fifth concurrent lookup = %v, want ErrOverloaded", err)
	}
	joined := make(chan error, 1)
	go func() { _, err := c.FindByKey(context.Background(), "unknown-0"); joined <- err }()
	synctest.Wait()
	close(b.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, appmanager.ErrNotFound) {
			t.Fatalf("bounded lookup = %v, want ErrNotFound", err)
		}
	}
	if err := <-joined; !errors.Is(err, appmanager.ErrNotFound) {
		t.Fatalf("joined lookup = %v", err)
	}
	if n := b.calls.Load(); n != 4 {
		t.Fatalf("store lookups = %d, want 4", n)
	}
	// With the loads done, lookups go through again.
	mustFind(t, c.FindByKey, "key-a", "a")
}

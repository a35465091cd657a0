package ratelimittest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sockudo-go/sockudo/ratelimit"
)

// Harness describes a driver to the suite.
type Harness struct {
	// New returns a limiter for one subtest; register any cleanup with
	// t.Cleanup.
	New func(t *testing.T) ratelimit.Limiter
	// Synctest runs every subtest inside a testing/synctest bubble, New
	// included, so a limiter that reads time.Now sees fake time, which
	// the suite moves with time.Sleep: window tests then run instantly
	// and exactly. Only for limiters that do no real I/O, which a bubble
	// does not allow. Without it the suite uses short real windows.
	Synctest bool
	// Shared reports that limiters from two New calls in one subtest share
	// their state, as with a distributed backend; the suite then checks that
	// they enforce one limit together.
	Shared bool
}

// tolerance is how far ResetAt and RetryAfter may be from the exact value,
// beyond the duration of the call itself: it covers a backend's
// millisecond resolution.
const tolerance = 5 * time.Millisecond

// Run runs the conformance suite against h. Subtests run in parallel.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("ratelimittest: Harness.New is nil")
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, e *env)
	}{
		{"AllowsUpToMax", testAllowsUpToMax},
		{"Concurrent", testConcurrent},
		{"ResultTimes", testResultTimes},
		{"WindowResets", testWindowResets},
		{"WindowStartsAtFirstCall", testWindowStartsAtFirstCall},
		{"IndependentKeys", testIndependentKeys},
		{"Cost", testCost},
		{"CostAboveMax", testCostAboveMax},
		{"DeniedConsumesNothing", testDeniedConsumesNothing},
		{"MixedLimits", testMixedLimits},
		{"SharedAcrossInstances", testShared},
		{"InvalidArguments", testInvalidArguments},
		{"CancelledContext", testCancelledContext},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := &env{h: h}
			if h.Synctest {
				synctest.Test(t, func(t *testing.T) { tc.fn(t, e) })
				return
			}
			tc.fn(t, e)
		})
	}
}

// env is one subtest's view of the harness.
type env struct {
	h Harness
}

// limiter returns a new limiter from the harness.
func (e *env) limiter(t *testing.T) ratelimit.Limiter {
	t.Helper()
	l := e.h.New(t)
	if l == nil {
		t.Fatal("Harness.New returned nil")
	}
	return l
}

// now reads the clock the limiter uses: the bubble's under Synctest.
func (e *env) now() time.Time { return time.Now() }

// uniqueKey returns a key no other test uses.
func uniqueKey(t *testing.T, suffix string) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return t.Name() + "-" + hex.EncodeToString(b) + suffix
}

func allow(t *testing.T, l ratelimit.Limiter, key string, lim ratelimit.Limit, cost int) ratelimit.Result {
	t.Helper()
	res, err := l.Allow(context.Background(), key, lim, cost)
	if err != nil {
		t.Fatalf("Allow(%q, %+v, %d): %v", key, lim, cost, err)
	}
	if res.Limit != lim.Max {
		t.Errorf("Allow(%+v, %d): Limit = %d, want %d", lim, cost, res.Limit, lim.Max)
	}
	if res.Allowed && res.RetryAfter != 0 {
		t.Errorf("Allow(%+v, %d): allowed with RetryAfter %v, want 0", lim, cost, res.RetryAfter)
	}
	if !res.Allowed && res.RetryAfter <= 0 {
		t.Errorf("Allow(%+v, %d): denied with RetryAfter %v, want > 0", lim, cost, res.RetryAfter)
	}
	return res
}

// expect checks the allowed flag and Remaining of res.
func expect(t *testing.T, what string, res ratelimit.Result, allowed bool, remaining int) {
	t.Helper()
	if res.Allowed != allowed || res.Remaining != remaining {
		t.Errorf("%s: Allowed = %v, Remaining = %d; want %v, %d", what, res.Allowed, res.Remaining, allowed, remaining)
	}
}

// within checks that got is in [lo-tolerance, hi+tolerance].
func within(t *testing.T, what string, got, lo, hi time.Time) {
	t.Helper()
	if got.Before(lo.Add(-tolerance)) || got.After(hi.Add(tolerance)) {
		t.Errorf("%s = %v, want between %v and %v", what, got, lo, hi)
	}
}

func testAllowsUpToMax(t *testing.T, e *env) {
	l, key := e.limiter(t), uniqueKey(t, "")
	lim := ratelimit.Limit{Max: 5, Window: time.Hour}
	for i := 1; i <= lim.Max; i++ {
		expect(t, "call within the limit", allow(t, l, key, lim, 1), true, lim.Max-i)
	}
	for range 3 {
		res := allow(t, l, key, lim, 1)
		expect(t, "call over the limit", res, false, 0)
		if res.RetryAfter > lim.Window+tolerance {
			t.Errorf("RetryAfter = %v, longer than the window %v", res.RetryAfter, lim.Window)
		}
	}
}

// testConcurrent checks the limit holds exactly under concurrent calls,
// and that every allowed call saw a distinct count.
func testConcurrent(t *testing.T, e *env) {
	l, key := e.limiter(t), uniqueKey(t, "")
	lim := ratelimit.Limit{Max: 50, Window: time.Hour}
	remaining := hammer(t, []ratelimit.Limiter{l}, key, lim, 200)
	checkExact(t, lim, remaining)
}

// testShared checks two instances on one backend enforce one limit.
func testShared(t *testing.T, e *env) {
	if !e.h.Shared {
		t.Skip("Harness.Shared is false")
	}
	ls := []ratelimit.Limiter{e.limiter(t), e.limiter(t)}
	key := uniqueKey(t, "")
	lim := ratelimit.Limit{Max: 50, Window: time.Hour}
	checkExact(t, lim, hammer(t, ls, key, lim, 200))
	for _, l := range ls {
		expect(t, "after the shared limit", allow(t, l, key, lim, 1), false, 0)
	}
}

// hammer makes n concurrent calls spread over ls and returns the Remaining
// of each allowed call.
func hammer(t *testing.T, ls []ratelimit.Limiter, key string, lim ratelimit.Limit, n int) []int {
	t.Helper()
	var (
		mu        sync.Mutex
		remaining []int
		wg        sync.WaitGroup
		start     = make(chan struct{})
	)
	for i := range n {
		l := ls[i%len(ls)]
		wg.Go(func() {
			<-start
			res, err := l.Allow(context.Background(), key, lim, 1)
			if err != nil {
				t.Errorf("Allow: %v", err)
				return
			}
			if res.Allowed {
				mu.Lock()
				remaining = append(remaining, res.Remaining)
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	return remaining
}

func checkExact(t *testing.T, lim ratelimit.Limit, remaining []int) {
	t.Helper()
	if len(remaining) != lim.Max {
		t.Fatalf("%d concurrent calls allowed, want exactly %d", len(remaining), lim.Max)
	}
	slices.Sort(remaining)
	for i, r := range remaining {
		if r != i {
			t.Fatalf("allowed calls reported Remaining %v, want each of 0..%d once", remaining, lim.Max-1)
		}
	}
}

func testResultTimes(t *testing.T, e *env) {
	l, key := e.limiter(t), uniqueKey(t, "")
	lim := ratelimit.Limit{Max: 3, Window: time.Hour}

	first := e.timedAllow(t, l, key, lim, 1)
	within(t, "ResetAt of the call that opens the window", first.ResetAt, first.before.Add(lim.Window), first.after.Add(lim.Window))

	// Let time pass, so that a driver that extends the window on every
	// call gets caught.
	if e.h.Synctest {
		time.Sleep(10 * time.Minute)
	} else {
		time.Sleep(50 * time.Millisecond)
	}
	second := e.timedAllow(t, l, key, lim, 2)
	sameEnd(t, "ResetAt of a later call in the window", first, second)

	denied := e.timedAllow(t, l, key, lim, 1)
	expect(t, "call over the limit", denied.Result, false, 0)
	sameEnd(t, "ResetAt of a denied call", first, denied)
	// RetryAfter is the time from the call to ResetAt.
	within(t, "ResetAt - RetryAfter of a denied call", denied.ResetAt.Add(-denied.RetryAfter), denied.before, denied.after)
}

// timedResult is a Result with the limiter-clock times around its call.
type timedResult struct {
	ratelimit.Result
	before, after time.Time
}

func (e *env) timedAllow(t *testing.T, l ratelimit.Limiter, key string, lim ratelimit.Limit, cost int) timedResult {
	t.Helper()
	before := e.now()
	res := allow(t, l, key, lim, cost)
	return timedResult{res, before, e.now()}
}

// sameEnd checks that a and b report the end of one window. A driver may
// measure the time left on its backend and add it to the time the reply
// arrives, so each ResetAt can be late by up to its call's duration.
func sameEnd(t *testing.T, what string, a, b timedResult) {
	t.Helper()
	within(t, what, b.ResetAt, a.ResetAt.Add(-a.after.Sub(a.before)), a.ResetAt.Add(b.after.Sub(b.before)))
}

func testWindowResets(t *testing.T, e *env) {
	l, key := e.limiter(t), uniqueKey(t, "")
	if e.h.Synctest {
		lim := ratelimit.Limit{Max: 3, Window: time.Minute}
		allow(t, l, key, lim, 3)
		time.Sleep(lim.Window - time.Millisecond)
		expect(t, "just before the window ends", allow(t, l, key, lim, 1), false, 0)
		time.Sleep(time.Millisecond)
		res := allow(t, l, key, lim, 1)
		expect(t, "when the window ends", res, true, 2)
		within(t, "ResetAt of the new window", res.ResetAt, e.now().Add(lim.Window), e.now().Add(lim.Window))
		return
	}
	lim := ratelimit.Limit{Max: 3, Window: 150 * time.Millisecond}
	allow(t, l, key, lim, 3)
	denied := e.timedAllow(t, l, key, lim, 1)
	expect(t, "in the exhausted window", denied.Result, false, 0)
	// denied.ResetAt may be late by up to the call's duration.
	earliest := denied.ResetAt.Add(-denied.after.Sub(denied.before) - tolerance)
	deadline := time.Now().Add(5 * time.Second)
	for {
		res := allow(t, l, key, lim, 1)
		if res.Allowed {
			if now := time.Now(); now.Before(earliest) {
				t.Errorf("allowed again at %v, before ResetAt %v", now, denied.ResetAt)
			}
			expect(t, "first call of the new window", res, true, 2)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still denied 5s after a %v window: %+v", lim.Window, res)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// testWindowStartsAtFirstCall checks that the window is fixed: later calls
// do not extend it, and its end resets the whole budget.
func testWindowStartsAtFirstCall(t *testing.T, e *env) {
	if !e.h.Synctest {
		t.Skip("needs Harness.Synctest; ResultTimes checks the same on a real clock")
	}
	l, key := e.limiter(t), uniqueKey(t, "")
	lim := ratelimit.Limit{Max: 3, Window: time.Minute}
	allow(t, l, key, lim, 1)
	time.Sleep(30 * time.Second)
	expect(t, "second call, half a window later", allow(t, l, key, lim, 1), true, 1)
	time.Sleep(30 * time.Second)
	expect(t, "a window after the first call", allow(t, l, key, lim, 1), true, 2)
}

func testIndependentKeys(t *testing.T, e *env) {
	l := e.limiter(t)
	lim := ratelimit.Limit{Max: 2, Window: time.Hour}
	// Keys that differ only in ways a backend might fold together.
	base := uniqueKey(t, "")
	keys := []string{base, base + "b", "{" + base + "}x", "{" + base + "}y", base + " ", base + ":é"}
	allow(t, l, keys[0], lim, 2)
	expect(t, "exhausted key", allow(t, l, keys[0], lim, 1), false, 0)
	for _, k := range keys[1:] {
		expect(t, "another key "+k, allow(t, l, k, lim, 1), true, 1)
	}
	expect(t, "exhausted key after the others", allow(t, l, keys[0], lim, 1), false, 0)
}

func testCost(t *testing.T, e *env) {
	l, key := e.limiter(t), uniqueKey(t, "")
	lim := ratelimit.Limit{Max: 10, Window: time.Hour}
	expect(t, "cost 3 of 10", allow(t, l, key, lim, 3), true, 7)
	expect(t, "cost 3 of 7", allow(t, l, key, lim, 3), true, 4)
	expect(t, "cost 3 of 4", allow(t, l, key, lim, 3), true, 1)
	expect(t, "cost 3 of 1", allow(t, l, key, lim, 3), false, 1)
	expect(t, "cost 1 of 1", allow(t, l, key, lim, 1), true, 0)
}

func testCostAboveMax(t *testing.T, e *env) {
	l, key := e.limiter(t), uniqueKey(t, "")
	lim := ratelimit.Limit{Max: 5, Window: time.Hour}

	before := e.now()
	res := allow(t, l, key, lim, 6)
	after := e.now()
	expect(t, "cost 6 of 5 on a fresh key", res, false, 5)
	within(t, "ResetAt with no open window", res.ResetAt, before, after)
	if d := res.RetryAfter - lim.Window; d < -tolerance || d > tolerance {
		t.Errorf("RetryAfter with no open window = %v, want the window %v", res.RetryAfter, lim.Window)
	}

	expect(t, "cost 5 of 5 after the denied call", allow(t, l, key, lim, 5), true, 0)
	res = allow(t, l, key, lim, 100)
	expect(t, "cost 100 in an exhausted window", res, false, 0)
}

func testDeniedConsumesNothing(t *testing.T, e *env) {
	l, key := e.limiter(t), uniqueKey(t, "")
	lim := ratelimit.Limit{Max: 3, Window: time.Hour}
	expect(t, "cost 2 of 3", allow(t, l, key, lim, 2), true, 1)
	for range 10 {
		expect(t, "cost 2 of 1", allow(t, l, key, lim, 2), false, 1)
	}
	expect(t, "cost 1 of 1 after denied calls", allow(t, l, key, lim, 1), true, 0)
}

// testMixedLimits checks the documented rule: calls under different Limits
// share the key's count, each is judged by its own Max, and the window
// keeps the length of the call that opened it.
func testMixedLimits(t *testing.T, e *env) {
	l, key := e.limiter(t), uniqueKey(t, "")
	ten := ratelimit.Limit{Max: 10, Window: time.Hour}
	first := e.timedAllow(t, l, key, ten, 5)
	expect(t, "5 of 10", first.Result, true, 5)
	expect(t, "1 more under Max 3", allow(t, l, key, ratelimit.Limit{Max: 3, Window: time.Hour}, 1), false, 0)
	res := e.timedAllow(t, l, key, ratelimit.Limit{Max: 20, Window: 2 * time.Hour}, 1)
	expect(t, "1 more under Max 20", res.Result, true, 14)
	sameEnd(t, "ResetAt under a longer Window", first, res)
	expect(t, "1 more under Max 10", allow(t, l, key, ten, 1), true, 3)
}

func testInvalidArguments(t *testing.T, e *env) {
	l, key := e.limiter(t), uniqueKey(t, "")
	ok := ratelimit.Limit{Max: 1, Window: time.Second}
	for _, c := range []struct {
		name string
		lim  ratelimit.Limit
		cost int
	}{
		{"Max 0", ratelimit.Limit{Max: 0, Window: time.Second}, 1},
		{"Max -1", ratelimit.Limit{Max: -1, Window: time.Second}, 1},
		{"Window 0", ratelimit.Limit{Max: 1}, 1},
		{"Window 1µs", ratelimit.Limit{Max: 1, Window: time.Microsecond}, 1},
		{"cost 0", ok, 0},
		{"cost -1", ok, -1},
	} {
		_, err := l.Allow(context.Background(), key, c.lim, c.cost)
		if !errors.Is(err, ratelimit.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", c.name, err)
		}
	}
	expect(t, "valid call after invalid ones", allow(t, l, key, ok, 1), true, 0)
}

func testCancelledContext(t *testing.T, e *env) {
	l, key := e.limiter(t), uniqueKey(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := l.Allow(ctx, key, ratelimit.Limit{Max: 1, Window: time.Hour}, 1)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Allow with a cancelled context: err = %v, want context.Canceled", err)
	}
}

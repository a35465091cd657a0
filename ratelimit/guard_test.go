package ratelimit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockudo-go/sockudo/ratelimit"
)

// stub is a Limiter that returns res, or err when err is set.
type stub struct {
	mu  sync.Mutex
	res ratelimit.Result
	err error
}

func (s *stub) Allow(ctx context.Context, key string, l ratelimit.Limit, cost int) (ratelimit.Result, error) {
	if err := ctx.Err(); err != nil {
		return ratelimit.Result{}, err
	}
	if err := ratelimit.Check(l, cost); err != nil {
		return ratelimit.Result{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.res, s.err
}

func (s *stub) fail(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

var (
	errDown = errors.New("backend down")
	lim     = ratelimit.Limit{Max: 10, Window: time.Minute}
)

func newGuard(t *testing.T, inner ratelimit.Limiter, opts ratelimit.GuardOptions) (*ratelimit.Guard, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	return ratelimit.NewGuard(inner, &opts), &logs
}

func TestGuardPassesResultsThrough(t *testing.T) {
	want := ratelimit.Result{Allowed: false, Limit: 10, Remaining: 0, ResetAt: time.Unix(100, 0), RetryAfter: 7 * time.Second}
	g, logs := newGuard(t, &stub{res: want}, ratelimit.GuardOptions{})
	got, err := g.Allow(context.Background(), "k", lim, 1)
	if err != nil || got != want {
		t.Fatalf("Allow = %+v, %v; want %+v", got, err, want)
	}
	if s := g.Stats(); s != (ratelimit.GuardStats{}) {
		t.Fatalf("Stats = %+v, want zero", s)
	}
	if logs.Len() != 0 {
		t.Fatalf("logged %q for a healthy limiter", logs.String())
	}
}

func TestGuardFailOpen(t *testing.T) {
	g, _ := newGuard(t, &stub{err: errDown}, ratelimit.GuardOptions{})
	before := time.Now()
	res, err := g.Allow(context.Background(), "k", lim, 3)
	after := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	if !res.Allowed || res.Limit != 10 || res.Remaining != 7 || res.RetryAfter != 0 {
		t.Fatalf("fail-open result = %+v, want allowed with 7 of 10 remaining", res)
	}
	if res.ResetAt.Before(before.Add(lim.Window)) || res.ResetAt.After(after.Add(lim.Window)) {
		t.Fatalf("ResetAt = %v, want a window from now", res.ResetAt)
	}
	res, err = g.Allow(context.Background(), "k", lim, 11)
	if err != nil || res.Allowed || res.RetryAfter != lim.Window {
		t.Fatalf("fail-open with cost above Max = %+v, %v; want denied with RetryAfter %v", res, err, lim.Window)
	}
	if s := g.Stats(); s.Errors != 2 || !s.Failing {
		t.Fatalf("Stats = %+v, want 2 errors, failing", s)
	}
}

func TestGuardFailClosed(t *testing.T) {
	for _, c := range []struct {
		opt  time.Duration
		want time.Duration
	}{{0, time.Second}, {5 * time.Second, 5 * time.Second}} {
		g, _ := newGuard(t, &stub{err: errDown}, ratelimit.GuardOptions{FailClosed: true, RetryAfter: c.opt})
		res, err := g.Allow(context.Background(), "k", lim, 1)
		if err != nil {
			t.Fatal(err)
		}
		if res.Allowed || res.Limit != 10 || res.Remaining != 0 || res.RetryAfter != c.want {
			t.Fatalf("RetryAfter option %v: fail-closed result = %+v, want denied, RetryAfter %v", c.opt, res, c.want)
		}
		if s := g.Stats(); s.Errors != 1 || !s.Failing {
			t.Fatalf("Stats = %+v, want 1 error, failing", s)
		}
	}
}

// TestGuardReturnsCallerErrors checks that a done context and invalid
// arguments are returned, not counted as an outage.
func TestGuardReturnsCallerErrors(t *testing.T) {
	g, logs := newGuard(t, &stub{err: errDown}, ratelimit.GuardOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.Allow(ctx, "k", lim, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: err = %v, want context.Canceled", err)
	}
	if _, err := g.Allow(context.Background(), "k", lim, 0); !errors.Is(err, ratelimit.ErrInvalid) {
		t.Fatalf("cost 0: err = %v, want ErrInvalid", err)
	}
	if s := g.Stats(); s != (ratelimit.GuardStats{}) || logs.Len() != 0 {
		t.Fatalf("Stats = %+v, logs %q; want nothing counted or logged", s, logs.String())
	}
}

// TestGuardLogsTransitions checks that an outage is logged once when it
// starts and once when it ends, whatever the number of failed calls.
func TestGuardLogsTransitions(t *testing.T) {
	inner := &stub{res: ratelimit.Result{Allowed: true, Limit: 10}}
	g, logs := newGuard(t, inner, ratelimit.GuardOptions{})
	ctx := context.Background()
	call := func() {
		t.Helper()
		if _, err := g.Allow(ctx, "k", lim, 1); err != nil {
			t.Fatal(err)
		}
	}
	for outage := 1; outage <= 2; outage++ {
		inner.fail(errDown)
		for range 5 {
			call()
		}
		if n := strings.Count(logs.String(), "level=WARN"); n != outage {
			t.Fatalf("outage %d: %d warnings in %q, want %d", outage, n, logs.String(), outage)
		}
		if !strings.Contains(logs.String(), "backend down") {
			t.Fatalf("warning %q does not name the error", logs.String())
		}
		inner.fail(nil)
		call()
		call()
		if n := strings.Count(logs.String(), "failed_calls=5"); n != outage {
			t.Fatalf("outage %d: logs %q, want %d recovery messages with failed_calls=5", outage, logs.String(), outage)
		}
		if s := g.Stats(); s.Failing || s.Errors != uint64(5*outage) {
			t.Fatalf("after outage %d: Stats = %+v", outage, s)
		}
	}
}

// TestGuardConcurrent flips the backend while many goroutines call, for
// the race detector, and checks every failed call is counted once.
func TestGuardConcurrent(t *testing.T) {
	inner := &stub{err: errDown}
	g := ratelimit.NewGuard(inner, &ratelimit.GuardOptions{Logger: slog.New(slog.DiscardHandler)})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if _, err := g.Allow(context.Background(), "k", lim, 1); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if s := g.Stats(); s.Errors != 800 || !s.Failing {
		t.Fatalf("Stats = %+v, want 800 errors", s)
	}
}

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		l    ratelimit.Limit
		cost int
		ok   bool
	}{
		{ratelimit.Limit{Max: 1, Window: time.Millisecond}, 1, true},
		{ratelimit.Limit{Max: 5, Window: time.Hour}, 6, true}, // valid, denied by the limiter
		{ratelimit.Limit{Max: 0, Window: time.Second}, 1, false},
		{ratelimit.Limit{Max: 1, Window: time.Millisecond - 1}, 1, false},
		{ratelimit.Limit{Max: 1, Window: time.Second}, 0, false},
	} {
		err := ratelimit.Check(c.l, c.cost)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ratelimit.ErrInvalid)) {
			t.Errorf("Check(%+v, %d) = %v, want ok %v", c.l, c.cost, err, c.ok)
		}
	}
}

func ExampleGuard() {
	// A limiter whose backend is down; in a server this is a Redis driver.
	down := &stub{err: errors.New("dial tcp 127.0.0.1:6379: connection refused")}
	g := ratelimit.NewGuard(down, &ratelimit.GuardOptions{Logger: slog.New(slog.DiscardHandler)})

	res, err := g.Allow(context.Background(), "api:203.0.113.7", ratelimit.Limit{Max: 100, Window: time.Minute}, 1)
	fmt.Println(res.Allowed, res.Remaining, err)
	fmt.Printf("%+v\n", g.Stats())
	// Output:
	// true 99 <nil>
	// {Errors:1 Failing:true}
}

package redis_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/sockudo-go/sockudo/internal/testenv"
	"github.com/sockudo-go/sockudo/internal/testproxy"
	"github.com/sockudo-go/sockudo/ratelimit"
	"github.com/sockudo-go/sockudo/ratelimit/ratelimittest"
	redislimit "github.com/sockudo-go/sockudo/ratelimit/redis"
)

// testPrefix returns a key prefix unique to t; its keys are deleted when t
// ends.
func testPrefix(t testing.TB, opt rueidis.ClientOption) string {
	t.Helper()
	return testenv.RedisPrefix(t, testenv.RedisClient(t, opt))
}

func TestConformance(t *testing.T) {
	for _, b := range testenv.RedisDeployments {
		t.Run(b.Name, func(t *testing.T) {
			opt := b.Option(t)
			prefix := testPrefix(t, opt)
			ratelimittest.Run(t, ratelimittest.Harness{
				// Every call makes its own client, so the Shared subtest
				// checks two processes' worth of limiters on one Redis.
				New: func(t *testing.T) ratelimit.Limiter {
					l, err := redislimit.New(testenv.RedisClient(t, opt), &redislimit.Options{Prefix: prefix})
					if err != nil {
						t.Fatal(err)
					}
					return l
				},
				Shared: true,
			})
		})
	}
}

func TestNewRejectsNilClient(t *testing.T) {
	if _, err := redislimit.New(nil, nil); err == nil {
		t.Fatal("New(nil, nil): no error")
	}
}

// TestKeyLayout checks the stored key: the default prefix, the count, and
// an expiry equal to the window.
func TestKeyLayout(t *testing.T) {
	opt := testenv.RedisStandalone(t)
	c := testenv.RedisClient(t, opt)
	l, err := redislimit.New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	key := "test:" + t.Name() + ":" + strconv.FormatInt(time.Now().UnixNano(), 36)
	full := redislimit.DefaultPrefix + key
	ctx := context.Background()
	t.Cleanup(func() { c.Do(ctx, c.B().Del().Key(full).Build()) })

	lim := ratelimit.Limit{Max: 10, Window: 30 * time.Second}
	if _, err := l.Allow(ctx, key, lim, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Allow(ctx, key, lim, 2); err != nil {
		t.Fatal(err)
	}
	n, err := c.Do(ctx, c.B().Get().Key(full).Build()).AsInt64()
	if err != nil || n != 5 {
		t.Fatalf("GET %s = %d, %v; want 5", full, n, err)
	}
	ttl, err := c.Do(ctx, c.B().Pttl().Key(full).Build()).AsInt64()
	if err != nil || ttl <= 25_000 || ttl > 30_000 {
		t.Fatalf("PTTL %s = %d, %v; want just under 30000", full, ttl, err)
	}
}

// TestKeyWithoutExpiryStartsNewWindow checks that a key left without an
// expiry (by hand, or by an old version) cannot block a client forever.
func TestKeyWithoutExpiryStartsNewWindow(t *testing.T) {
	opt := testenv.RedisStandalone(t)
	prefix := testPrefix(t, opt)
	c := testenv.RedisClient(t, opt)
	ctx := context.Background()
	if err := c.Do(ctx, c.B().Set().Key(prefix+"k").Value("1000").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	l, _ := redislimit.New(c, &redislimit.Options{Prefix: prefix})
	res, err := l.Allow(ctx, "k", ratelimit.Limit{Max: 5, Window: time.Minute}, 1)
	if err != nil || !res.Allowed || res.Remaining != 4 {
		t.Fatalf("Allow = %+v, %v; want allowed with 4 remaining", res, err)
	}
}

// TestOutage cuts the connection to Redis under a Guard and checks the
// failure policy, the counters and the logs, then restores it and checks
// that real decisions (with the state kept in Redis) come back.
func TestOutage(t *testing.T) {
	for _, failClosed := range []bool{false, true} {
		t.Run(fmt.Sprintf("FailClosed=%v", failClosed), func(t *testing.T) {
			opt := testenv.RedisStandalone(t)
			prefix := testPrefix(t, opt)
			proxy := testproxy.New(t, opt.InitAddress[0])
			opt.InitAddress = []string{proxy.Addr()}
			inner, err := redislimit.New(testenv.RedisClient(t, opt), &redislimit.Options{Prefix: prefix, Timeout: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			logs := &testenv.LogBuffer{}
			g := ratelimit.NewGuard(inner, &ratelimit.GuardOptions{
				FailClosed: failClosed,
				Logger:     slog.New(slog.NewTextHandler(logs, nil)),
			})
			ctx := context.Background()
			lim := ratelimit.Limit{Max: 1, Window: time.Hour}
			if res, err := g.Allow(ctx, "k", lim, 1); err != nil || !res.Allowed {
				t.Fatalf("before the outage: %+v, %v", res, err)
			}

			proxy.Cut()
			for i := range 3 {
				res, err := g.Allow(ctx, "k", lim, 1)
				if err != nil {
					t.Fatalf("during the outage: error %v, want an answer by policy", err)
				}
				if res.Allowed == failClosed {
					t.Fatalf("call %d during the outage: Allowed = %v with FailClosed %v", i, res.Allowed, failClosed)
				}
			}
			if s := g.Stats(); s.Errors != 3 || !s.Failing {
				t.Fatalf("Stats during the outage = %+v, want 3 errors and Failing", s)
			}
			if got := logs.String(); strings.Count(got, "level=WARN") != 1 {
				t.Fatalf("logs during the outage = %q, want one warning", got)
			}

			proxy.Restore()
			deadline := time.Now().Add(10 * time.Second)
			for g.Stats().Failing {
				if time.Now().After(deadline) {
					t.Fatal("Guard still failing 10s after the outage ended")
				}
				res, err := g.Allow(ctx, "k", lim, 1)
				if err != nil {
					t.Fatal(err)
				}
				if !g.Stats().Failing && res.Allowed {
					t.Fatalf("after recovery: %+v, want denied (the window in Redis is used up)", res)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if got := logs.String(); !strings.Contains(got, "level=INFO") || !strings.Contains(got, "recovered") {
				t.Fatalf("logs after recovery = %q, want a recovery message", got)
			}
		})
	}
}

// TestTimeout pauses a private Redis and checks that Options.Timeout
// bounds the decision.
func TestTimeout(t *testing.T) {
	srv := testenv.StartRedis(t)
	c := testenv.RedisClient(t, rueidis.ClientOption{InitAddress: []string{srv.Addr()}})
	l, err := redislimit.New(c, &redislimit.Options{Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	lim := ratelimit.Limit{Max: 5, Window: time.Minute}
	if _, err := l.Allow(ctx, "k", lim, 1); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, c.B().ClientPause().Timeout(1000).Build()).Error(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = l.Allow(ctx, "k", lim, 1)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Allow on a paused Redis: err = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Allow on a paused Redis took %v, want about the 100ms timeout", d)
	}
}

func BenchmarkAllow(b *testing.B) {
	opt := testenv.RedisStandalone(b)
	prefix := testPrefix(b, opt)
	l, err := redislimit.New(testenv.RedisClient(b, opt), &redislimit.Options{Prefix: prefix})
	if err != nil {
		b.Fatal(err)
	}
	lim := ratelimit.Limit{Max: 1 << 30, Window: time.Hour}
	ctx := context.Background()
	b.Run("Serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := l.Allow(ctx, "serial", lim, 1); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := l.Allow(ctx, "parallel", lim, 1); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

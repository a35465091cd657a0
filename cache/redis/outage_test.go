package redis_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/sockudo-go/sockudo/cache"
	rediscache "github.com/sockudo-go/sockudo/cache/redis"
	"github.com/sockudo-go/sockudo/internal/testenv"
)

// TestOutageAndRecovery stops a private Redis (frozen, then killed), checks
// that every call fails within its time bound, restarts Redis on the same
// port and checks that the same client and caches work again.
func TestOutageAndRecovery(t *testing.T) {
	srv := testenv.StartRedis(t)
	client := testenv.RedisClient(t, rueidis.ClientOption{InitAddress: []string{srv.Addr()}})
	const timeout = 400 * time.Millisecond
	const slack = time.Second // scheduling on a loaded 2-core machine
	caches := map[string]*rediscache.Cache{}
	logs := map[string]*testenv.LogBuffer{}
	for name, o := range map[string]rediscache.Options{
		"plain":       {Timeout: timeout},
		"client-side": {Timeout: timeout, ClientSideTTL: time.Minute},
	} {
		logs[name] = new(testenv.LogBuffer)
		o.Logger = slog.New(slog.NewTextHandler(logs[name], nil))
		c, err := rediscache.New(client, &o)
		if err != nil {
			t.Fatal(err)
		}
		caches[name] = c
	}
	ctx := context.Background()
	for name, c := range caches {
		if err := c.Set(ctx, name, []byte("before"), time.Hour); err != nil {
			t.Fatalf("%s: Set: %v", name, err)
		}
		if e, err := c.Get(ctx, name); err != nil || string(e.Value) != "before" {
			t.Fatalf("%s: Get = %q, %v", name, e.Value, err)
		}
	}

	// failsWithin checks that op fails in at most limit.
	failsWithin := func(what string, limit time.Duration, op func() error) {
		t.Helper()
		start := time.Now()
		err := op()
		took := time.Since(start)
		if err == nil {
			t.Fatalf("%s succeeded with Redis down", what)
		}
		if errors.Is(err, cache.ErrNotFound) {
			t.Fatalf("%s reported ErrNotFound with Redis down; an outage must not look like a miss", what)
		}
		if took > limit {
			t.Fatalf("%s took %v to fail, want at most %v: %v", what, took, limit, err)
		}
	}
	allFail := func(phase string) {
		t.Helper()
		for name, c := range caches {
			key := phase + "-unread" // never read, so no local copy can answer
			failsWithin(name+" Get ("+phase+")", timeout+slack, func() error { _, err := c.Get(ctx, key); return err })
			failsWithin(name+" Set ("+phase+")", timeout+slack, func() error { return c.Set(ctx, key, []byte("x"), time.Minute) })
			failsWithin(name+" Add ("+phase+")", timeout+slack, func() error { _, err := c.Add(ctx, key, []byte("x"), time.Minute); return err })
			failsWithin(name+" Delete ("+phase+")", timeout+slack, func() error { return c.Delete(ctx, key) })
			// A caller's shorter deadline wins over Options.Timeout.
			failsWithin(name+" Get with a 50ms deadline ("+phase+")", 50*time.Millisecond+slack, func() error {
				sctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
				defer cancel()
				_, err := c.Get(sctx, key)
				if !errors.Is(err, context.DeadlineExceeded) && phase == "frozen" {
					return fmt.Errorf("want DeadlineExceeded, got %w", err)
				}
				return err
			})
		}
	}
	worksAgain := func(phase string) {
		t.Helper()
		for name, c := range caches {
			deadline := time.Now().Add(15 * time.Second)
			for {
				err := c.Set(ctx, name+"-"+phase, []byte(phase), time.Hour)
				if err == nil {
					var e cache.Entry
					e, err = c.Get(ctx, name+"-"+phase)
					if err == nil && string(e.Value) != phase {
						t.Fatalf("%s: Get after %s = %q", name, phase, e.Value)
					}
				}
				if err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: cache did not recover after %s: %v", name, phase, err)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}

	// logged checks how many outage warnings and recovery messages the
	// caches have logged: one of each per outage, however many calls fail.
	logged := func(down, up int) {
		t.Helper()
		for name, buf := range logs {
			out := buf.String()
			if n := strings.Count(out, "level=WARN msg=\"redis cache: Redis is unreachable"); n != down {
				t.Errorf("%s: logged %d outage warnings, want %d:\n%s", name, n, down, out)
			}
			if n := strings.Count(out, "level=INFO msg=\"redis cache: Redis is reachable again"); n != up {
				t.Errorf("%s: logged %d recovery messages, want %d:\n%s", name, n, up, out)
			}
		}
	}

	// Frozen: connections stay open and nothing answers.
	srv.Signal(syscall.SIGSTOP)
	allFail("frozen")
	logged(1, 0)
	srv.Signal(syscall.SIGCONT)
	worksAgain("thawed")
	logged(1, 1)

	// Crashed: connections drop and new ones are refused.
	srv.Kill()
	allFail("crashed")
	logged(2, 1)
	srv.Start()
	worksAgain("restarted")
	logged(2, 2)
	// The restarted Redis is empty: no local copy from before the crash
	// may answer for it.
	for name, c := range caches {
		if _, err := c.Get(ctx, name); !errors.Is(err, cache.ErrNotFound) {
			t.Errorf("%s: Get of an entry lost in the crash = %v, want ErrNotFound", name, err)
		}
	}
}

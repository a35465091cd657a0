package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/sockudo-go/sockudo/appmanager"
)

// FuzzLoad feeds arbitrary config files and one environment variable to
// the loader: it must never panic, must give the same answer twice, and
// whatever it accepts must survive the checks the server runs at start.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(sockudoConfig), "PORT", "6001")
	f.Add([]byte(`{"port": "${PORT:-6001}", "host": "${HOST}"}`), "PORT", "x")
	f.Add([]byte(`{"app_manager":{"array":{"apps":[{"id":"a","key":"k","secret":"s","max_connections":"5"}]}}}`), "SOCKUDO_DEFAULT_APP_MAX_CONNECTIONS", "-1")
	f.Add([]byte(`{"http":{"body_timeout":0}}`), "HTTP_MAX_HEADER_BYTES", "99999999999999999999")
	f.Add([]byte(`{"database":{"redis":{"cluster_nodes":[{"host":"h","port":1}]}}}`), "CACHE_DRIVER", "redis-cluster")
	f.Add([]byte(`[]`), "QUEUE_DRIVER", "sqs")
	f.Add([]byte(`{"rate_limiter":{"api_rate_limit":{"max_requests":-3}}}`), "RATE_LIMITER_DRIVER", "nope")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, file []byte, name, value string) {
		path := filepath.Join(dir, "config.json")
		if err := os.WriteFile(path, file, 0o600); err != nil {
			t.Skip(err) // the disk, not the loader
		}
		lookup := func(k string) (string, bool) {
			if k == name {
				return value, true
			}
			return "", false
		}
		cfg, unknown, err := Load(path, lookup)
		again, unknownAgain, errAgain := Load(path, lookup)
		if (err == nil) != (errAgain == nil) || !reflect.DeepEqual(unknown, unknownAgain) {
			t.Fatalf("two loads differ: %v / %v, %v / %v", err, errAgain, unknown, unknownAgain)
		}
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if !reflect.DeepEqual(cfg, again) {
			t.Fatalf("two loads differ:\n%+v\n%+v", cfg, again)
		}
		if !slices.IsSorted(unknown) {
			t.Fatalf("unknown keys not sorted: %v", unknown)
		}
		// The checks the server runs before it starts must answer, not panic.
		for _, validate := range []func() error{
			cfg.HTTP.Validate, cfg.Cache.Validate, cfg.Queue.Validate,
			cfg.Webhooks.Validate, cfg.RateLimiter.Validate,
		} {
			if err := validate(); err != nil && err.Error() == "" {
				t.Fatal("empty validation error")
			}
		}
		for _, sql := range []SQL{cfg.Database.MySQL, cfg.Database.Postgres} {
			if lo, hi, err := sql.PoolSize(cfg.DatabasePooling); err == nil && (lo < 0 || hi < lo) {
				t.Fatalf("pool size %d..%d accepted", lo, hi)
			}
		}
		for _, a := range cfg.AppManager.MemoryApps() {
			if err := a.Validate(); err != nil && !errors.Is(err, appmanager.ErrInvalidApp) {
				t.Fatalf("app error %v is not an ErrInvalidApp", err)
			}
		}
	})
}

package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/appmanager/memory"
	"github.com/sockudo-go/sockudo/cmd/sockudo/internal/config"
)

// check is --check-config: it validates what the server would check at
// start without opening any driver, then prints the configuration in
// effect with credentials redacted. Unsupported keys are listed on stderr.
func check(cfg *config.Config, unknown []string, stdout, stderr io.Writer) error {
	if err := validate(cfg); err != nil {
		return err
	}
	for _, k := range unknown {
		fmt.Fprintf(stderr, "sockudo: config key not supported, ignored: %s\n", k)
	}
	out, err := cfg.EffectiveJSON()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", out)
	return err
}

// validate checks the configuration as far as it can without connecting
// to anything: each section's own checks, the apps of the memory driver,
// the server options, and the TLS key pair.
func validate(cfg *config.Config) error {
	if err := cfg.HTTP.Validate(); err != nil {
		return err
	}
	if err := cfg.Cache.Validate(); err != nil {
		return err
	}
	if err := cfg.Queue.Validate(); err != nil {
		return err
	}
	if err := cfg.RateLimiter.Validate(); err != nil {
		return err
	}
	if err := cfg.Webhooks.Validate(); err != nil {
		return err
	}
	if d := cfg.Adapter.Driver; d != "" && d != "local" {
		return fmt.Errorf("adapter.driver (ADAPTER_DRIVER) %q: this version runs a single node; only \"local\" is supported", d)
	}
	for _, p := range []struct {
		port int
		name string
	}{{cfg.Port, "port (PORT)"}, {cfg.Metrics.Port, "metrics.port (METRICS_PORT)"}, {cfg.SSL.HTTPPort, "ssl.http_port (SSL_HTTP_PORT)"}} {
		if p.port < 0 || p.port > 65535 {
			return fmt.Errorf("%s %d is not a port number", p.name, p.port)
		}
	}
	switch cfg.AppManager.Driver {
	case "", "memory", "array", "mysql", "postgres", "pgsql", "postgresql", "dynamodb", "scylladb", "scylla":
	default:
		return fmt.Errorf("app_manager.driver (APP_MANAGER_DRIVER) %q is not one of memory, mysql, postgres, pgsql, dynamodb, scylladb", cfg.AppManager.Driver)
	}
	if _, err := memory.New(cfg.AppManager.MemoryApps()...); err != nil {
		return fmt.Errorf("app_manager.array.apps: %w", err)
	}
	if cfg.SSL.Enabled {
		if _, err := tls.LoadX509KeyPair(cfg.SSL.CertPath, cfg.SSL.KeyPath); err != nil {
			return fmt.Errorf("ssl.cert_path / ssl.key_path (SSL_CERT_PATH / SSL_KEY_PATH): %w", err)
		}
	}
	// The server options validate themselves; build a throwaway server
	// with in-memory drivers to run those checks.
	srv, err := sockudo.New(serverOptions(cfg, slog.New(slog.DiscardHandler))...)
	if err != nil {
		return err
	}
	return srv.Shutdown(context.Background())
}

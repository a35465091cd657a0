package main

import (
	"context"
	"log/slog"
	"net"
	"time"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/cmd/sockudo/internal/backends"
	"github.com/sockudo-go/sockudo/cmd/sockudo/internal/config"
)

// maxAppsLogged bounds the apps named in the startup summary; the count
// is always given.
const maxAppsLogged = 20

// defaultAppSecret is the secret of Sockudo's default app (app-id /
// app-key / app-secret), known to anyone: with it, anyone can publish and
// sign channel auth.
const defaultAppSecret = "app-secret"

// logSummary logs, at info, what the server is about to serve: the apps
// (id and key, never secrets) and where they come from, and each driver
// with its target, credentials redacted. It warns when the well-known
// default credentials would be served on a non-loopback address.
func logSummary(ctx context.Context, cfg *config.Config, b *backends.Backends, log *slog.Logger) {
	apps, source := summaryApps(ctx, cfg, b.Apps(), log)
	if apps != nil {
		log.Info("apps", "source", source, "count", len(apps))
		for i, a := range apps {
			if i == maxAppsLogged {
				log.Info("more apps not listed", "count", len(apps)-i)
				break
			}
			log.Info("app", "id", a.ID, "key", a.Key, "enabled", a.Enabled)
		}
	}
	for _, d := range cfg.Drivers() {
		log.Info("driver", "role", d.Role, "driver", d.Driver, "target", d.Target)
	}
	if !isLoopback(cfg.Host) {
		for _, a := range apps {
			if a.Enabled && a.Secret == defaultAppSecret {
				log.Warn("the well-known default app credentials are served on a non-loopback address; set SOCKUDO_DEFAULT_APP_ID, _KEY and _SECRET or configure apps",
					"host", cfg.Host, "app_id", a.ID, "app_key", a.Key)
				break
			}
		}
	}
}

// summaryApps lists the served apps: the memory driver's from the
// configuration, a database's through appmanager.Lister. It returns nil
// when they cannot be listed.
func summaryApps(ctx context.Context, cfg *config.Config, m appmanager.Manager, log *slog.Logger) ([]appmanager.App, string) {
	switch cfg.AppManager.Driver {
	case "", "memory", "array":
		apps := cfg.AppManager.MemoryApps()
		if apps == nil {
			apps = []appmanager.App{}
		}
		return apps, cfg.AppManager.AppSource()
	}
	l, ok := m.(appmanager.Lister)
	if !ok {
		return nil, ""
	}
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	apps, err := l.ListApps(lctx)
	if err != nil {
		log.Warn("listing apps for the startup summary failed", "driver", cfg.AppManager.Driver, "error", err)
		return nil, ""
	}
	if apps == nil {
		apps = []appmanager.App{}
	}
	return apps, cfg.AppManager.Driver
}

// isLoopback reports whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

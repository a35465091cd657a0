package backends

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/cmd/sockudo/internal/config"
)

// seedApps writes the configuration's apps (config.AppManager.SeedApps)
// into m when it is a database manager (an appmanager.Creator), as Sockudo
// does at start, but only where the id is free: a row that exists, perhaps
// edited since, is left alone. It logs how many apps each source gave. An
// app whose key another app holds is logged and skipped; an invalid app or
// a failing database stops the start.
func seedApps(ctx context.Context, m appmanager.Manager, cfg *config.Config, log *slog.Logger) error {
	c, ok := m.(appmanager.Creator)
	if !ok {
		return nil
	}
	if cfg.AppManager.IncompleteDefaultApp() {
		log.Warn("SOCKUDO_DEFAULT_APP_ID, _KEY and _SECRET are not all set; no default app is seeded")
	}
	for _, src := range cfg.AppManager.SeedApps() {
		var created, existing, conflicts int
		for _, app := range src.Apps {
			ok, err := c.CreateIfAbsent(ctx, app)
			switch {
			case err == nil && ok:
				created++
			case err == nil:
				existing++
			case errors.Is(err, appmanager.ErrExists):
				conflicts++
				log.Error("app not seeded: its key belongs to another app", "source", src.Name, "app_id", app.ID, "error", err)
			default:
				return fmt.Errorf("seeding app %q from %s: %w", app.ID, src.Name, err)
			}
		}
		log.Info("apps seeded", "source", src.Name, "created", created, "existing", existing, "conflicts", conflicts)
	}
	return nil
}

// logConfigApps logs the effective limits of the apps the configuration
// gives (the memory driver's, or those seeded into a database).
func logConfigApps(ctx context.Context, cfg *config.Config, log *slog.Logger) {
	var apps []appmanager.App
	switch cfg.AppManager.Driver {
	case "", "memory", "array":
		apps = cfg.AppManager.MemoryApps()
	default:
		for _, src := range cfg.AppManager.SeedApps() {
			apps = append(apps, src.Apps...)
		}
	}
	for i := range apps {
		log.LogAttrs(ctx, slog.LevelInfo, "app limits", cfg.LimitAttrs(&apps[i])...)
	}
}

// limitedApps applies the server's semantics for unset limits
// (config.EffectiveApp) to every app the wrapped manager returns, and logs
// each app's effective limits at debug the first time it is loaded.
type limitedApps struct {
	inner appmanager.Manager
	cfg   *config.Config
	log   *slog.Logger
	seen  sync.Map // app id -> struct{}, for the first-load log
}

func newLimitedApps(m appmanager.Manager, cfg *config.Config, log *slog.Logger) *limitedApps {
	return &limitedApps{inner: m, cfg: cfg, log: log}
}

// FindByID returns the app with the id, its unset limits applied.
func (l *limitedApps) FindByID(ctx context.Context, id string) (*appmanager.App, error) {
	a, err := l.inner.FindByID(ctx, id)
	return l.apply(ctx, a, err)
}

// FindByKey returns the app with the key, its unset limits applied.
func (l *limitedApps) FindByKey(ctx context.Context, key string) (*appmanager.App, error) {
	a, err := l.inner.FindByKey(ctx, key)
	return l.apply(ctx, a, err)
}

func (l *limitedApps) apply(ctx context.Context, a *appmanager.App, err error) (*appmanager.App, error) {
	if err != nil {
		return nil, err
	}
	if _, loaded := l.seen.LoadOrStore(a.ID, struct{}{}); !loaded && l.log.Enabled(ctx, slog.LevelDebug) {
		l.log.LogAttrs(ctx, slog.LevelDebug, "app loaded", l.cfg.LimitAttrs(a)...)
	}
	return l.cfg.EffectiveApp(a), nil
}

// Apps returns the app manager that was opened, for the startup summary
// (it may implement appmanager.Lister): the driver itself, not the
// wrapper that applies the unset limits, which hides its other methods.
func (b *Backends) Apps() appmanager.Manager {
	if l, ok := b.apps.(*limitedApps); ok {
		return l.inner
	}
	return b.apps
}

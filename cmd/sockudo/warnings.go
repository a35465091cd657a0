package main

import (
	"log/slog"
	"strings"

	"github.com/sockudo-go/sockudo/cmd/sockudo/internal/config"
)

// warnIgnored logs, once each, the settings the server reads past: the
// inline apps' settings it does not apply, and soketi's variables, which
// it does not read (environ is os.Environ()).
func warnIgnored(log *slog.Logger, cfg *config.Config, environ []string) {
	for _, s := range cfg.IgnoredAppSettings() {
		log.Warn("app setting not supported, ignored", "key", s.Key, "apps", strings.Join(s.Apps, ","), "reason", s.Reason)
	}
	var soketi []string
	for _, kv := range environ {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "SOKETI_") {
			soketi = append(soketi, name)
		}
	}
	if len(soketi) > 0 {
		log.Warn("soketi variables are not read; see the migration guide (docs/migrating.md)", "variables", strings.Join(soketi, ","))
	}
}

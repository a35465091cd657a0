package config

import "github.com/sockudo-go/sockudo/appmanager"

// SeedSource is a group of apps from the configuration that the server
// writes into a database app manager at start.
type SeedSource struct {
	// Name is "config" (app_manager.array.apps) or "env" (the
	// SOCKUDO_DEFAULT_APP_* app).
	Name string
	Apps []appmanager.App
}

// SeedApps returns the apps that Sockudo registers in its app manager at
// start: the inline apps of app_manager.array.apps (unless
// SOCKUDO_SKIP_INLINE_APPS or APP_MANAGER_REGISTER_INLINE_APPS=false, or a
// SOCKUDO_DEFAULT_APP_* app replaces them), then the SOCKUDO_DEFAULT_APP_*
// app when SOCKUDO_DEFAULT_APP_ID, _KEY and _SECRET are all set and it is
// enabled. Unlike Sockudo, which updates an app that already exists, the
// server only inserts the missing ones (see appmanager.Creator).
func (c *AppManager) SeedApps() []SeedSource {
	var out []SeedSource
	if len(c.Array.Apps) > 0 {
		out = append(out, SeedSource{Name: "config", Apps: c.Array.Apps})
	}
	if c.envDefaultAppComplete && c.DefaultApp.Enabled {
		out = append(out, SeedSource{Name: "env", Apps: []appmanager.App{c.DefaultApp}})
	}
	return out
}

// IncompleteDefaultApp reports that some but not all of
// SOCKUDO_DEFAULT_APP_ID, _KEY and _SECRET are set: Sockudo then registers
// no default app, and the server seeds none into a database (the memory
// driver still serves it, completed from app-id/app-key/app-secret).
func (c *AppManager) IncompleteDefaultApp() bool {
	return c.envDefaultApp && !c.envDefaultAppComplete
}

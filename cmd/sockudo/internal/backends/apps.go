package backends

import "github.com/sockudo-go/sockudo/appmanager"

// Apps returns the app manager that was opened, for the startup summary
// (it may implement appmanager.Lister).
func (b *Backends) Apps() appmanager.Manager { return b.apps }

package memory

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/sockudo-go/sockudo/appmanager"
)

// Manager is an in-process appmanager.Manager that also implements
// appmanager.Lister and appmanager.Writer. It is safe for concurrent use.
// It keeps its own copies of the apps: lookups return fresh copies, so a
// caller may modify what it gets.
type Manager struct {
	mu    sync.RWMutex
	byID  map[string]*appmanager.App
	byKey map[string]*appmanager.App
}

var (
	_ appmanager.Manager = (*Manager)(nil)
	_ appmanager.Lister  = (*Manager)(nil)
	_ appmanager.Writer  = (*Manager)(nil)
)

// New returns a Manager holding copies of apps. It fails if an app is
// invalid (appmanager.ErrInvalidApp) or if two apps share an id or a key
// (appmanager.ErrExists).
func New(apps ...appmanager.App) (*Manager, error) {
	m := &Manager{byID: make(map[string]*appmanager.App), byKey: make(map[string]*appmanager.App)}
	for i := range apps {
		if err := m.put(&apps[i], false); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// put stores a copy of a. With replace false the id must be new; with
// replace true it must exist. In both cases the key must not belong to
// another app.
func (m *Manager) put(a *appmanager.App, replace bool) error {
	if err := a.Validate(); err != nil {
		return err
	}
	c := a.Clone()
	m.mu.Lock()
	defer m.mu.Unlock()
	old, exists := m.byID[c.ID]
	switch {
	case exists && !replace:
		return fmt.Errorf("memory: app id %q: %w", c.ID, appmanager.ErrExists)
	case !exists && replace:
		return fmt.Errorf("memory: app id %q: %w", c.ID, appmanager.ErrNotFound)
	}
	if other, ok := m.byKey[c.Key]; ok && other.ID != c.ID {
		return fmt.Errorf("memory: app %q: key %q is used by app %q: %w", c.ID, c.Key, other.ID, appmanager.ErrExists)
	}
	if exists {
		delete(m.byKey, old.Key)
	}
	m.byID[c.ID] = c
	m.byKey[c.Key] = c
	return nil
}

// FindByID returns a copy of the app with the given id.
func (m *Manager) FindByID(ctx context.Context, id string) (*appmanager.App, error) {
	return m.find(ctx, m.byID, id, "id")
}

// FindByKey returns a copy of the app with the given key.
func (m *Manager) FindByKey(ctx context.Context, key string) (*appmanager.App, error) {
	return m.find(ctx, m.byKey, key, "key")
}

func (m *Manager) find(ctx context.Context, index map[string]*appmanager.App, v, field string) (*appmanager.App, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	a, ok := index[v]
	m.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("memory: app with %s %q: %w", field, v, appmanager.ErrNotFound)
	}
	return a.Clone(), nil
}

// ListApps returns copies of every app, sorted by id.
func (m *Manager) ListApps(ctx context.Context) ([]appmanager.App, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	out := make([]appmanager.App, 0, len(m.byID))
	for _, a := range m.byID {
		out = append(out, *a.Clone())
	}
	m.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// CreateApp stores a copy of app. It fails with appmanager.ErrExists when
// the id or the key is taken.
func (m *Manager) CreateApp(ctx context.Context, app appmanager.App) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return m.put(&app, false)
}

// UpdateApp replaces the app with app.ID by a copy of app. It fails with
// appmanager.ErrNotFound when there is none and appmanager.ErrExists when
// the key belongs to another app.
func (m *Manager) UpdateApp(ctx context.Context, app appmanager.App) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return m.put(&app, true)
}

// DeleteApp removes the app with the id. It fails with
// appmanager.ErrNotFound when there is none.
func (m *Manager) DeleteApp(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.byID[id]
	if !ok {
		return fmt.Errorf("memory: app id %q: %w", id, appmanager.ErrNotFound)
	}
	delete(m.byID, id)
	delete(m.byKey, a.Key)
	return nil
}

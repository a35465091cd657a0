package memory

import (
	"context"
	"fmt"
	"sync"

	"github.com/sockudo-go/sockudo/appmanager"
)

// Manager is an in-process appmanager.Manager. It is safe for concurrent use.
type Manager struct {
	mu    sync.RWMutex
	byID  map[string]*appmanager.App
	byKey map[string]*appmanager.App
}

var _ appmanager.Manager = (*Manager)(nil)

// New returns a Manager holding copies of apps. It fails if an app is
// invalid or if two apps share an id or a key.
func New(apps ...appmanager.App) (*Manager, error) {
	m := &Manager{byID: make(map[string]*appmanager.App), byKey: make(map[string]*appmanager.App)}
	for i := range apps {
		if err := m.put(&apps[i], false); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Manager) put(a *appmanager.App, replace bool) error {
	if err := a.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old, exists := m.byID[a.ID]
	if exists && !replace {
		return fmt.Errorf("memory: duplicate app id %q", a.ID)
	}
	if other, ok := m.byKey[a.Key]; ok && other.ID != a.ID {
		return fmt.Errorf("memory: app %q: key %q already used by app %q", a.ID, a.Key, other.ID)
	}
	if exists {
		delete(m.byKey, old.Key)
	}
	c := a.Clone()
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

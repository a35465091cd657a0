package sockudo_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/appmanager/memory"
	"github.com/sockudo-go/sockudo/internal/wstest"
)

// countingManager counts lookups that reach the app store.
type countingManager struct {
	appmanager.Manager
	byKey atomic.Int64
}

func (m *countingManager) FindByKey(ctx context.Context, key string) (*appmanager.App, error) {
	m.byKey.Add(1)
	return m.Manager.FindByKey(ctx, key)
}

func TestAppCache(t *testing.T) {
	t.Parallel()
	store, err := memory.New(testApp())
	if err != nil {
		t.Fatal(err)
	}
	m := &countingManager{Manager: store}
	s := newTestServer(t, sockudo.WithAppManager(m))
	for i := 0; i < 3; i++ {
		s.dial(t, testKey)
	}
	if n := m.byKey.Load(); n != 1 {
		t.Fatalf("3 connections made %d app store lookups, want 1", n)
	}
	// Unknown keys are cached too, so a flood cannot hammer the store.
	for i := 0; i < 3; i++ {
		c := wstest.Dial(t, s.ws, "unknown", &wstest.Options{NoHandshake: true})
		c.ExpectClose(t)
	}
	if n := m.byKey.Load(); n != 2 {
		t.Fatalf("after 3 unknown-key connections: %d lookups, want 2", n)
	}

	// Disabling the app in the store applies after InvalidateApp.
	off := testApp()
	off.Enabled = false
	if err := store.UpdateApp(context.Background(), off); err != nil {
		t.Fatal(err)
	}
	s.dial(t, testKey) // still cached as enabled
	s.InvalidateApp(testID)
	expectRejected(t, s.ws, testKey, nil, 4003)
}

func TestAppCacheDisabled(t *testing.T) {
	t.Parallel()
	store, err := memory.New(testApp())
	if err != nil {
		t.Fatal(err)
	}
	m := &countingManager{Manager: store}
	s := newTestServer(t, sockudo.WithAppManager(m), sockudo.WithAppCache(0))
	for i := 0; i < 3; i++ {
		s.dial(t, testKey)
	}
	if n := m.byKey.Load(); n != 3 {
		t.Fatalf("with the cache off, 3 connections made %d lookups, want 3", n)
	}
}

package memory_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/appmanager/appmanagertest"
	"github.com/sockudo-go/sockudo/appmanager/memory"
)

func TestConformance(t *testing.T) {
	appmanagertest.Run(t, appmanagertest.Harness{
		New: func(t *testing.T) appmanager.Manager {
			m, err := memory.New()
			if err != nil {
				t.Fatal(err)
			}
			return m
		},
		RequireLister: true,
		RequireWriter: true,
	})
}

// readOnly hides the Writer and Lister of a memory Manager, to run the suite
// the way it runs for a driver without them: seeded through Harness.Seed.
type readOnly struct{ appmanager.Manager }

func TestConformanceReadOnly(t *testing.T) {
	appmanagertest.Run(t, appmanagertest.Harness{
		New: func(t *testing.T) appmanager.Manager {
			m, err := memory.New()
			if err != nil {
				t.Fatal(err)
			}
			return readOnly{m}
		},
		Seed: func(t *testing.T, m appmanager.Manager, apps ...appmanager.App) {
			w := m.(readOnly).Manager.(appmanager.Writer)
			for _, a := range apps {
				if err := w.CreateApp(context.Background(), a); err != nil {
					t.Fatal(err)
				}
			}
		},
	})
}

func TestNewRejectsDuplicatesAndInvalid(t *testing.T) {
	a := appmanager.App{ID: "a", Key: "k", Secret: "s"}
	b := appmanager.App{ID: "b", Key: "k", Secret: "s"}
	if _, err := memory.New(a, a); !errors.Is(err, appmanager.ErrExists) {
		t.Errorf("duplicate id: %v", err)
	}
	if _, err := memory.New(a, b); !errors.Is(err, appmanager.ErrExists) {
		t.Errorf("duplicate key: %v", err)
	}
	if _, err := memory.New(appmanager.App{ID: "c", Key: "k"}); !errors.Is(err, appmanager.ErrInvalidApp) {
		t.Errorf("missing secret: %v", err)
	}
}

func Example() {
	m, err := memory.New(appmanager.App{ID: "app-id", Key: "app-key", Secret: "app-secret", Enabled: true})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	_ = m.CreateApp(ctx, appmanager.App{ID: "second", Key: "second-key", Secret: "s", Enabled: true})
	app, _ := m.FindByKey(ctx, "second-key")
	fmt.Println(app.ID)
	_, err = m.FindByID(ctx, "missing")
	fmt.Println(errors.Is(err, appmanager.ErrNotFound))
	// Output:
	// second
	// true
}

package appmanagertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/sockudo-go/sockudo/appmanager"
)

// Harness tells Run how to get managers of the driver under test. New
// fields are added as capability flags, so existing harnesses keep
// compiling.
type Harness struct {
	// New returns a Manager on fresh storage that no other test uses (a
	// unique table name or key prefix, derived for example from t.Name()),
	// empty of apps. Clean the storage up with t.Cleanup. New is called
	// from parallel subtests.
	New func(t *testing.T) appmanager.Manager
	// Seed stores apps so that m finds them. It is needed only when m does
	// not implement appmanager.Writer; when nil, the suite seeds through
	// Writer.CreateApp.
	Seed func(t *testing.T, m appmanager.Manager, apps ...appmanager.App)
	// RequireLister makes the suite fail when the Manager does not
	// implement appmanager.Lister (otherwise its checks are skipped).
	RequireLister bool
	// RequireWriter makes the suite fail when the Manager does not
	// implement appmanager.Writer (otherwise its checks are skipped).
	RequireWriter bool
	// RequireCreator makes the suite fail when the Manager does not
	// implement appmanager.Creator (otherwise its checks are skipped).
	RequireCreator bool
	// SharedResults reports that the Manager returns shared apps that
	// callers must treat as read-only (a cache in front of another
	// Manager); the check that callers may modify results is skipped.
	SharedResults bool
	// Readers is the number of goroutines of the concurrent-readers check;
	// zero means 8.
	Readers int
}

// Run runs the conformance suite against the driver described by h.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("appmanagertest: Harness.New is nil")
	}
	s := suite{h: h}
	for _, c := range []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"RoundTrip", s.testRoundTrip},
		{"NotFound", s.testNotFound},
		{"Disabled", s.testDisabled},
		{"ReturnedCopy", s.testReturnedCopy},
		{"ConcurrentReaders", s.testConcurrentReaders},
		{"CancelledContext", s.testCancelledContext},
		{"Lister", s.testLister},
		{"Writer", s.testWriter},
		{"Creator", s.testCreator},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t)
		})
	}
}

type suite struct{ h Harness }

// FullApp returns an app with every field set to a distinct non-zero
// value: all limits and features, two allowed origins and two webhooks
// (one with event types, a filter and headers; one Lambda target).
func FullApp(id string) appmanager.App {
	return appmanager.App{
		ID: id, Key: "Key-" + id, Secret: "secret-" + id, Enabled: true,

		MaxConnections:               101,
		MaxBackendEventsPerSecond:    102,
		MaxClientEventsPerSecond:     103,
		MaxReadRequestsPerSecond:     104,
		MaxPresenceMembersPerChannel: 105,
		MaxPresenceMemberSizeInKB:    106,
		MaxChannelNameLength:         107,
		MaxEventChannelsAtOnce:       108,
		MaxEventNameLength:           109,
		MaxEventPayloadInKB:          110,
		MaxEventBatchSize:            111,

		EnableClientMessages:          true,
		EnableUserAuthentication:      true,
		EnableWatchlistEvents:         true,
		EnableSubscriptionCountEvents: true,

		AllowedOrigins: []string{"https://app.example.com", "*.example.org"},
		Webhooks: []appmanager.Webhook{
			{
				URL:        "https://hooks.example.com/pusher?x=1",
				EventTypes: []string{"channel_occupied", "member_added"},
				Filter: &appmanager.WebhookFilter{
					ChannelPrefix:  "private-",
					ChannelSuffix:  "-room",
					ChannelPattern: `^private-[a-z]+-room$`,
				},
				Headers: map[string]string{"X-Token": "abc", "X-Tenant": "t1"},
			},
			{LambdaFunction: "notify-" + id},
		},
	}
}

// MinimalApp returns an app with only credentials set: every limit zero,
// every feature off, no origins and no webhooks.
func MinimalApp(id string) appmanager.App {
	return appmanager.App{ID: id, Key: "key-" + id, Secret: "secret-" + id, Enabled: true}
}

func (s *suite) newManager(t *testing.T, apps ...appmanager.App) appmanager.Manager {
	t.Helper()
	m := s.h.New(t)
	if m == nil {
		t.Fatal("appmanagertest: Harness.New returned nil")
	}
	if len(apps) == 0 {
		return m
	}
	if s.h.Seed != nil {
		s.h.Seed(t, m, apps...)
		return m
	}
	w, ok := m.(appmanager.Writer)
	if !ok {
		t.Fatalf("appmanagertest: %T does not implement appmanager.Writer and Harness.Seed is nil", m)
	}
	for _, a := range apps {
		if err := w.CreateApp(context.Background(), a); err != nil {
			t.Fatalf("seeding app %q: CreateApp: %v", a.ID, err)
		}
	}
	return m
}

func (s *suite) testRoundTrip(t *testing.T) {
	full, minimal := FullApp("full"), MinimalApp("minimal")
	m := s.newManager(t, full, minimal)
	ctx := context.Background()
	for _, want := range []appmanager.App{full, minimal} {
		got, err := m.FindByID(ctx, want.ID)
		if err != nil {
			t.Fatalf("FindByID(%q): %v", want.ID, err)
		}
		assertEqual(t, "FindByID("+want.ID+")", got, want)
		got, err = m.FindByKey(ctx, want.Key)
		if err != nil {
			t.Fatalf("FindByKey(%q): %v", want.Key, err)
		}
		assertEqual(t, "FindByKey("+want.Key+")", got, want)
	}
}

func (s *suite) testNotFound(t *testing.T) {
	a := FullApp("present") // key "Key-present"
	m := s.newManager(t, a)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		find func(context.Context, string) (*appmanager.App, error)
		arg  string
	}{
		{"FindByID(absent)", m.FindByID, "absent"},
		{"FindByKey(absent)", m.FindByKey, "absent"},
		{"FindByID(key)", m.FindByID, a.Key},
		{"FindByKey(id)", m.FindByKey, a.ID},
		{"FindByKey(key in other case)", m.FindByKey, strings.ToLower(a.Key)},
		{"FindByID(id in other case)", m.FindByID, strings.ToUpper(a.ID)},
		{"FindByKey(key with trailing space)", m.FindByKey, a.Key + " "},
		{"FindByID(empty)", m.FindByID, ""},
		{"FindByKey(empty)", m.FindByKey, ""},
	} {
		got, err := c.find(ctx, c.arg)
		if !errors.Is(err, appmanager.ErrNotFound) {
			t.Errorf("%s = %v, %v; want an error matching appmanager.ErrNotFound", c.name, describe(got), err)
		} else if got != nil {
			t.Errorf("%s returned an app (%q) with ErrNotFound", c.name, got.ID)
		}
	}
}

func (s *suite) testDisabled(t *testing.T) {
	a := FullApp("off")
	a.Enabled = false
	m := s.newManager(t, a)
	for _, find := range []func() (*appmanager.App, error){
		func() (*appmanager.App, error) { return m.FindByID(context.Background(), a.ID) },
		func() (*appmanager.App, error) { return m.FindByKey(context.Background(), a.Key) },
	} {
		got, err := find()
		if err != nil {
			t.Fatalf("looking up a disabled app: %v", err)
		}
		if got.Enabled {
			t.Fatal("a disabled app came back with Enabled = true")
		}
		assertEqual(t, "disabled app", got, a)
	}
}

func (s *suite) testReturnedCopy(t *testing.T) {
	if s.h.SharedResults {
		t.Skip("Harness.SharedResults: returned apps are shared and read-only")
	}
	a := FullApp("copy")
	m := s.newManager(t, a)
	ctx := context.Background()
	got, err := m.FindByID(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	got.Secret = "changed"
	got.MaxConnections = 1
	got.AllowedOrigins[0] = "changed"
	got.Webhooks[0].Headers["X-Token"] = "changed"
	got.Webhooks[0].Filter.ChannelPrefix = "changed"
	got.Webhooks[0].EventTypes[0] = "changed"
	byID, err := m.FindByID(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "app by id after the caller modified an earlier result", byID, a)
	byKey, err := m.FindByKey(ctx, a.Key)
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "app by key after the caller modified an earlier result", byKey, a)
}

func (s *suite) testConcurrentReaders(t *testing.T) {
	apps := []appmanager.App{FullApp("c1"), FullApp("c2"), MinimalApp("c3")}
	m := s.newManager(t, apps...)
	readers := s.h.Readers
	if readers <= 0 {
		readers = 8
	}
	const lookups = 20
	var wg sync.WaitGroup
	errs := make(chan error, readers)
	for r := 0; r < readers; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < lookups; i++ {
				want := apps[(r+i)%len(apps)]
				var got *appmanager.App
				var err error
				if i%2 == 0 {
					got, err = m.FindByID(context.Background(), want.ID)
				} else {
					got, err = m.FindByKey(context.Background(), want.Key)
				}
				if err == nil && got.ID != want.ID {
					err = fmt.Errorf("looked up %q, got %q", want.ID, got.ID)
				}
				if err == nil {
					_, err = m.FindByKey(context.Background(), "absent")
					if errors.Is(err, appmanager.ErrNotFound) {
						err = nil
					} else {
						err = fmt.Errorf("FindByKey(absent) = %v; want ErrNotFound", err)
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func (s *suite) testCancelledContext(t *testing.T) {
	a := FullApp("ctx")
	m := s.newManager(t, a)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for name, find := range map[string]func() (*appmanager.App, error){
		"FindByID":  func() (*appmanager.App, error) { return m.FindByID(ctx, a.ID) },
		"FindByKey": func() (*appmanager.App, error) { return m.FindByKey(ctx, a.Key) },
	} {
		got, err := find()
		switch {
		case err == nil:
			t.Errorf("%s with a cancelled context returned %v and no error", name, describe(got))
		case got != nil:
			t.Errorf("%s with a cancelled context returned an app with its error %v", name, err)
		case errors.Is(err, appmanager.ErrNotFound):
			t.Errorf("%s with a cancelled context = %v; must not match ErrNotFound", name, err)
		case !errors.Is(err, context.Canceled):
			t.Errorf("%s with a cancelled context = %v; want an error matching context.Canceled", name, err)
		}
	}
}

// optional returns m as the optional interface T, or ends the test: a
// failure when the harness requires T, else a skip naming the interface.
func optional[T any](t *testing.T, m appmanager.Manager, required bool, name string) T {
	t.Helper()
	v, ok := m.(T)
	if !ok {
		if required {
			t.Fatalf("%T does not implement appmanager.%s", m, name)
		}
		t.Skipf("%T does not implement appmanager.%s", m, name)
	}
	return v
}

func (s *suite) testLister(t *testing.T) {
	probe := s.h.New(t)
	optional[appmanager.Lister](t, probe, s.h.RequireLister, "Lister")
	ctx := context.Background()
	empty, err := probe.(appmanager.Lister).ListApps(ctx)
	if err != nil {
		t.Fatalf("ListApps on empty storage: %v", err)
	}
	if len(empty) != 0 {
		t.Fatalf("ListApps on empty storage returned %d apps", len(empty))
	}
	off := MinimalApp("b-off")
	off.Enabled = false
	want := []appmanager.App{FullApp("a-full"), off, MinimalApp("c-min")}
	m := s.newManager(t, want[2], want[0], want[1])
	got, err := m.(appmanager.Lister).ListApps(ctx)
	if err != nil {
		t.Fatalf("ListApps: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("ListApps returned %d apps; want %d", len(got), len(want))
	}
	for i := range want {
		assertEqual(t, fmt.Sprintf("ListApps()[%d]", i), &got[i], want[i])
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.(appmanager.Lister).ListApps(cctx); err == nil {
		t.Error("ListApps with a cancelled context returned no error")
	}
}

func (s *suite) testWriter(t *testing.T) {
	m := s.h.New(t)
	w := optional[appmanager.Writer](t, m, s.h.RequireWriter, "Writer")
	ctx := context.Background()
	a, b := FullApp("w-a"), MinimalApp("w-b")
	for _, app := range []appmanager.App{a, b} {
		if err := w.CreateApp(ctx, app); err != nil {
			t.Fatalf("CreateApp(%q): %v", app.ID, err)
		}
	}
	got, err := m.FindByKey(ctx, a.Key)
	if err != nil {
		t.Fatalf("FindByKey after CreateApp: %v", err)
	}
	assertEqual(t, "created app", got, a)

	dupID := MinimalApp(a.ID)
	dupID.Key = "another-key"
	if err := w.CreateApp(ctx, dupID); !errors.Is(err, appmanager.ErrExists) {
		t.Errorf("CreateApp with a taken id = %v; want ErrExists", err)
	}
	dupKey := MinimalApp("w-c")
	dupKey.Key = a.Key
	if err := w.CreateApp(ctx, dupKey); !errors.Is(err, appmanager.ErrExists) {
		t.Errorf("CreateApp with a taken key = %v; want ErrExists", err)
	}
	if _, err := m.FindByID(ctx, dupKey.ID); !errors.Is(err, appmanager.ErrNotFound) {
		t.Errorf("after a refused CreateApp, FindByID = %v; want ErrNotFound", err)
	}
	got, err = m.FindByID(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "app after refused duplicates", got, a)

	bad := MinimalApp("w-bad")
	bad.Secret = ""
	if err := w.CreateApp(ctx, bad); !errors.Is(err, appmanager.ErrInvalidApp) {
		t.Errorf("CreateApp with an empty secret = %v; want ErrInvalidApp", err)
	}
	neg := MinimalApp("w-neg")
	neg.MaxConnections = -1
	if err := w.CreateApp(ctx, neg); !errors.Is(err, appmanager.ErrInvalidApp) {
		t.Errorf("CreateApp with a negative limit = %v; want ErrInvalidApp", err)
	}
	for _, id := range []string{bad.ID, neg.ID} {
		if _, err := m.FindByID(ctx, id); !errors.Is(err, appmanager.ErrNotFound) {
			t.Errorf("an invalid app %q was stored: FindByID = %v", id, err)
		}
	}

	// Update everything, including the key.
	up := MinimalApp(a.ID)
	up.Key = "new-key-w-a"
	up.Enabled = false
	up.MaxConnections = 7
	up.Webhooks = []appmanager.Webhook{{URL: "https://new.example.com/hook"}}
	if err := w.UpdateApp(ctx, up); err != nil {
		t.Fatalf("UpdateApp: %v", err)
	}
	if _, err := m.FindByKey(ctx, a.Key); !errors.Is(err, appmanager.ErrNotFound) {
		t.Errorf("FindByKey(old key) after UpdateApp = %v; want ErrNotFound", err)
	}
	got, err = m.FindByKey(ctx, up.Key)
	if err != nil {
		t.Fatalf("FindByKey(new key) after UpdateApp: %v", err)
	}
	assertEqual(t, "updated app", got, up)
	got, err = m.FindByID(ctx, up.ID)
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "updated app by id", got, up)

	if err := w.UpdateApp(ctx, MinimalApp("w-missing")); !errors.Is(err, appmanager.ErrNotFound) {
		t.Errorf("UpdateApp of a missing app = %v; want ErrNotFound", err)
	}
	if _, err := m.FindByID(ctx, "w-missing"); !errors.Is(err, appmanager.ErrNotFound) {
		t.Errorf("UpdateApp of a missing app created it: FindByID = %v", err)
	}
	steal := b
	steal.Key = up.Key
	if err := w.UpdateApp(ctx, steal); !errors.Is(err, appmanager.ErrExists) {
		t.Errorf("UpdateApp to another app's key = %v; want ErrExists", err)
	}
	got, err = m.FindByID(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "app after a refused UpdateApp", got, b)
	invalidUp := b
	invalidUp.Secret = ""
	if err := w.UpdateApp(ctx, invalidUp); !errors.Is(err, appmanager.ErrInvalidApp) {
		t.Errorf("UpdateApp with an empty secret = %v; want ErrInvalidApp", err)
	}

	if err := w.DeleteApp(ctx, up.ID); err != nil {
		t.Fatalf("DeleteApp: %v", err)
	}
	if _, err := m.FindByID(ctx, up.ID); !errors.Is(err, appmanager.ErrNotFound) {
		t.Errorf("FindByID after DeleteApp = %v; want ErrNotFound", err)
	}
	if _, err := m.FindByKey(ctx, up.Key); !errors.Is(err, appmanager.ErrNotFound) {
		t.Errorf("FindByKey after DeleteApp = %v; want ErrNotFound", err)
	}
	if err := w.DeleteApp(ctx, up.ID); !errors.Is(err, appmanager.ErrNotFound) {
		t.Errorf("DeleteApp of a missing app = %v; want ErrNotFound", err)
	}
	if _, err := m.FindByID(ctx, b.ID); err != nil {
		t.Errorf("DeleteApp removed another app: %v", err)
	}
	// The deleted key and id are free again.
	if err := w.CreateApp(ctx, up); err != nil {
		t.Errorf("CreateApp reusing a deleted app's id and key: %v", err)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := w.CreateApp(cctx, MinimalApp("w-cancelled")); err == nil {
		t.Error("CreateApp with a cancelled context returned no error")
	}
}

func (s *suite) testCreator(t *testing.T) {
	m := s.h.New(t)
	c := optional[appmanager.Creator](t, m, s.h.RequireCreator, "Creator")
	ctx := context.Background()
	a := FullApp("c-a")
	created, err := c.CreateIfAbsent(ctx, a)
	if err != nil || !created {
		t.Fatalf("CreateIfAbsent(new app) = %v, %v; want true, nil", created, err)
	}
	got, err := m.FindByID(ctx, a.ID)
	if err != nil {
		t.Fatalf("FindByID after CreateIfAbsent: %v", err)
	}
	assertEqual(t, "created app", got, a)

	// A second call with other settings (and even another key) leaves the
	// stored app alone: seeding never overwrites an operator's edits.
	again := MinimalApp(a.ID)
	again.Key = "other-key-c-a"
	again.Secret = "other-secret"
	created, err = c.CreateIfAbsent(ctx, again)
	if err != nil || created {
		t.Fatalf("CreateIfAbsent(existing id) = %v, %v; want false, nil", created, err)
	}
	if created, err = c.CreateIfAbsent(ctx, a); err != nil || created {
		t.Fatalf("CreateIfAbsent(same app again) = %v, %v; want false, nil", created, err)
	}
	got, err = m.FindByID(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "app after CreateIfAbsent of an existing id", got, a)
	if _, err := m.FindByKey(ctx, again.Key); !errors.Is(err, appmanager.ErrNotFound) {
		t.Errorf("CreateIfAbsent of an existing id stored its key: FindByKey = %v", err)
	}

	// A free id whose key another app holds is a conflict, not a skip.
	dupKey := MinimalApp("c-b")
	dupKey.Key = a.Key
	if created, err = c.CreateIfAbsent(ctx, dupKey); !errors.Is(err, appmanager.ErrExists) || created {
		t.Errorf("CreateIfAbsent with a taken key = %v, %v; want false, ErrExists", created, err)
	}
	if _, err := m.FindByID(ctx, dupKey.ID); !errors.Is(err, appmanager.ErrNotFound) {
		t.Errorf("a refused CreateIfAbsent stored the app: FindByID = %v", err)
	}

	bad := MinimalApp("c-bad")
	bad.Secret = ""
	if _, err := c.CreateIfAbsent(ctx, bad); !errors.Is(err, appmanager.ErrInvalidApp) {
		t.Errorf("CreateIfAbsent with an empty secret = %v; want ErrInvalidApp", err)
	}

	// Concurrent starts seeding the same app: exactly one creates it.
	var wg sync.WaitGroup
	results := make(chan error, 4)
	var mu sync.Mutex
	n := 0
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := c.CreateIfAbsent(ctx, MinimalApp("c-race"))
			if ok {
				mu.Lock()
				n++
				mu.Unlock()
			}
			results <- err
		}()
	}
	wg.Wait()
	close(results)
	for err := range results {
		if err != nil {
			t.Errorf("concurrent CreateIfAbsent: %v", err)
		}
	}
	if n != 1 {
		t.Errorf("concurrent CreateIfAbsent of one app created it %d times; want 1", n)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.CreateIfAbsent(cctx, MinimalApp("c-cancelled")); err == nil {
		t.Error("CreateIfAbsent with a cancelled context returned no error")
	}
}

// AssertApp fails t unless got describes the same app as want, treating
// nil and empty slices, maps and filters alike. Driver tests use it to
// compare what they read back with what they stored.
func AssertApp(t testing.TB, got *appmanager.App, want appmanager.App) {
	t.Helper()
	assertEqual(t, "app "+want.ID, got, want)
}

// assertEqual fails t unless got describes the same app as want, treating
// nil and empty slices and maps alike.
func assertEqual(t testing.TB, what string, got *appmanager.App, want appmanager.App) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: got nil app", what)
	}
	g, w := normalize(*got), normalize(want)
	if !reflect.DeepEqual(g, w) {
		gj, _ := json.Marshal(g)
		wj, _ := json.Marshal(w)
		t.Fatalf("%s differs:\n got %s\nwant %s", what, gj, wj)
	}
}

func normalize(a appmanager.App) appmanager.App {
	c := *a.Clone()
	if len(c.AllowedOrigins) == 0 {
		c.AllowedOrigins = nil
	}
	if len(c.Webhooks) == 0 {
		c.Webhooks = nil
	}
	for i := range c.Webhooks {
		w := &c.Webhooks[i]
		if len(w.EventTypes) == 0 {
			w.EventTypes = nil
		}
		if len(w.Headers) == 0 {
			w.Headers = nil
		}
		if w.Filter != nil && *w.Filter == (appmanager.WebhookFilter{}) {
			w.Filter = nil
		}
	}
	return c
}

func describe(a *appmanager.App) string {
	if a == nil {
		return "<nil>"
	}
	return fmt.Sprintf("app %q", a.ID)
}

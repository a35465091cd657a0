package appmanager_test

import (
	"errors"
	"testing"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/appmanager/appmanagertest"
)

func TestRecordRoundTrip(t *testing.T) {
	for _, want := range []appmanager.App{appmanagertest.FullApp("f"), appmanagertest.MinimalApp("m")} {
		r, err := appmanager.NewRecord(&want)
		if err != nil {
			t.Fatal(err)
		}
		if r.MaxEventBatchSize != int64(want.MaxEventBatchSize) || r.EnableClientMessages != want.EnableClientMessages {
			t.Fatalf("flat columns not filled: %+v", r)
		}
		if (len(want.Webhooks) == 0) != (r.Webhooks == nil) || (len(want.AllowedOrigins) == 0) != (r.AllowedOrigins == nil) {
			t.Fatalf("webhooks/origins documents: %s %s", r.Webhooks, r.AllowedOrigins)
		}
		got, err := r.App()
		if err != nil {
			t.Fatal(err)
		}
		assertSameApp(t, got, &want)
		// Without the policy, the flat columns and documents carry the same app.
		r.Policy = nil
		got, err = r.App()
		if err != nil {
			t.Fatal(err)
		}
		flat := *want.Clone()
		flat.EnableSubscriptionCountEvents = false // no flat column for it
		assertSameApp(t, got, &flat)
	}
}

func TestRecordPolicyWins(t *testing.T) {
	r := appmanager.Record{ID: "i", Key: "k", Secret: "s", MaxConnections: 5, Webhooks: []byte(`[{"url":"https://flat.example"}]`),
		Policy: []byte(`{"limits":{"max_connections":9}}`)}
	a, err := r.App()
	if err != nil {
		t.Fatal(err)
	}
	if a.MaxConnections != 9 || a.Webhooks != nil {
		t.Fatalf("policy did not win: %+v", a)
	}
	for _, null := range [][]byte{nil, []byte(""), []byte(" null ")} {
		r.Policy = null
		a, err := r.App()
		if err != nil {
			t.Fatal(err)
		}
		if a.MaxConnections != 5 || len(a.Webhooks) != 1 {
			t.Fatalf("policy %q: flat columns not used: %+v", null, a)
		}
	}
}

func TestRecordMalformed(t *testing.T) {
	base := appmanager.Record{ID: "row", Key: "k", Secret: "s"}
	for _, c := range []struct {
		name   string
		mutate func(*appmanager.Record)
		field  string
	}{
		{"bad webhooks JSON", func(r *appmanager.Record) { r.Webhooks = []byte(`[{"url":`) }, "webhooks"},
		{"webhooks not an array", func(r *appmanager.Record) { r.Webhooks = []byte(`{"url":"x"}`) }, "webhooks"},
		{"bad origins", func(r *appmanager.Record) { r.AllowedOrigins = []byte(`"*"`) }, "allowed_origins"},
		{"bad policy", func(r *appmanager.Record) { r.Policy = []byte(`{`) }, "policy"},
		{"bad policy limit", func(r *appmanager.Record) { r.Policy = []byte(`{"limits":{"max_connections":-3}}`) }, "policy.limits.max_connections"},
		{"negative column", func(r *appmanager.Record) { r.MaxClientEventsPerSecond = -1 }, "max_client_events_per_second"},
		{"huge column", func(r *appmanager.Record) { r.MaxConnections = 1 << 40 }, "max_connections"},
		{"empty secret", func(r *appmanager.Record) { r.Secret = "" }, "secret"},
		{"webhook without target", func(r *appmanager.Record) { r.Webhooks = []byte(`[{}]`) }, "webhooks[0]"},
	} {
		r := base
		c.mutate(&r)
		_, err := r.App()
		var ie *appmanager.InvalidAppError
		if !errors.As(err, &ie) || ie.AppID != "row" || ie.Field != c.field {
			t.Errorf("%s: %v; want an InvalidAppError for app row, field %q", c.name, err, c.field)
		}
		if errors.Is(err, appmanager.ErrNotFound) {
			t.Errorf("%s: %v matches ErrNotFound", c.name, err)
		}
	}
}

func TestNewRecordValidates(t *testing.T) {
	if _, err := appmanager.NewRecord(&appmanager.App{ID: "x", Key: "k"}); !errors.Is(err, appmanager.ErrInvalidApp) {
		t.Fatalf("NewRecord(no secret) = %v; want ErrInvalidApp", err)
	}
}

func assertSameApp(t *testing.T, got, want *appmanager.App) {
	t.Helper()
	g, w := got.Clone(), want.Clone()
	for _, a := range []*appmanager.App{g, w} {
		if len(a.AllowedOrigins) == 0 {
			a.AllowedOrigins = nil
		}
		if len(a.Webhooks) == 0 {
			a.Webhooks = nil
		}
		for i := range a.Webhooks {
			if len(a.Webhooks[i].EventTypes) == 0 {
				a.Webhooks[i].EventTypes = nil
			}
		}
	}
	if gs, ws := mustJSON(t, g), mustJSON(t, w); gs != ws {
		t.Fatalf("got  %s\nwant %s", gs, ws)
	}
}

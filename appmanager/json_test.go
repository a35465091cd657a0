package appmanager_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/sockudo-go/sockudo/appmanager"
)

func TestUnmarshalFlatShape(t *testing.T) {
	const in = `{
		"id": "a1", "key": "k1", "secret": "s1", "enabled": true,
		"max_connections": "100", "max_backend_events_per_second": 2,
		"max_client_events_per_second": " 3 ", "max_read_requests_per_second": null,
		"max_presence_members_per_channel": 5, "max_presence_member_size_in_kb": "6",
		"max_channel_name_length": 7, "max_event_channels_at_once": 8,
		"max_event_name_length": 9, "max_event_payload_in_kb": 10, "max_event_batch_size": 11,
		"enable_client_messages": true, "enable_user_authentication": true,
		"enable_watchlist_events": true, "enable_subscription_count_events": true,
		"allowed_origins": ["https://a.example"],
		"webhooks": [{"url": "https://h.example", "event_types": ["channel_occupied"],
			"filter": {"channel_prefix": "p-", "channel_suffix": null}, "headers": {"X-A": "1"},
			"retry": {"max_attempts": 3}}],
		"unknown_field": {"ignored": true}
	}`
	var got appmanager.App
	if err := json.Unmarshal([]byte(in), &got); err != nil {
		t.Fatal(err)
	}
	want := appmanager.App{
		ID: "a1", Key: "k1", Secret: "s1", Enabled: true,
		MaxConnections: 100, MaxBackendEventsPerSecond: 2, MaxClientEventsPerSecond: 3,
		MaxPresenceMembersPerChannel: 5, MaxPresenceMemberSizeInKB: 6, MaxChannelNameLength: 7,
		MaxEventChannelsAtOnce: 8, MaxEventNameLength: 9, MaxEventPayloadInKB: 10, MaxEventBatchSize: 11,
		EnableClientMessages: true, EnableUserAuthentication: true, EnableWatchlistEvents: true,
		EnableSubscriptionCountEvents: true,
		AllowedOrigins:                []string{"https://a.example"},
		Webhooks: []appmanager.Webhook{{
			URL: "https://h.example", EventTypes: []string{"channel_occupied"},
			Filter: &appmanager.WebhookFilter{ChannelPrefix: "p-"}, Headers: map[string]string{"X-A": "1"},
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

func TestUnmarshalPolicyShapeWins(t *testing.T) {
	const in = `{
		"id": "a2", "key": "k2", "secret": "s2", "enabled": false,
		"max_connections": 999, "enable_client_messages": false, "webhooks": [{"url": "https://flat.example"}],
		"allowed_origins": ["https://flat.example"],
		"policy": {
			"limits": {"max_connections": "50", "max_client_events_per_second": 4, "max_event_batch_size": null,
				"max_event_payload_in_kb": 12, "decay_seconds": 3, "terminate_on_limit": true},
			"features": {"enable_client_messages": true, "enable_user_authentication": null, "enable_watchlist_events": true},
			"channels": {"allowed_origins": ["https://policy.example"], "channel_namespaces": []},
			"webhooks": [{"lambda_function": "fn", "event_types": []}],
			"idempotency": {"enabled": true}
		}
	}`
	var got appmanager.App
	if err := json.Unmarshal([]byte(in), &got); err != nil {
		t.Fatal(err)
	}
	want := appmanager.App{
		ID: "a2", Key: "k2", Secret: "s2",
		MaxConnections: 50, MaxClientEventsPerSecond: 4, MaxEventPayloadInKB: 12,
		EnableClientMessages: true, EnableWatchlistEvents: true,
		AllowedOrigins: []string{"https://policy.example"},
		Webhooks:       []appmanager.Webhook{{LambdaFunction: "fn", EventTypes: []string{}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

func TestUnmarshalNullPolicyUsesFlatShape(t *testing.T) {
	var got appmanager.App
	if err := json.Unmarshal([]byte(`{"id":"a","key":"k","secret":"s","policy":null,"max_connections":3}`), &got); err != nil {
		t.Fatal(err)
	}
	if got.MaxConnections != 3 {
		t.Fatalf("MaxConnections = %d; want 3 from the flat shape", got.MaxConnections)
	}
}

func TestUnmarshalMalformed(t *testing.T) {
	for _, c := range []struct {
		in, field string
	}{
		{`{"id":"x","max_connections":"abc"}`, "max_connections"},
		{`{"id":"x","max_connections":-1}`, "max_connections"},
		{`{"id":"x","max_client_events_per_second":"-5"}`, "max_client_events_per_second"},
		{`{"id":"x","max_event_batch_size":1.5}`, "max_event_batch_size"},
		{`{"id":"x","max_event_batch_size":""}`, "max_event_batch_size"},
		{`{"id":"x","max_connections":4294967296}`, "max_connections"},
		{`{"id":"x","max_connections":2147483648}`, "max_connections"},
		{`{"id":"x","max_connections":99999999999999999999999}`, "max_connections"},
		{`{"id":"x","max_connections":true}`, "max_connections"},
		{`{"id":"x","policy":{"limits":{"max_connections":"many"}}}`, "policy.limits.max_connections"},
		{`{"id":"x","policy":{"features":{"enable_client_messages":"yes"}}}`, "policy.features.enable_client_messages"},
		{`{"id":"x","enabled":"true"}`, "enabled"},
		{`{"id":"x","webhooks":{"url":"u"}}`, "webhooks"},
		{`{"id":"x","webhooks":[{"url":"u","headers":{"A":1}}]}`, "webhooks.headers"},
		{`{"id":"x","allowed_origins":"*"}`, "allowed_origins"},
	} {
		var a appmanager.App
		err := json.Unmarshal([]byte(c.in), &a)
		var ie *appmanager.InvalidAppError
		if !errors.As(err, &ie) {
			t.Errorf("%s: error %v is not an *InvalidAppError", c.in, err)
			continue
		}
		if ie.AppID != "x" || !strings.HasPrefix(ie.Field, c.field) {
			t.Errorf("%s: error names app %q field %q; want app \"x\" field %q (%v)", c.in, ie.AppID, ie.Field, c.field, err)
		}
		if !errors.Is(err, appmanager.ErrInvalidApp) || errors.Is(err, appmanager.ErrNotFound) {
			t.Errorf("%s: %v should match ErrInvalidApp and not ErrNotFound", c.in, err)
		}
		if !strings.Contains(err.Error(), `"x"`) || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: message %q does not name the app and the field", c.in, err)
		}
	}
}

func TestUnmarshalSyntaxError(t *testing.T) {
	var a appmanager.App
	if err := json.Unmarshal([]byte(`{"id":`), &a); err == nil {
		t.Fatal("no error for truncated JSON")
	}
}

func TestMarshalIsFlatAndRoundTrips(t *testing.T) {
	a := appmanager.App{
		ID: "id", Key: "key", Secret: "secret", Enabled: true, MaxConnections: 10,
		EnableSubscriptionCountEvents: true,
		Webhooks:                      []appmanager.Webhook{{URL: "https://h.example"}},
	}
	data, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m["policy"]; ok {
		t.Fatalf("Marshal wrote a policy: %s", data)
	}
	if m["max_connections"] != float64(10) {
		t.Fatalf("Marshal is not flat: %s", data)
	}
	if !strings.Contains(string(data), `"event_types":[]`) {
		t.Fatalf("webhook without event types must encode \"event_types\":[] for Sockudo: %s", data)
	}
	var back appmanager.App
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	a.Webhooks[0].EventTypes = []string{}
	if !reflect.DeepEqual(back, a) {
		t.Fatalf("round trip: got %+v want %+v", back, a)
	}
}

func TestPolicyRoundTrip(t *testing.T) {
	a := appmanager.App{
		ID: "p", Key: "k", Secret: "s", MaxConnections: 1, MaxBackendEventsPerSecond: 2,
		MaxClientEventsPerSecond: 3, MaxReadRequestsPerSecond: 4, MaxPresenceMembersPerChannel: 5,
		MaxPresenceMemberSizeInKB: 6, MaxChannelNameLength: 7, MaxEventChannelsAtOnce: 8,
		MaxEventNameLength: 9, MaxEventPayloadInKB: 10, MaxEventBatchSize: 11,
		EnableClientMessages: true, EnableUserAuthentication: true, EnableWatchlistEvents: true,
		EnableSubscriptionCountEvents: true,
		AllowedOrigins:                []string{"o"},
		Webhooks:                      []appmanager.Webhook{{URL: "u", EventTypes: []string{"e"}, Filter: &appmanager.WebhookFilter{ChannelPattern: "^x"}, Headers: map[string]string{"h": "v"}}},
	}
	data, err := a.MarshalPolicy()
	if err != nil {
		t.Fatal(err)
	}
	back := appmanager.App{ID: "p", Key: "k", Secret: "s"}
	if err := back.UnmarshalPolicy(data); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, a) {
		t.Fatalf("policy round trip:\n got %+v\nwant %+v\n(%s)", back, a, data)
	}
	// An app JSON with this policy decodes to the same app.
	var viaApp appmanager.App
	if err := json.Unmarshal([]byte(`{"id":"p","key":"k","secret":"s","policy":`+string(data)+`}`), &viaApp); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(viaApp, a) {
		t.Fatalf("app with policy: got %+v want %+v", viaApp, a)
	}
	// Zero optional limits are left out (Sockudo reads them as unset).
	zero, _ := (&appmanager.App{ID: "z"}).MarshalPolicy()
	if strings.Contains(string(zero), "max_event_batch_size") || !strings.Contains(string(zero), `"max_connections":0`) {
		t.Fatalf("zero policy = %s", zero)
	}
}

func TestUnmarshalPolicyError(t *testing.T) {
	a := appmanager.App{ID: "bad"}
	err := a.UnmarshalPolicy([]byte(`{"limits":`))
	var ie *appmanager.InvalidAppError
	if !errors.As(err, &ie) || ie.AppID != "bad" || ie.Field != "policy" {
		t.Fatalf("UnmarshalPolicy(truncated) = %v; want an InvalidAppError for app bad, field policy", err)
	}
	err = a.UnmarshalPolicy([]byte(`{"webhooks":[{"url":1}]}`))
	if !errors.As(err, &ie) || ie.Field != "policy.webhooks.url" {
		t.Fatalf("UnmarshalPolicy(bad url) = %v; want field policy.webhooks.url", err)
	}
}

func TestValidate(t *testing.T) {
	ok := appmanager.App{ID: "i", Key: "k", Secret: "s", Webhooks: []appmanager.Webhook{{URL: "https://hooks.example.com/p?token=t0k3n"}}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		mutate func(*appmanager.App)
		field  string
	}{
		{func(a *appmanager.App) { a.ID = "" }, "id"},
		{func(a *appmanager.App) { a.Key = "" }, "key"},
		{func(a *appmanager.App) { a.Secret = "" }, "secret"},
		{func(a *appmanager.App) { a.ID = strings.Repeat("i", appmanager.MaxIDLength+1) }, "id"},
		{func(a *appmanager.App) { a.Key = strings.Repeat("k", appmanager.MaxIDLength+1) }, "key"},
		{func(a *appmanager.App) { a.MaxEventBatchSize = -1 }, "max_event_batch_size"},
		{func(a *appmanager.App) { a.MaxConnections = appmanager.MaxLimit + 1 }, "max_connections"},
		{func(a *appmanager.App) { a.Webhooks = append(a.Webhooks, appmanager.Webhook{}) }, "webhooks[1]"},
		{func(a *appmanager.App) { a.Webhooks[0].URL = "https://user:pa ss@hooks.example.com/?token=t0k3n" }, "webhooks[0].url"},
		{func(a *appmanager.App) { a.Webhooks[0].URL = "ftp://hooks.example.com/?token=t0k3n" }, "webhooks[0].url"},
		{func(a *appmanager.App) { a.Webhooks[0].URL = "/hook?token=t0k3n" }, "webhooks[0].url"},
	} {
		a := *ok.Clone()
		c.mutate(&a)
		err := a.Validate()
		var ie *appmanager.InvalidAppError
		if !errors.As(err, &ie) || ie.Field != c.field || !errors.Is(err, appmanager.ErrInvalidApp) {
			t.Errorf("Validate = %v; want an InvalidAppError for field %q", err, c.field)
		}
		if err != nil && strings.Contains(err.Error(), "t0k3n") {
			t.Errorf("Validate = %v; the error quotes the webhook URL", err)
		}
	}
}

// The server's own per-socket caps travel in both shapes and, through the
// policy document, in a Record, which has no column for them.
func TestSocketCapsRoundTrip(t *testing.T) {
	a := appmanager.App{ID: "i", Key: "k", Secret: "s", MaxChannelsPerConnection: 7, MaxSubscriptionsPerSecond: 3}
	for name, doc := range map[string]string{
		"flat":   `{"id":"i","key":"k","secret":"s","max_channels_per_connection":7,"max_subscriptions_per_second":"3"}`,
		"policy": `{"id":"i","key":"k","secret":"s","policy":{"limits":{"max_channels_per_connection":7,"max_subscriptions_per_second":3}}}`,
	} {
		var got appmanager.App
		if err := json.Unmarshal([]byte(doc), &got); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.MaxChannelsPerConnection != 7 || got.MaxSubscriptionsPerSecond != 3 {
			t.Errorf("%s shape: caps %d, %d; want 7, 3", name, got.MaxChannelsPerConnection, got.MaxSubscriptionsPerSecond)
		}
	}
	r, err := appmanager.NewRecord(&a)
	if err != nil {
		t.Fatal(err)
	}
	back, err := r.App()
	if err != nil {
		t.Fatal(err)
	}
	if back.MaxChannelsPerConnection != 7 || back.MaxSubscriptionsPerSecond != 3 {
		t.Errorf("through a Record: caps %d, %d; want 7, 3", back.MaxChannelsPerConnection, back.MaxSubscriptionsPerSecond)
	}
	a.MaxChannelsPerConnection = -1
	if err := a.Validate(); err == nil || !strings.Contains(err.Error(), "max_channels_per_connection") {
		t.Errorf("Validate(-1) = %v; want an error naming max_channels_per_connection", err)
	}
}

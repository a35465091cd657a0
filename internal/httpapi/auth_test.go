package httpapi

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockudo-go/sockudo/internal/hub"
	"github.com/sockudo-go/sockudo/internal/testenv"
)

// TestDocumentedVectors replays the signed requests of
// pusher-protocol.md §11.8 byte for byte.
func TestDocumentedVectors(t *testing.T) {
	h, fh := newTestHandler(t, nil)
	const q = "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0"

	body := `{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}`
	r := httptest.NewRequest("POST", "/apps/3/events?"+q+
		"&body_md5=ec365a775a4cd0599faeb73354201b6f"+
		"&auth_signature=da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c", strings.NewReader(body))
	wantJSON(t, serve(t, h, r), `{}`)
	want := []hub.PublishRequest{{Name: "foo", Channels: []string{"project-3"}, Data: `{"some":"data"}`}}
	if got := fh.Published(); !reflect.DeepEqual(got, want) {
		t.Errorf("published %+v, want %+v", got, want)
	}

	r = httptest.NewRequest("GET", "/apps/3/channels?"+q+"&filter_by_prefix=presence-&info=user_count"+
		"&auth_signature=16819168891cb5dfd72b5c7a5d3d602605b26c6ba1930033b5e2eeeb65010291", nil)
	wantJSON(t, serve(t, h, r), `{"channels":{"presence-lobby":{"user_count":1},"presence-room":{"user_count":3}}}`)

	r = httptest.NewRequest("POST", "/apps/3/users/u1/terminate_connections?"+q+
		"&body_md5=99914b932bd37a50b983c5e7c90ae93b"+
		"&auth_signature=61efad5e9fe693a686a71ff197d9770bd2c257d87ce961f4efda2dae952c4345", strings.NewReader(`{}`))
	wantJSON(t, serve(t, h, r), `{}`)
	if got := fh.Terminated(); !reflect.DeepEqual(got, []string{"3/u1"}) {
		t.Errorf("terminated %v, want [3/u1]", got)
	}
}

func TestAuthFailures(t *testing.T) {
	body := []byte(`{"name":"e","channel":"my-channel","data":"x"}`)
	const path = "/apps/3/events"
	// withQuery returns a POST of body to path with the raw query q.
	withQuery := func(q string) *http.Request {
		return httptest.NewRequest("POST", path+"?"+q, strings.NewReader(string(body)))
	}
	// edit signs a request, lets fn change its parameters, and re-encodes
	// them without re-signing.
	edit := func(fn func(q url.Values)) *http.Request {
		q, _ := url.ParseQuery(signQuery(docCreds, "POST", path, nil, body))
		fn(q)
		return withQuery(q.Encode())
	}
	tests := []struct {
		name   string
		req    *http.Request
		status int
		code   string
		msg    string
	}{
		{"no query", withQuery(""), 401, "auth_failed", "missing auth_key"},
		{"missing auth_signature", edit(func(q url.Values) { q.Del("auth_signature") }), 401, "auth_failed", "missing auth_signature"},
		{"bad signature", edit(func(q url.Values) {
			s := []byte(q.Get("auth_signature"))
			s[0] ^= 1
			q.Set("auth_signature", string(s))
		}), 401, "auth_failed", "invalid auth_signature"},
		{"empty signature", edit(func(q url.Values) { q.Set("auth_signature", "") }), 401, "auth_failed", "invalid auth_signature"},
		{"missing auth_key", edit(func(q url.Values) { q.Del("auth_key") }), 401, "auth_failed", "missing auth_key"},
		{"unknown auth_key", signed(creds{"nope", testSecret, testTime}, "POST", path, nil, body), 401, "auth_failed", `auth_key does not belong to app "3"`},
		{"key of another app", signed(creds{"other-key", "other-secret", testTime}, "POST", path, nil, body), 401, "auth_failed", `auth_key does not belong to app "3"`},
		{"missing auth_version", edit(func(q url.Values) { q.Del("auth_version") }), 401, "auth_failed", "missing auth_version"},
		{"wrong auth_version", edit(func(q url.Values) { q.Set("auth_version", "2.0") }), 401, "auth_failed", `unsupported auth_version "2.0"`},
		{"missing auth_timestamp", edit(func(q url.Values) { q.Del("auth_timestamp") }), 401, "auth_failed", "missing auth_timestamp"},
		{"bad auth_timestamp", edit(func(q url.Values) { q.Set("auth_timestamp", "yesterday") }), 401, "auth_failed", "not a Unix time"},
		{"tampered auth_timestamp", edit(func(q url.Values) { q.Set("auth_timestamp", "1353088180") }), 401, "auth_failed", "invalid auth_signature"},
		{"stale timestamp (replay)", signed(creds{testKey, testSecret, testTime - 601}, "POST", path, nil, body), 401, "auth_failed", "more than 600 s away"},
		{"future timestamp", signed(creds{testKey, testSecret, testTime + 601}, "POST", path, nil, body), 401, "auth_failed", "more than 600 s away"},
		{"tampered body with the original body_md5", func() *http.Request {
			q := signQuery(docCreds, "POST", path, nil, body)
			return httptest.NewRequest("POST", path+"?"+q, strings.NewReader(strings.Replace(string(body), `"x"`, `"y"`, 1)))
		}(), 401, "auth_failed", "body_md5 does not match"},
		{"missing body_md5 with a body", func() *http.Request {
			q := signQuery(docCreds, "POST", path, nil, nil) // signed without a body
			return withQuery(q)
		}(), 401, "auth_failed", "missing body_md5"},
		{"body_md5 of another body, no body", func() *http.Request {
			q := signQuery(docCreds, "POST", path, nil, body)
			return httptest.NewRequest("POST", path+"?"+q, nil)
		}(), 401, "auth_failed", "body_md5 does not match"},
		{"signed over another path", signedOver(docCreds, "POST", path, "/apps/3/batch_events", nil, body), 401, "auth_failed", "invalid auth_signature"},
		{"GET signed as a POST", func() *http.Request {
			q := signQuery(docCreds, "POST", "/apps/3/channels", nil, nil)
			return httptest.NewRequest("GET", "/apps/3/channels?"+q, nil)
		}(), 401, "auth_failed", "invalid auth_signature"},
		{"duplicate parameter", edit(func(q url.Values) { q.Add("AUTH_KEY", testKey) }), 400, "invalid_input", `"auth_key" is given more than once`},
		{"malformed query", withQuery("auth_key=%zz"), 400, "invalid_input", "malformed query string"},
		{"newline in path", signed(docCreds, "GET", "/apps/3/channels/a%0Ab", nil, nil), 400, "invalid_input", "the path holds a newline"},
		{"unknown app", signed(docCreds, "POST", "/apps/9/events", nil, body), 401, "auth_failed", `auth_key does not belong to app "9"`},
		{"disabled app", signed(creds{"off-key", "off-secret", testTime}, "POST", "/apps/off/events", nil, body), 403, "forbidden", `app "off" is disabled`},
		{"disabled app, bad signature", signed(creds{"off-key", "wrong", testTime}, "POST", "/apps/off/events", nil, body), 401, "auth_failed", "invalid auth_signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, fh := newTestHandler(t, nil)
			res := serve(t, h, tt.req)
			wantError(t, res, tt.status, tt.code, tt.msg)
			if n := len(fh.Published()); n != 0 {
				t.Errorf("published %d events on a rejected request", n)
			}
		})
	}
}

// Without valid credentials an unknown app id gets exactly the answer a
// known one gets, so ids cannot be enumerated.
func TestUnknownAndKnownAppIDsAnswerAlike(t *testing.T) {
	h, _ := newTestHandler(t, nil)
	guess := creds{"guessed-key", "guessed-secret", testTime}
	for _, method := range []string{"GET", "POST"} {
		var bodies []string
		for _, id := range []string{testAppID, "no-such-app"} {
			path := "/apps/" + id + "/channels"
			if method == "POST" {
				path = "/apps/" + id + "/events"
			}
			res := serve(t, h, signed(guess, method, path, nil, []byte(`{}`)))
			bodies = append(bodies, strconv.Itoa(res.status)+" "+strings.ReplaceAll(res.body, id, "ID"))
		}
		if bodies[0] != bodies[1] {
			t.Errorf("%s: known app answered %s, unknown app %s", method, bodies[0], bodies[1])
		}
	}
}

func TestAuthErrorDoesNotRevealSignature(t *testing.T) {
	h, _ := newTestHandler(t, nil)
	path := "/apps/3/channels"
	good, _ := url.ParseQuery(signQuery(docCreds, "GET", path, nil, nil))
	want := good.Get("auth_signature")
	good.Set("auth_signature", strings.Repeat("0", 64))
	res := serve(t, h, httptest.NewRequest("GET", path+"?"+good.Encode(), nil))
	wantError(t, res, 401, "auth_failed", `GET\n/apps/3/channels\nauth_key=`)
	if strings.Contains(res.body, want) {
		t.Errorf("error body %s reveals the expected signature", res.body)
	}
}

func TestAppManagerFailure(t *testing.T) {
	var logs testenv.LogBuffer
	h, _ := newTestHandler(t, func(c *Config) {
		c.Apps = failingApps{}
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	res := serve(t, h, signed(docCreds, "GET", "/apps/3/channels", nil, nil))
	wantError(t, res, 503, "service_unavailable", "app manager unavailable")
	if want := `level=WARN msg="httpapi: backend unavailable" app_id=3 path=/apps/3/channels error="connection refused"`; !strings.Contains(logs.String(), want) {
		t.Errorf("log %q, want %q", logs.String(), want)
	}
	if got := res.header.Get("Retry-After"); got == "" {
		t.Error("503 without Retry-After")
	}
}

// While the app store is down, a flood of requests writes a bounded number
// of lines, and the next line let through says how many were held back.
func TestBackendFailureLogIsThrottled(t *testing.T) {
	var logs testenv.LogBuffer
	h, _ := newTestHandler(t, func(c *Config) {
		c.Apps = failingApps{}
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	for range 500 {
		serve(t, h, signed(docCreds, "GET", "/apps/3/channels", nil, nil))
	}
	if n := strings.Count(logs.String(), "backend unavailable"); n < 1 || n > 20 {
		t.Fatalf("500 failing requests wrote %d log lines; want 1 to 20", n)
	}
	if !strings.Contains(logs.String(), "suppressed=0") {
		t.Errorf("log lines carry no suppressed count: %s", logs.String())
	}
}

func TestTimestampWindow(t *testing.T) {
	for _, tt := range []struct {
		name string
		skew time.Duration
		ts   int64
		ok   bool
	}{
		{"600 s old", testSkew, testTime - 600, true},
		{"600 s ahead", testSkew, testTime + 600, true},
		{"601 s old", testSkew, testTime - 601, false},
		{"custom skew", 30 * time.Second, testTime - 31, false},
		{"custom skew within", 30 * time.Second, testTime + 30, true},
		{"check off", -1, 1, true},
		{"huge", testSkew, 1<<63 - 1, false},
		{"very negative", testSkew, -1 << 63, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := newTestHandler(t, func(c *Config) { c.TimestampSkew = tt.skew })
			res := serve(t, h, signed(creds{testKey, testSecret, tt.ts}, "GET", "/apps/3/channels", nil, nil))
			if tt.ok {
				wantJSON(t, res, `{"channels":{"cache-news":{},"foo@bar,baz;x=y":{},"my-channel":{},"other-channel":{},"presence-lobby":{},"presence-room":{}}}`)
			} else {
				wantError(t, res, 401, "auth_failed", "auth_timestamp")
			}
		})
	}
}

// TestSignedPathForms checks that a path with escapes verifies when signed
// as sent or percent-decoded, and not otherwise.
func TestSignedPathForms(t *testing.T) {
	const sent = "/apps/3/channels/foo%40bar%2Cbaz%3Bx%3Dy"
	const decoded = "/apps/3/channels/foo@bar,baz;x=y"
	for _, tt := range []struct {
		name, path, signPath string
		ok                   bool
	}{
		{"signed as sent", sent, sent, true},
		{"signed decoded", sent, decoded, true},
		{"unescaped request", decoded, decoded, true},
		{"signed over another channel", sent, "/apps/3/channels/foo@bar", false},
		{"signed double-encoded", sent, "/apps/3/channels/foo%2540bar%252Cbaz%253Bx%253Dy", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, fh := newTestHandler(t, nil)
			res := serve(t, h, signedOver(docCreds, "GET", tt.path, tt.signPath, nil, nil))
			if !tt.ok {
				wantError(t, res, 401, "auth_failed", "invalid auth_signature")
				return
			}
			wantJSON(t, res, `{"occupied":true}`)
			if got, want := fh.Calls(), []string{`Channel "foo@bar,baz;x=y" 0`}; !reflect.DeepEqual(got, want) {
				t.Errorf("hub calls %q, want %q", got, want)
			}
		})
	}
}

// TestQueryKeyCase checks that parameter names are matched and signed
// lower-cased, as the signing rules say.
func TestQueryKeyCase(t *testing.T) {
	h, _ := newTestHandler(t, nil)
	path := "/apps/3/channels"
	q, _ := url.ParseQuery(signQuery(docCreds, "GET", path, url.Values{"filter_by_prefix": {"presence-"}}, nil))
	upper := url.Values{}
	for k, v := range q {
		upper[strings.ToUpper(k)] = v
	}
	res := serve(t, h, httptest.NewRequest("GET", path+"?"+upper.Encode(), nil))
	wantJSON(t, res, `{"channels":{"presence-lobby":{},"presence-room":{}}}`)
}

func TestParseQuery(t *testing.T) {
	for _, tt := range []struct {
		raw  string
		want url.Values
		err  string
	}{
		{"", url.Values{}, ""},
		{"a=1&B=2", url.Values{"a": {"1"}, "b": {"2"}}, ""},
		{"a=x;y&&c", url.Values{"a": {"x;y"}, "c": {""}}, ""},
		{"a=%41+b", url.Values{"a": {"A b"}}, ""},
		{"a=1&A=2", nil, "given more than once"},
		{"a%3Db=1", nil, "holds '&' or '='"},
		{"a%26b=1", nil, "holds '&' or '='"},
		{"a=1%262", nil, "holds '&' in its value"},
		{"a=1%3D2", url.Values{"a": {"1=2"}}, ""},
		{"a=%", nil, "malformed"},
		{"%g=1", nil, "malformed"},
	} {
		got, err := parseQuery(tt.raw)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseQuery(%q) error %v, want %q", tt.raw, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseQuery(%q) = %v, %v; want %v", tt.raw, got, err, tt.want)
		}
	}
}

func TestNewValidatesConfig(t *testing.T) {
	fh := newFakeHub()
	apps := failingApps{}
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{Hub: fh}, "Config.Apps"},
		{Config{Apps: apps}, "Config.Hub"},
		{Config{Apps: apps, Hub: fh, TimestampSkew: time.Second}, "Config.Logger"},
		{Config{Apps: apps, Hub: fh, Logger: slog.Default(), MaxBodyBytes: -1, TimestampSkew: time.Second}, "Config.MaxBodyBytes"},
		{Config{Apps: apps, Hub: fh, Logger: slog.Default(), MaxBodyBytes: 1024}, "Config.BodyReadTimeout"},
		{Config{Apps: apps, Hub: fh, Logger: slog.Default(), MaxBodyBytes: 1024, BodyReadTimeout: time.Second}, "Config.TimestampSkew"},
	} {
		if _, err := New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%+v) error %v, want one naming %s", tt.cfg, err, tt.want)
		}
	}
}

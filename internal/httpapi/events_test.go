package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/sockudo-go/sockudo/internal/apierr"
	"github.com/sockudo-go/sockudo/internal/hub"
	"github.com/sockudo-go/sockudo/internal/testenv"
)

func TestPublish(t *testing.T) {
	for _, tt := range []struct {
		name string
		body string
		want hub.PublishRequest
		resp string
	}{
		{"one channel", `{"name":"e","channel":"my-channel","data":"{\"k\":1}"}`,
			hub.PublishRequest{Name: "e", Channels: []string{"my-channel"}, Data: `{"k":1}`}, `{}`},
		{"channels", `{"name":"e","channels":["a","b"],"data":"x"}`,
			hub.PublishRequest{Name: "e", Channels: []string{"a", "b"}, Data: "x"}, `{}`},
		{"socket_id", `{"name":"e","channel":"a","data":"x","socket_id":"123.456"}`,
			hub.PublishRequest{Name: "e", Channels: []string{"a"}, Data: "x", SocketID: "123.456"}, `{}`},
		{"object data", `{"name":"e","channel":"a","data": { "k" : [1, 2] } }`,
			hub.PublishRequest{Name: "e", Channels: []string{"a"}, Data: `{"k":[1,2]}`}, `{}`},
		{"number data", `{"name":"e","channel":"a","data":42}`,
			hub.PublishRequest{Name: "e", Channels: []string{"a"}, Data: `42`}, `{}`},
		{"null data", `{"name":"e","channel":"a","data":null}`,
			hub.PublishRequest{Name: "e", Channels: []string{"a"}, Data: `null`}, `{}`},
		{"empty string data", `{"name":"e","channel":"a","data":""}`,
			hub.PublishRequest{Name: "e", Channels: []string{"a"}, Data: ``}, `{}`},
		{"unknown fields ignored", `{"name":"e","channel":"a","data":"x","tags":{"a":1},"idempotency_key":"k"}`,
			hub.PublishRequest{Name: "e", Channels: []string{"a"}, Data: "x"}, `{}`},
		{"server to user", `{"name":"e","channels":["#server-to-user-u1"],"data":"x"}`,
			hub.PublishRequest{Name: "e", Channels: []string{"#server-to-user-u1"}, Data: "x"}, `{}`},
		{"info", `{"name":"e","channels":["presence-room","my-channel"],"data":"x","info":"user_count,subscription_count"}`,
			hub.PublishRequest{Name: "e", Channels: []string{"presence-room", "my-channel"}, Data: "x", Info: hub.InfoUserCount | hub.InfoSubscriptionCount},
			`{"channels":{"presence-room":{"user_count":3,"subscription_count":4},"my-channel":{"subscription_count":3}}}`},
		{"info user_count on public", `{"name":"e","channel":"my-channel","data":"x","info":"user_count"}`,
			hub.PublishRequest{Name: "e", Channels: []string{"my-channel"}, Data: "x", Info: hub.InfoUserCount},
			`{"channels":{"my-channel":{}}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, fh := newTestHandler(t, nil)
			res := serve(t, h, signed(docCreds, "POST", "/apps/3/events", nil, []byte(tt.body)))
			wantJSON(t, res, tt.resp)
			if got := fh.Published(); !reflect.DeepEqual(got, []hub.PublishRequest{tt.want}) {
				t.Errorf("published %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPublishErrors(t *testing.T) {
	many := `"c0"` + strings.Repeat(`,"c"`, 100)
	for _, tt := range []struct {
		name   string
		app    string // default "3"
		body   string
		status int
		code   string
		msg    string
	}{
		{"malformed JSON", "", `{"name":`, 400, "invalid_input", "malformed JSON body"},
		{"not an object", "", `[1,2]`, 400, "invalid_input", "malformed JSON body"},
		{"trailing garbage", "", `{"name":"e","channel":"a","data":"x"} x`, 400, "invalid_input", "malformed JSON body"},
		{"wrong type", "", `{"name":"e","channels":"a","data":"x"}`, 400, "invalid_input", "malformed JSON body"},
		{"no body", "", ``, 400, "invalid_input", "missing JSON body"},
		{"missing name", "", `{"channel":"a","data":"x"}`, 400, "invalid_input", "missing name"},
		{"missing data", "", `{"name":"e","channel":"a"}`, 400, "invalid_input", "missing data"},
		{"missing channel", "", `{"name":"e","data":"x"}`, 400, "invalid_input", "missing channel"},
		{"empty channels", "", `{"name":"e","channels":[],"data":"x"}`, 400, "invalid_input", "channels is empty"},
		{"channel and channels", "", `{"name":"e","channel":"a","channels":["b"],"data":"x"}`, 400, "invalid_input", "not both"},
		{"too many channels", "", `{"name":"e","channels":[` + many + `],"data":"x"}`, 400, "limit_exceeded", "101 channels given, at most 100"},
		{"too many channels for the app", "small", `{"name":"e","channels":["a","b","c"],"data":"x"}`, 400, "limit_exceeded", "at most 2 are allowed"},
		{"bad socket_id letters", "", `{"name":"e","channel":"a","data":"x","socket_id":"a.b"}`, 400, "invalid_input", "socket_id"},
		{"bad socket_id no dot", "", `{"name":"e","channel":"a","data":"x","socket_id":"123"}`, 400, "invalid_input", "socket_id"},
		{"bad socket_id trailing dot", "", `{"name":"e","channel":"a","data":"x","socket_id":"123."}`, 400, "invalid_input", "socket_id"},
		{"bad socket_id leading dot", "", `{"name":"e","channel":"a","data":"x","socket_id":".123"}`, 400, "invalid_input", "socket_id"},
		{"bad socket_id two dots", "", `{"name":"e","channel":"a","data":"x","socket_id":"1.2.3"}`, 400, "invalid_input", "socket_id"},
		{"unknown info", "", `{"name":"e","channel":"a","data":"x","info":"members"}`, 400, "invalid_input", "unknown info attribute"},
		{"info cache", "", `{"name":"e","channel":"a","data":"x","info":"cache"}`, 400, "invalid_input", "cache is not available"},
		{"long event name", "", `{"name":"` + strings.Repeat("e", 201) + `","channel":"a","data":"x"}`, 400, "invalid_input", "event name is longer than 200"},
		{"empty event name", "", `{"name":"","channel":"a","data":"x"}`, 400, "invalid_input", "missing name"},
		{"empty channel", "", `{"name":"e","channel":"","data":"x"}`, 400, "invalid_input", "missing channel"},
		{"empty channel in channels", "", `{"name":"e","channels":["a",""],"data":"x"}`, 400, "invalid_input", "invalid channel name: empty"},
		{"long channel name", "", `{"name":"e","channel":"` + strings.Repeat("c", 201) + `","data":"x"}`, 400, "invalid_input", "longer than 200"},
		{"long channel name for the app", "small", `{"name":"e","channel":"` + strings.Repeat("c", 21) + `","data":"x"}`, 400, "invalid_input", "longer than 20"},
		{"bad channel name", "", `{"name":"e","channel":"foo bar","data":"x"}`, 400, "invalid_input", "invalid channel name"},
		{"one bad channel of many", "", `{"name":"e","channels":["ok","b/d"],"data":"x"}`, 400, "invalid_input", "invalid channel name"},
		{"data too large", "", `{"name":"e","channel":"a","data":"` + strings.Repeat("x", 10*1024+1) + `"}`, 413, "payload_too_large", "more than the limit of 10240"},
		{"data too large for the app", "small", `{"name":"e","channel":"a","data":"` + strings.Repeat("x", 1025) + `"}`, 413, "payload_too_large", "more than the limit of 1024"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, fh := newTestHandler(t, nil)
			c, path := docCreds, "/apps/3/events"
			if tt.app == "small" {
				c, path = creds{"small-key", "small-secret", testTime}, "/apps/small/events"
			}
			res := serve(t, h, signed(c, "POST", path, nil, []byte(tt.body)))
			wantError(t, res, tt.status, tt.code, tt.msg)
			if n := len(fh.Published()); n != 0 {
				t.Errorf("published %d events on a rejected request", n)
			}
		})
	}
	// The largest allowed data passes.
	h, fh := newTestHandler(t, nil)
	body := `{"name":"e","channel":"a","data":"` + strings.Repeat("x", 10*1024) + `"}`
	wantJSON(t, serve(t, h, signed(docCreds, "POST", "/apps/3/events", nil, []byte(body))), `{}`)
	if n := len(fh.Published()); n != 1 {
		t.Errorf("published %d events, want 1", n)
	}
}

func TestBodyLimit(t *testing.T) {
	h, fh := newTestHandler(t, func(c *Config) { c.MaxBodyBytes = 100 })
	fits := []byte(`{"name":"e","channel":"a","data":"` + strings.Repeat("x", 100-36) + `"}`)
	if len(fits) != 100 {
		t.Fatalf("test body has %d bytes", len(fits))
	}
	big := append(fits[:len(fits)-2:len(fits)-2], `x"}`...)

	wantJSON(t, serve(t, h, signed(docCreds, "POST", "/apps/3/events", nil, fits)), `{}`)

	// Declared too large: refused before reading.
	res := serve(t, h, signed(docCreds, "POST", "/apps/3/events", nil, big))
	wantError(t, res, 413, "payload_too_large", "larger than 100 bytes")

	// Unknown length (chunked): refused while reading.
	r := signed(docCreds, "POST", "/apps/3/events", nil, big)
	r.ContentLength = -1
	r.Body = io.NopCloser(struct{ io.Reader }{bytes.NewReader(big)})
	wantError(t, serve(t, h, r), 413, "payload_too_large", "larger than 100 bytes")

	if n := len(fh.Published()); n != 1 {
		t.Errorf("published %d events, want 1", n)
	}
}

func TestHubErrors(t *testing.T) {
	body := []byte(`{"name":"e","channel":"a","data":"x"}`)
	for _, tt := range []struct {
		name       string
		err        error
		status     int
		code, msg  string
		retryAfter bool
		log        string // "" means nothing is logged
	}{
		{"rate limited", apierr.New(429, apierr.CodeRateLimited, "over the events quota"), 429, "rate_limited", "over the events quota", true, ""},
		{"unavailable", fmt.Errorf("cluster: %w", apierr.New(503, apierr.CodeUnavailable, "backend down")), 503, "service_unavailable", "backend down", true, "level=WARN msg=\"httpapi: backend unavailable\" app_id=3"},
		{"forbidden", apierr.New(403, apierr.CodeForbidden, "quota"), 403, "forbidden", "quota", false, ""},
		{"internal", errors.New("secret detail"), 500, "internal_error", "internal error", false, "level=ERROR msg=\"httpapi: request failed\" app_id=3 path=/apps/3/events error=\"secret detail\""},
		{"odd status", apierr.New(302, "moved", "moved"), 500, "internal_error", "internal error", false, "level=ERROR"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs testenv.LogBuffer
			h, fh := newTestHandler(t, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
			fh.err = tt.err
			res := serve(t, h, signed(docCreds, "POST", "/apps/3/events", nil, body))
			if got := logs.String(); (tt.log == "") != (got == "") || !strings.Contains(got, tt.log) {
				t.Errorf("log %q, want it to contain %q", got, tt.log)
			}
			wantError(t, res, tt.status, tt.code, tt.msg)
			if strings.Contains(res.body, "secret detail") {
				t.Errorf("500 body %s leaks the error", res.body)
			}
			if got := res.header.Get("Retry-After") != ""; got != tt.retryAfter {
				t.Errorf("Retry-After present %v, want %v", got, tt.retryAfter)
			}
		})
	}
}

func TestBatch(t *testing.T) {
	h, fh := newTestHandler(t, nil)
	body := `{"batch":[{"name":"e1","channel":"a","data":"1"},{"name":"e2","channel":"b","data":{"k":2},"socket_id":"1.2"}]}`
	wantJSON(t, serve(t, h, signed(docCreds, "POST", "/apps/3/batch_events", nil, []byte(body))), `{}`)
	want := []hub.PublishRequest{
		{Name: "e1", Channels: []string{"a"}, Data: "1"},
		{Name: "e2", Channels: []string{"b"}, Data: `{"k":2}`, SocketID: "1.2"},
	}
	if got := fh.Published(); !reflect.DeepEqual(got, want) {
		t.Errorf("published %+v, want %+v", got, want)
	}

	h, _ = newTestHandler(t, nil)
	body = `{"batch":[{"name":"e","channel":"my-channel","data":"1","info":"subscription_count"},` +
		`{"name":"e","channel":"b","data":"2"},` +
		`{"name":"e","channel":"presence-room","data":"3","info":"user_count,subscription_count"}]}`
	wantJSON(t, serve(t, h, signed(docCreds, "POST", "/apps/3/batch_events", nil, []byte(body))),
		`{"batch":[{"subscription_count":3},{},{"user_count":3,"subscription_count":4}]}`)
}

func TestBatchErrors(t *testing.T) {
	item := `{"name":"e","channel":"a","data":"x"}`
	items := func(n int) string { return strings.TrimSuffix(strings.Repeat(item+",", n), ",") }
	for _, tt := range []struct {
		name   string
		app    string
		body   string
		status int
		code   string
		msg    string
	}{
		{"malformed JSON", "", `{"batch":[`, 400, "invalid_input", "malformed JSON body"},
		{"missing batch", "", `{}`, 400, "invalid_input", "missing batch"},
		{"null batch", "", `{"batch":null}`, 400, "invalid_input", "missing batch"},
		{"empty batch", "", `{"batch":[]}`, 400, "invalid_input", "batch is empty"},
		{"batch too big", "", `{"batch":[` + items(11) + `]}`, 400, "limit_exceeded", "batch has 11 events; the limit is 10"},
		{"batch too big for the app", "small", `{"batch":[` + items(3) + `]}`, 400, "limit_exceeded", "the limit is 2"},
		{"item with channels", "", `{"batch":[` + item + `,{"name":"e","channels":["a"],"data":"x"}]}`, 400, "invalid_input", `batch[1]: a batch event names its channel with "channel"`},
		{"item without channel", "", `{"batch":[{"name":"e","data":"x"}]}`, 400, "invalid_input", "batch[0]: missing channel"},
		{"item with bad socket_id", "", `{"batch":[` + item + `,{"name":"e","channel":"a","data":"x","socket_id":"x"}]}`, 400, "invalid_input", "batch[1]: socket_id"},
		{"item with bad channel", "", `{"batch":[` + items(3) + `,{"name":"e","channel":"b d","data":"x"}]}`, 400, "invalid_input", "batch[3]: channel \"b d\": invalid channel name"},
		{"item with long name", "", `{"batch":[` + item + `,{"name":"` + strings.Repeat("n", 201) + `","channel":"a","data":"x"}]}`, 400, "invalid_input", "batch[1]: event name is longer"},
		{"item too large", "", `{"batch":[` + item + `,{"name":"e","channel":"a","data":"` + strings.Repeat("x", 10241) + `"}]}`, 413, "payload_too_large", "batch[1]: event data is 10241 bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, fh := newTestHandler(t, nil)
			c, path := docCreds, "/apps/3/batch_events"
			if tt.app == "small" {
				c, path = creds{"small-key", "small-secret", testTime}, "/apps/small/batch_events"
			}
			res := serve(t, h, signed(c, "POST", path, nil, []byte(tt.body)))
			wantError(t, res, tt.status, tt.code, tt.msg)
			if n := len(fh.Published()); n != 0 {
				t.Errorf("published %d events of a rejected batch", n)
			}
		})
	}
}

// TestBatchPublishFailure checks that a failure part-way names the item
// and that the items before it were published.
func TestBatchPublishFailure(t *testing.T) {
	h, fh := newTestHandler(t, nil)
	fh.err, fh.failAfter = apierr.New(503, apierr.CodeUnavailable, "backend down"), 2
	body := `{"batch":[{"name":"e","channel":"a","data":"1"},{"name":"e","channel":"a","data":"2"},{"name":"e","channel":"a","data":"3"}]}`
	res := serve(t, h, signed(docCreds, "POST", "/apps/3/batch_events", nil, []byte(body)))
	wantError(t, res, 503, "service_unavailable", "batch[2]: backend down")
	if n := len(fh.Published()); n != 2 {
		t.Errorf("published %d events, want 2", n)
	}
}

func TestCanceledRequest(t *testing.T) {
	body := []byte(`{"name":"e","channel":"a","data":"x"}`)
	for _, inHub := range []bool{false, true} {
		t.Run(fmt.Sprintf("in hub %v", inHub), func(t *testing.T) {
			var logs testenv.LogBuffer
			h, fh := newTestHandler(t, func(c *Config) {
				c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
				if inHub {
					c.Apps = noCtxApps{c.Apps}
				}
			})
			r := signed(docCreds, "POST", "/apps/3/events", nil, body)
			ctx, cancel := context.WithCancel(r.Context())
			cancel()
			fh.err = ctx.Err()
			res := serve(t, h, r.WithContext(ctx))
			wantError(t, res, http.StatusServiceUnavailable, "service_unavailable", "request canceled")
			if s := logs.String(); s != "" {
				t.Errorf("a canceled request was logged: %s", s)
			}
		})
	}
}

package httpapi

import (
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestChannels(t *testing.T) {
	for _, tt := range []struct {
		name  string
		query url.Values
		want  string
		call  string
	}{
		{"all", nil,
			`{"channels":{"cache-news":{},"foo@bar,baz;x=y":{},"my-channel":{},"other-channel":{},"presence-lobby":{},"presence-room":{}}}`,
			`Channels "" 0`},
		{"prefix", url.Values{"filter_by_prefix": {"presence-"}},
			`{"channels":{"presence-lobby":{},"presence-room":{}}}`, `Channels "presence-" 0`},
		{"user_count", url.Values{"filter_by_prefix": {"presence-"}, "info": {"user_count"}},
			`{"channels":{"presence-lobby":{"user_count":1},"presence-room":{"user_count":3}}}`, `Channels "presence-" 1`},
		{"subscription_count", url.Values{"filter_by_prefix": {"my-"}, "info": {"subscription_count"}},
			`{"channels":{"my-channel":{"subscription_count":3}}}`, `Channels "my-" 2`},
		{"both counts", url.Values{"filter_by_prefix": {"presence-r"}, "info": {"user_count, subscription_count"}},
			`{"channels":{"presence-room":{"user_count":3,"subscription_count":4}}}`, `Channels "presence-r" 3`},
		{"no match", url.Values{"filter_by_prefix": {"zzz"}}, `{"channels":{}}`, `Channels "zzz" 0`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, fh := newTestHandler(t, nil)
			wantJSON(t, serve(t, h, signed(docCreds, "GET", "/apps/3/channels", tt.query, nil)), tt.want)
			if got := fh.Calls(); !reflect.DeepEqual(got, []string{tt.call}) {
				t.Errorf("hub calls %q, want [%q]", got, tt.call)
			}
		})
	}
}

func TestChannel(t *testing.T) {
	for _, tt := range []struct {
		name, channel, info, want string
	}{
		{"occupied", "my-channel", "", `{"occupied":true}`},
		{"vacant", "empty-channel", "", `{"occupied":false}`},
		{"subscription_count", "my-channel", "subscription_count", `{"occupied":true,"subscription_count":3}`},
		{"presence counts", "presence-room", "user_count,subscription_count", `{"occupied":true,"user_count":3,"subscription_count":4}`},
		{"cache", "cache-news", "cache", `{"occupied":true,"cache":{"data":"{\"t\":\"hi\"}","ttl":2}}`},
		{"cache miss", "cache-other", "cache", `{"occupied":false,"cache":null}`},
		{"special characters", "foo@bar,baz;x=y", "subscription_count", `{"occupied":true,"subscription_count":5}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := newTestHandler(t, nil)
			var q url.Values
			if tt.info != "" {
				q = url.Values{"info": {tt.info}}
			}
			wantJSON(t, serve(t, h, signed(docCreds, "GET", "/apps/3/channels/"+tt.channel, q, nil)), tt.want)
		})
	}
}

func TestChannelUsers(t *testing.T) {
	h, fh := newTestHandler(t, nil)
	wantJSON(t, serve(t, h, signed(docCreds, "GET", "/apps/3/channels/presence-room/users", nil, nil)),
		`{"users":[{"id":"1"},{"id":"2"},{"id":"ümlaut\"id"}]}`)
	wantJSON(t, serve(t, h, signed(docCreds, "GET", "/apps/3/channels/presence-empty/users", nil, nil)),
		`{"users":[]}`)
	want := []string{`ChannelUsers "presence-room"`, `ChannelUsers "presence-empty"`}
	if got := fh.Calls(); !reflect.DeepEqual(got, want) {
		t.Errorf("hub calls %q, want %q", got, want)
	}
}

func TestTerminate(t *testing.T) {
	h, fh := newTestHandler(t, nil)
	wantJSON(t, serve(t, h, signed(docCreds, "POST", "/apps/3/users/u-1/terminate_connections", nil, []byte(`{}`))), `{}`)
	wantJSON(t, serve(t, h, signed(docCreds, "POST", "/apps/3/users/a%20b%40c/terminate_connections", nil, nil)), `{}`)
	if got, want := fh.Terminated(), []string{"3/u-1", "3/a b@c"}; !reflect.DeepEqual(got, want) {
		t.Errorf("terminated %q, want %q", got, want)
	}
}

func TestQueryErrors(t *testing.T) {
	long := strings.Repeat("c", 201)
	for _, tt := range []struct {
		name, method, path string
		query              url.Values
		body               string
		status             int
		code, msg          string
	}{
		{"user_count without prefix", "GET", "/apps/3/channels", url.Values{"info": {"user_count"}}, "", 400, "invalid_input", `needs filter_by_prefix to start with "presence-"`},
		{"user_count with another prefix", "GET", "/apps/3/channels", url.Values{"info": {"user_count"}, "filter_by_prefix": {"private-"}}, "", 400, "invalid_input", "needs filter_by_prefix"},
		{"channels unknown info", "GET", "/apps/3/channels", url.Values{"info": {"occupants"}}, "", 400, "invalid_input", "unknown info attribute"},
		{"channels info cache", "GET", "/apps/3/channels", url.Values{"info": {"cache"}}, "", 400, "invalid_input", "cache is not available"},
		{"channel user_count on public", "GET", "/apps/3/channels/my-channel", url.Values{"info": {"user_count"}}, "", 400, "invalid_input", "only available for presence channels"},
		{"channel unknown info", "GET", "/apps/3/channels/my-channel", url.Values{"info": {"x"}}, "", 400, "invalid_input", "unknown info attribute"},
		{"channel bad name", "GET", "/apps/3/channels/foo%20bar", nil, "", 400, "invalid_input", "invalid channel name"},
		{"channel long name", "GET", "/apps/3/channels/" + long, nil, "", 400, "invalid_input", "longer than 200"},
		{"users on public", "GET", "/apps/3/channels/my-channel/users", nil, "", 400, "invalid_input", "only available for presence channels"},
		{"users on private", "GET", "/apps/3/channels/private-x/users", nil, "", 400, "invalid_input", "only available for presence channels"},
		{"users bad name", "GET", "/apps/3/channels/presence-%21/users", nil, "", 400, "invalid_input", "invalid channel name"},
		{"users long name", "GET", "/apps/3/channels/presence-" + long + "/users", nil, "", 400, "invalid_input", "longer than 200"},
		{"terminate long user id", "POST", "/apps/3/users/" + long + "/terminate_connections", nil, `{}`, 400, "invalid_input", "user id must have 1 to 200 bytes"},
		{"terminate control character", "POST", "/apps/3/users/a%09b/terminate_connections", nil, `{}`, 400, "invalid_input", "control character"},
		{"terminate malformed JSON", "POST", "/apps/3/users/u1/terminate_connections", nil, `{`, 400, "invalid_input", "malformed JSON body"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, fh := newTestHandler(t, nil)
			res := serve(t, h, signed(docCreds, tt.method, tt.path, tt.query, []byte(tt.body)))
			wantError(t, res, tt.status, tt.code, tt.msg)
			if calls, term := fh.Calls(), fh.Terminated(); len(calls)+len(term) != 0 {
				t.Errorf("hub was called: %q %q", calls, term)
			}
		})
	}
}

func TestRouting(t *testing.T) {
	for _, tt := range []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{"GET", "/apps/3/events", 405, "method_not_allowed", "POST"},
		{"PUT", "/apps/3/batch_events", 405, "method_not_allowed", "POST"},
		{"POST", "/apps/3/channels", 405, "method_not_allowed", "GET"},
		{"DELETE", "/apps/3/channels/a", 405, "method_not_allowed", "GET"},
		{"POST", "/apps/3/channels/presence-a/users", 405, "method_not_allowed", "GET"},
		{"GET", "/apps/3/users/u1/terminate_connections", 405, "method_not_allowed", "POST"},
		{"GET", "/", 404, "not_found", ""},
		{"GET", "/apps/3", 404, "not_found", ""},
		{"POST", "/apps/3/events/", 404, "not_found", ""},
		{"GET", "/apps/3/channels/a/b", 404, "not_found", ""},
		{"POST", "/apps/3/channels/a/events", 404, "not_found", ""},
		{"GET", "/apps/3/users/u1", 404, "not_found", ""},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			h, _ := newTestHandler(t, nil)
			res := serve(t, h, httptest.NewRequest(tt.method, tt.path, nil))
			wantError(t, res, tt.status, tt.code, "")
			if got := res.header.Get("Allow"); got != tt.allow {
				t.Errorf("Allow %q, want %q", got, tt.allow)
			}
		})
	}
}

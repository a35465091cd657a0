package httpapi

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/internal/apierr"
	"github.com/sockudo-go/sockudo/internal/auth"
	"github.com/sockudo-go/sockudo/internal/hub"
	"github.com/sockudo-go/sockudo/internal/protocol"
)

// fuzzRequest is a request as verifySignature and verifyBody see it.
type fuzzRequest struct {
	method, path string // path is the decoded path
	params       url.Values
	body         []byte
}

// check verifies r as the handler would after it crossed the wire: the
// query encoded and parsed again, the path sent in its escaped form.
func (r fuzzRequest) check(app *appmanager.App, now time.Time) error {
	p, err := parseQuery(r.params.Encode())
	if err != nil {
		return err
	}
	rawPath := (&url.URL{Path: r.path}).EscapedPath()
	if err := verifySignature(app, r.method, rawPath, r.path, p, now, testSkew); err != nil {
		return err
	}
	return verifyBody(p, r.body)
}

// clone returns a deep copy of r.
func (r fuzzRequest) clone() fuzzRequest {
	c := r
	c.params = make(url.Values, len(r.params))
	for k, v := range r.params {
		c.params[k] = slices.Clone(v)
	}
	c.body = slices.Clone(r.body)
	return c
}

// mutateString changes the byte of s at pos (or appends b to an empty s)
// so that the result differs from s.
func mutateString(s string, pos uint16, b byte) string {
	if s == "" {
		return string([]byte{b})
	}
	i := int(pos) % len(s)
	bs := []byte(s)
	bs[i] ^= b | 1
	return string(bs)
}

// FuzzVerifySignature checks the query and signature verification: no
// input makes it panic, a request signed as the SDKs sign always verifies,
// and any change to a signed request (a parameter's value, a parameter
// added or removed, the body, the method, the path, the signature) makes it
// fail.
func FuzzVerifySignature(f *testing.F) {
	f.Add("/apps/3/events", "", []byte(`{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}`), uint8(0), uint16(0), byte('x'))
	f.Add("/apps/3/channels", "filter_by_prefix=presence-&info=user_count", []byte(nil), uint8(2), uint16(3), byte('1'))
	f.Add("/apps/3/channels/foo@bar,baz;x=y", "info=subscription_count", []byte(nil), uint8(10), uint16(7), byte('%'))
	f.Add("/apps/3/users/u1/terminate_connections", "", []byte(`{}`), uint8(6), uint16(1), byte(0))
	app := &appmanager.App{ID: testAppID, Key: testKey, Secret: testSecret, Enabled: true}
	now := time.Unix(testTime, 0)

	f.Fuzz(func(t *testing.T, path, query string, body []byte, op uint8, pos uint16, b byte) {
		// Arbitrary input: no panic, whatever the answer.
		if params, err := parseQuery(query); err == nil {
			if verifySignature(app, "POST", path, path, params, now, testSkew) == nil {
				_ = verifyBody(params, body)
			}
		}
		if strings.Contains(path, "\n") {
			path = strings.ReplaceAll(path, "\n", "")
		}

		// A request built from the input and signed as the SDKs sign.
		extra, err := parseQuery(query)
		if err != nil {
			extra = url.Values{}
		}
		params := url.Values{}
		for k, v := range extra {
			if !strings.HasPrefix(k, "auth_") && k != "body_md5" {
				params[k] = v
			}
		}
		method := "POST"
		if op&1 != 0 {
			method = "GET"
		}
		params.Set("auth_key", app.Key)
		params.Set("auth_timestamp", strconv.FormatInt(testTime+int64(pos%1201)-600, 10))
		params.Set("auth_version", "1.0")
		if len(body) > 0 {
			sum := md5.Sum(body)
			params.Set("body_md5", hex.EncodeToString(sum[:]))
		}
		params.Set("auth_signature", auth.Sign(app.Secret, auth.RequestString(method, path, params)))
		req := fuzzRequest{method, path, params, body}
		if err := req.check(app, now); err != nil {
			t.Fatalf("signed request %+v rejected: %v", req, err)
		}

		// One change; it must be refused.
		m := req.clone()
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range m.params {
				if !yield(k) {
					return
				}
			}
		})
		var what string
		switch (op >> 1) % 6 {
		case 0: // a value, the signature included
			k := keys[int(pos)%len(keys)]
			m.params.Set(k, mutateString(m.params.Get(k), pos, b))
			what = "value of " + k
		case 1: // a parameter removed
			unsigned := slices.DeleteFunc(slices.Clone(keys), func(k string) bool { return k == "auth_signature" })
			k := unsigned[int(pos)%len(unsigned)]
			m.params.Del(k)
			what = "removed " + k
		case 2: // a parameter added
			k := "extra" + strconv.Itoa(int(pos))
			for m.params.Has(k) {
				k += "x"
			}
			m.params.Set(k, string([]byte{b}))
			what = "added " + k
		case 3: // the body
			if len(m.body) == 0 {
				m.body = []byte{b}
			} else {
				m.body[int(pos)%len(m.body)] ^= b | 1
			}
			what = "body"
		case 4: // the method
			m.method = map[string]string{"POST": "GET", "GET": "POST"}[m.method]
			what = "method"
		case 5: // the path
			m.path = strings.ReplaceAll(mutateString(m.path, pos, b), "\n", "\r")
			if m.path == req.path {
				return
			}
			what = "path"
		}
		if err := m.check(app, now); err == nil {
			t.Fatalf("changed request (%s) verified: %+v", what, m)
		}
	})
}

// FuzzParsePublish checks the events body parser: no input makes it
// panic, every error is a 4xx answer, and what it accepts is a well-formed
// request that parses back to itself.
func FuzzParsePublish(f *testing.F) {
	f.Add([]byte(`{"name":"e","channel":"a","data":"x"}`))
	f.Add([]byte(`{"name":"e","channels":["a","b"],"data":{"k":[1,2.5,null]},"socket_id":"1.2","info":"user_count"}`))
	f.Add([]byte(`{"batch":[{"name":"e","channel":"a","data":"x"}]}`))
	app := &appmanager.App{ID: testAppID, Key: testKey, Secret: testSecret, Enabled: true}

	f.Fuzz(func(t *testing.T, body []byte) {
		if _, err := parseBatch(body, app); err != nil {
			wantClientError(t, err)
		}
		req, err := parsePublish(body)
		if err == nil {
			err = hub.ValidatePublish(app, &req)
		}
		if err != nil {
			wantClientError(t, err)
			return
		}
		if n := len(req.Channels); n == 0 || n > protocol.DefaultMaxEventChannels {
			t.Fatalf("accepted %d channels", n)
		}
		if req.SocketID != "" && !protocol.ValidSocketID(req.SocketID) {
			t.Fatalf("accepted socket_id %q", req.SocketID)
		}
		if req.Info&^(hub.InfoUserCount|hub.InfoSubscriptionCount) != 0 {
			t.Fatalf("accepted info %d", req.Info)
		}
		if !utf8.ValidString(req.Data) {
			return // JSON encoding would change it
		}
		var info []string
		if req.Info&hub.InfoUserCount != 0 {
			info = append(info, "user_count")
		}
		if req.Info&hub.InfoSubscriptionCount != 0 {
			info = append(info, "subscription_count")
		}
		again, err := json.Marshal(map[string]any{
			"name": req.Name, "channels": req.Channels, "data": req.Data,
			"socket_id": req.SocketID, "info": strings.Join(info, ","),
		})
		if err != nil {
			t.Fatal(err)
		}
		req2, err := parsePublish(again)
		if err != nil {
			t.Fatalf("re-encoded request %s rejected: %v", again, err)
		}
		if !reflect.DeepEqual(req, req2) {
			t.Fatalf("parsed %+v, then %+v from %s", req, req2, again)
		}
	})
}

func wantClientError(t *testing.T, err error) {
	t.Helper()
	ae, ok := errors.AsType[*apierr.Error](err)
	if !ok || ae.Status < 400 || ae.Status > 499 || ae.Code == "" {
		t.Fatalf("error %v (%T) is not a 4xx answer", err, err)
	}
}

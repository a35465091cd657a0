package httpapi

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/appmanager/memory"
	"github.com/sockudo-go/sockudo/internal/auth"
	"github.com/sockudo-go/sockudo/internal/hub"
	"github.com/sockudo-go/sockudo/internal/protocol"
)

// The credentials of Pusher's documented signing example.
const (
	testAppID  = "3"
	testKey    = "278d425bdf160c739803"
	testSecret = "7ad3773142a6692b25b8"
	testTime   = 1353088179
	// testSkew is Pusher's allowed auth_timestamp skew.
	testSkew = 600 * time.Second
)

// testApps returns the apps of the tests: the documented one, a second
// enabled app, a disabled one and one with small limits.
func testApps() []appmanager.App {
	return []appmanager.App{
		{ID: testAppID, Key: testKey, Secret: testSecret, Enabled: true},
		{ID: "other", Key: "other-key", Secret: "other-secret", Enabled: true},
		{ID: "off", Key: "off-key", Secret: "off-secret", Enabled: false},
		{ID: "small", Key: "small-key", Secret: "small-secret", Enabled: true,
			MaxEventChannelsAtOnce: 2, MaxEventBatchSize: 2, MaxEventPayloadInKB: 1, MaxChannelNameLength: 20},
	}
}

// fakeHub implements Hub over in-memory state. Publish validates with the
// real hub's rules (hub.ValidatePublish).
type fakeHub struct {
	mu         sync.Mutex
	published  []hub.PublishRequest
	terminated []string
	calls      []string // "Channels prefix info", "Channel name info", ...

	subs    map[string]int      // channel -> subscriptions; > 0 is occupied
	members map[string][]string // presence channel -> user ids
	cache   map[string]hub.CachedEvent

	err       error // returned by every method
	failAfter int   // when > 0, Publish fails with err after this many successes
}

var _ Hub = (*fakeHub)(nil)

func newFakeHub() *fakeHub {
	return &fakeHub{
		subs: map[string]int{
			"my-channel": 3, "other-channel": 1, "presence-room": 4, "presence-lobby": 2,
			"cache-news": 1, "foo@bar,baz;x=y": 5,
		},
		members: map[string][]string{"presence-room": {"1", "2", "ümlaut\"id"}, "presence-lobby": {"7"}},
		cache:   map[string]hub.CachedEvent{"cache-news": {Event: "headline", Data: `{"t":"hi"}`, TTL: 1500 * time.Millisecond}},
	}
}

func (f *fakeHub) counts(name string, info hub.Info) hub.ChannelInfo {
	ci := hub.ChannelInfo{Occupied: f.subs[name] > 0}
	presence := protocol.Classify(name).Kind == protocol.Presence
	if info&hub.InfoUserCount != 0 && presence {
		n := len(f.members[name])
		ci.UserCount = &n
	}
	if info&hub.InfoSubscriptionCount != 0 {
		n := f.subs[name]
		ci.SubscriptionCount = &n
	}
	return ci
}

func (f *fakeHub) Publish(ctx context.Context, app *appmanager.App, req hub.PublishRequest) (map[string]hub.ChannelInfo, error) {
	if err := hub.ValidatePublish(app, &req); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil && len(f.published) >= f.failAfter {
		return nil, f.err
	}
	f.published = append(f.published, req)
	if req.Info == 0 {
		return nil, nil
	}
	m := make(map[string]hub.ChannelInfo, len(req.Channels))
	for _, c := range req.Channels {
		m[c] = f.counts(c, req.Info)
	}
	return m, nil
}

func (f *fakeHub) Channels(ctx context.Context, app *appmanager.App, prefix string, info hub.Info) (map[string]hub.ChannelInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("Channels %q %d", prefix, info))
	if f.err != nil {
		return nil, f.err
	}
	m := make(map[string]hub.ChannelInfo)
	for name, n := range f.subs {
		if n > 0 && strings.HasPrefix(name, prefix) {
			m[name] = f.counts(name, info)
		}
	}
	return m, nil
}

func (f *fakeHub) Channel(ctx context.Context, app *appmanager.App, name string, info hub.Info) (hub.ChannelInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("Channel %q %d", name, info))
	if f.err != nil {
		return hub.ChannelInfo{}, f.err
	}
	ci := f.counts(name, info)
	if c, ok := f.cache[name]; ok && info&hub.InfoCache != 0 {
		ci.Cache = &c
	}
	return ci, nil
}

func (f *fakeHub) ChannelUsers(ctx context.Context, app *appmanager.App, name string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("ChannelUsers %q", name))
	if f.err != nil {
		return nil, f.err
	}
	return f.members[name], nil
}

func (f *fakeHub) TerminateUser(ctx context.Context, app *appmanager.App, userID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.terminated = append(f.terminated, app.ID+"/"+userID)
	return nil
}

func (f *fakeHub) Published() []hub.PublishRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.published)
}

func (f *fakeHub) Terminated() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.terminated)
}

func (f *fakeHub) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// noCtxApps wraps a Manager and ignores the context, so that a test can
// reach the hub with a canceled request.
type noCtxApps struct{ appmanager.Manager }

func (a noCtxApps) FindByID(_ context.Context, id string) (*appmanager.App, error) {
	return a.Manager.FindByID(context.Background(), id)
}

// failingApps is an app manager whose backend is down.
type failingApps struct{}

func (failingApps) FindByID(context.Context, string) (*appmanager.App, error) {
	return nil, errors.New("connection refused")
}

func (failingApps) FindByKey(context.Context, string) (*appmanager.App, error) {
	return nil, errors.New("connection refused")
}

// newTestHandler returns a Handler over testApps and a fake hub, with the
// clock at testTime. mod, if not nil, adjusts the config.
func newTestHandler(t testing.TB, mod func(*Config)) (*Handler, *fakeHub) {
	t.Helper()
	apps, err := memory.New(testApps()...)
	if err != nil {
		t.Fatal(err)
	}
	fh := newFakeHub()
	cfg := Config{Apps: apps, Hub: fh, Now: func() time.Time { return time.Unix(testTime, 0) },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxBodyBytes: 1 << 20, BodyReadTimeout: 5 * time.Second, TimestampSkew: testSkew}
	if mod != nil {
		mod(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h, fh
}

// creds are the signing credentials of a test request.
type creds struct {
	key, secret string
	ts          int64
}

var docCreds = creds{testKey, testSecret, testTime}

// signQuery returns the raw query of a request signed over signPath, with
// the auth parameters added to extra (which may be nil). body_md5 is added
// when body is not empty.
func signQuery(c creds, method, signPath string, extra url.Values, body []byte) string {
	q := url.Values{}
	for k, v := range extra {
		q[k] = v
	}
	q.Set("auth_key", c.key)
	q.Set("auth_timestamp", strconv.FormatInt(c.ts, 10))
	q.Set("auth_version", "1.0")
	if len(body) > 0 {
		sum := md5.Sum(body)
		q.Set("body_md5", hex.EncodeToString(sum[:]))
	}
	q.Set("auth_signature", auth.Sign(c.secret, auth.RequestString(method, signPath, q)))
	return q.Encode()
}

// signed builds a request to path (as sent, possibly percent-encoded)
// signed over the same path.
func signed(c creds, method, path string, extra url.Values, body []byte) *http.Request {
	return signedOver(c, method, path, path, extra, body)
}

// signedOver builds a request to path signed over signPath.
func signedOver(c creds, method, path, signPath string, extra url.Values, body []byte) *http.Request {
	q := signQuery(c, method, signPath, extra, body)
	r := httptest.NewRequest(method, path+"?"+q, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

// response is an answer of the handler.
type response struct {
	status int
	header http.Header
	body   string
}

// serve runs r through h and checks that the answer is JSON.
func serve(t testing.TB, h http.Handler, r *http.Request) response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	res := rec.Result()
	b, _ := io.ReadAll(res.Body)
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json", r.Method, r.URL, ct)
	}
	if !json.Valid(b) {
		t.Errorf("%s %s: body is not JSON: %q", r.Method, r.URL, b)
	}
	return response{res.StatusCode, res.Header, string(b)}
}

// wantError checks that res is a JSON error with status and code whose
// message contains msg.
func wantError(t testing.TB, res response, status int, code, msg string) {
	t.Helper()
	var e struct {
		Error  string `json:"error"`
		Code   string `json:"code"`
		Status int    `json:"status"`
	}
	if err := json.Unmarshal([]byte(res.body), &e); err != nil {
		t.Fatalf("error body %q: %v", res.body, err)
	}
	if res.status != status || e.Status != status || e.Code != code || !strings.Contains(e.Error, msg) {
		t.Errorf("got %d %s, want %d %s with message containing %q", res.status, res.body, status, code, msg)
	}
}

// wantJSON checks a 200 answer against want, compared as JSON values.
func wantJSON(t testing.TB, res response, want string) {
	t.Helper()
	if res.status != http.StatusOK {
		t.Fatalf("status %d %s, want 200 %s", res.status, res.body, want)
	}
	var got, exp any
	if err := json.Unmarshal([]byte(res.body), &got); err != nil {
		t.Fatalf("body %q: %v", res.body, err)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatalf("want %q: %v", want, err)
	}
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("body %s, want %s", res.body, want)
	}
}

func intp(n int) *int { return &n }

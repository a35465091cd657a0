package sockudo_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/cache"
	rediscache "github.com/sockudo-go/sockudo/cache/redis"
	"github.com/sockudo-go/sockudo/internal/auth"
	"github.com/sockudo-go/sockudo/internal/testenv"
	"github.com/sockudo-go/sockudo/internal/wstest"
)

func signin(t *testing.T, c *wstest.Client, userData string) {
	t.Helper()
	c.SendJSON(t, map[string]any{"event": "pusher:signin", "data": map[string]string{
		"auth":      auth.Token(testKey, testSecret, auth.UserString(c.SocketID, userData)),
		"user_data": userData,
	}})
}

func signinOK(t *testing.T, c *wstest.Client, userData string) {
	t.Helper()
	signin(t, c, userData)
	f := c.Expect(t, "pusher:signin_success")
	var d struct {
		UserData string `json:"user_data"`
	}
	f.DataJSON(t, &d)
	if d.UserData != userData {
		t.Fatalf("signin_success user_data %q, want %q", d.UserData, userData)
	}
}

func TestSigninAndServerToUser(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithApps(testApp()))
	tab1, tab2, other := s.dial(t, testKey), s.dial(t, testKey), s.dial(t, testKey)
	signinOK(t, tab1, `{"id":"42","user_info":{"name":"A"}}`)
	signinOK(t, tab2, `{"id":"42"}`)
	signinOK(t, other, `{"id":"43"}`)
	// pusher-js subscribes to its own server-to-user channel.
	tab1.Subscribe(t, "#server-to-user-42", "", "")
	tab1.Expect(t, "pusher_internal:subscription_succeeded")
	other.Subscribe(t, "#server-to-user-42", "", "")
	if code, _ := other.ExpectError(t); code != 4009 {
		t.Fatalf("subscribing to another user's channel: code %d", code)
	}
	if err := s.SendToUser(context.Background(), testID, "42", sockudo.Event{Name: "notice", Data: `{"n":1}`}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*wstest.Client{tab1, tab2} {
		if f := c.Expect(t, "notice"); f.Channel != "#server-to-user-42" || f.DataString(t) != `{"n":1}` {
			t.Fatalf("server-to-user frame %s", f.Raw)
		}
	}
	other.ExpectNone(t, "notice", 200*time.Millisecond)
}

func TestSigninRejections(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithApps(testApp()))
	c := s.dial(t, testKey)
	c.SendJSON(t, map[string]any{"event": "pusher:signin", "data": map[string]string{"auth": testKey + ":bad", "user_data": `{"id":"1"}`}})
	if code, _ := c.ExpectError(t); code != 4009 {
		t.Fatalf("bad signature: code %d", code)
	}
	for _, ud := range []string{`{"name":"no id"}`, `{"id":""}`, `{"id":5}`, `not json`} {
		signin(t, c, ud)
		if code, _ := c.ExpectError(t); code != 4009 {
			t.Fatalf("%s: code %d", ud, code)
		}
	}
	signinOK(t, c, `{"id":"1"}`)
	signin(t, c, `{"id":"2"}`)
	if code, _ := c.ExpectError(t); code != 4009 {
		t.Fatalf("second user on one socket: code %d", code)
	}
}

func TestTerminateUserConnections(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithApps(testApp()))
	a1, a2, b := s.dial(t, testKey), s.dial(t, testKey), s.dial(t, testKey)
	signinOK(t, a1, `{"id":"a"}`)
	signinOK(t, a2, `{"id":"a"}`)
	signinOK(t, b, `{"id":"b"}`)
	if err := s.TerminateUserConnections(context.Background(), testID, "a"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*wstest.Client{a1, a2} {
		if code, _ := c.ExpectError(t); code != 4009 {
			t.Fatalf("pusher:error %d", code)
		}
		if code := c.ExpectClose(t); code != 4009 {
			t.Fatalf("close %d, want 4009", code)
		}
	}
	b.Send(t, `{"event":"pusher:ping","data":{}}`)
	b.Expect(t, "pusher:pong")
}

func TestUserAuthenticationTimeout(t *testing.T) {
	t.Parallel()
	app := testApp()
	app.EnableUserAuthentication = true
	s := newTestServer(t, sockudo.WithApps(app), sockudo.WithUserAuthenticationTimeout(300*time.Millisecond))
	signed, unsigned := s.dial(t, testKey), s.dial(t, testKey)
	signinOK(t, signed, `{"id":"1"}`)
	if code, _ := unsigned.ExpectError(t); code != 4009 {
		t.Fatalf("pusher:error %d", code)
	}
	if code := unsigned.ExpectClose(t); code != 4009 {
		t.Fatalf("close %d, want 4009", code)
	}
	time.Sleep(400 * time.Millisecond)
	signed.Send(t, `{"event":"pusher:ping","data":{}}`)
	signed.Expect(t, "pusher:pong")
}

type watchEvents struct {
	Events []struct {
		Name    string   `json:"name"`
		UserIDs []string `json:"user_ids"`
	} `json:"events"`
}

func expectWatch(t *testing.T, c *wstest.Client) string {
	t.Helper()
	var w watchEvents
	c.Expect(t, "pusher_internal:watchlist_events").DataJSON(t, &w)
	var parts []string
	for _, e := range w.Events {
		parts = append(parts, e.Name+":"+strings.Join(e.UserIDs, ","))
	}
	return strings.Join(parts, " ")
}

func TestWatchlist(t *testing.T) {
	t.Parallel()
	app := testApp()
	app.EnableWatchlistEvents = true
	s := newTestServer(t, sockudo.WithApps(app))
	bob := s.dial(t, testKey)
	signinOK(t, bob, `{"id":"bob"}`)

	alice := s.dial(t, testKey)
	signinOK(t, alice, `{"id":"alice","watchlist":["bob","carol"]}`)
	if got := expectWatch(t, alice); got != "online:bob offline:carol" {
		t.Fatalf("initial state %q", got)
	}
	carol1 := s.dial(t, testKey)
	signinOK(t, carol1, `{"id":"carol"}`)
	if got := expectWatch(t, alice); got != "online:carol" {
		t.Fatalf("carol online: %q", got)
	}
	carol2 := s.dial(t, testKey) // second tab: no event
	signinOK(t, carol2, `{"id":"carol"}`)
	alice.ExpectNone(t, "pusher_internal:watchlist_events", 200*time.Millisecond)
	carol1.Close()
	alice.ExpectNone(t, "pusher_internal:watchlist_events", 200*time.Millisecond)
	carol2.Close()
	if got := expectWatch(t, alice); got != "offline:carol" {
		t.Fatalf("carol offline: %q", got)
	}

	ids := make([]string, 101)
	for i := range ids {
		ids[i] = strings.Repeat("u", 1) + string(rune('a'+i%26)) + string(rune('0'+i/26))
	}
	b, _ := json.Marshal(map[string]any{"id": "big", "watchlist": ids})
	big := s.dial(t, testKey)
	signinOK(t, big, string(b))
	if code, _ := big.ExpectError(t); code != 4302 {
		t.Fatalf("watchlist overflow: code %d, want 4302", code)
	}
}

func TestCacheChannels(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithApps(testApp()), sockudo.WithCacheChannelTTL(time.Minute))
	c := s.dial(t, testKey)
	c.SubscribeOK(t, testKey, testSecret, "cache-empty", "")
	if f := c.Expect(t, "pusher:cache_miss"); f.Channel != "cache-empty" {
		t.Fatalf("cache_miss %s", f.Raw)
	}
	trigger(t, s, "price", `{"v":1}`, "cache-prices")
	trigger(t, s, "price", `{"v":2}`, "cache-prices")
	late := s.dial(t, testKey)
	late.SubscribeOK(t, testKey, testSecret, "cache-prices", "")
	if f := late.Expect(t, "price"); f.DataString(t) != `{"v":2}` {
		t.Fatalf("cached event %s", f.Raw)
	}
	info, err := s.Channel(context.Background(), testID, "cache-prices")
	if err != nil || info.Cached == nil || info.Cached.Data != `{"v":2}` || info.Cached.TTL <= 0 || info.Cached.TTL > time.Minute {
		t.Fatalf("Channel = %+v, %v", info, err)
	}
}

func TestSubscriptionCountEvents(t *testing.T) {
	t.Parallel()
	app := testApp()
	app.EnableSubscriptionCountEvents = true
	s := newTestServer(t, sockudo.WithApps(app))
	a := s.dial(t, testKey)
	a.SubscribeOK(t, testKey, testSecret, "counted", "")
	if f := a.Expect(t, "pusher_internal:subscription_count"); f.DataString(t) != `{"subscription_count":1}` {
		t.Fatalf("%s", f.Raw)
	}
	b := s.dial(t, testKey)
	b.SubscribeOK(t, testKey, testSecret, "counted", "")
	if f := a.Expect(t, "pusher_internal:subscription_count"); f.DataString(t) != `{"subscription_count":2}` {
		t.Fatalf("%s", f.Raw)
	}
	b.Close()
	if f := a.Expect(t, "pusher_internal:subscription_count"); f.DataString(t) != `{"subscription_count":1}` {
		t.Fatalf("%s", f.Raw)
	}
}

func TestEncryptedChannelPassThrough(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithApps(testApp()))
	c := s.dial(t, testKey)
	c.SubscribeOK(t, testKey, testSecret, "private-encrypted-vault", "")
	payload := `{"nonce":"bm9uY2U=","ciphertext":"Y2lwaGVy"}`
	trigger(t, s, "secret", payload, "private-encrypted-vault")
	if f := c.Expect(t, "secret"); f.DataString(t) != payload {
		t.Fatalf("payload altered: %s", f.Raw)
	}
	err := s.Trigger(context.Background(), testID, sockudo.Event{Name: "x", Channels: []string{"private-encrypted-vault", "news"}, Data: "{}"})
	var apiErr *sockudo.APIError
	if !errorsAs(err, &apiErr) || apiErr.Status != 400 {
		t.Fatalf("multi-channel encrypted trigger = %v, want a 400 APIError", err)
	}
}

// TestCacheChannelTTLExpiry runs on the real clock with a short TTL: the
// server's sockets are real network I/O, which a synctest bubble cannot
// hold. The cache's own expiry is proven exactly, on fake time, by
// cachetest.
func TestCacheChannelTTLExpiry(t *testing.T) {
	t.Parallel()
	const ttl = 3 * time.Second // room for the early subscriber on a loaded machine
	s := newTestServer(t, sockudo.WithApps(testApp()), sockudo.WithCacheChannelTTL(ttl))
	triggered := time.Now()
	trigger(t, s, "price", `{"v":1}`, "cache-ttl")

	early := s.dial(t, testKey)
	early.SubscribeOK(t, testKey, testSecret, "cache-ttl", "")
	early.Expect(t, "price")

	time.Sleep(time.Until(triggered.Add(ttl + 100*time.Millisecond)))
	late := s.dial(t, testKey)
	late.SubscribeOK(t, testKey, testSecret, "cache-ttl", "")
	late.Expect(t, "pusher:cache_miss")
	if info, err := s.Channel(context.Background(), testID, "cache-ttl"); err != nil || info.Cached != nil {
		t.Fatalf("after the TTL: %+v, %v", info, err)
	}
}

// TestCacheChannelsSharedThroughRedis: two servers on one Redis cache see
// each other's cached events, as two nodes behind a load balancer must.
func TestCacheChannelsSharedThroughRedis(t *testing.T) {
	t.Parallel()
	url := testenv.Lookup(t, "SOCKUDO_TEST_REDIS_URL")
	prefix := "sockudo_test_cache:" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
	var servers []*testServer
	for i := 0; i < 2; i++ {
		rc, err := rediscache.New(redisClient(t, url, ""), &rediscache.Options{Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		servers = append(servers, newTestServer(t, sockudo.WithApps(testApp()), sockudo.WithCache(rc)))
	}
	if err := servers[0].Trigger(context.Background(), testID, sockudo.Event{Name: "price", Channels: []string{"cache-shared"}, Data: "42"}); err != nil {
		t.Fatal(err)
	}
	c := servers[1].dial(t, testKey)
	c.SubscribeOK(t, testKey, testSecret, "cache-shared", "")
	if f := c.Expect(t, "price"); f.DataString(t) != "42" {
		t.Fatalf("%s", f.Raw)
	}
	info, err := servers[1].Channel(context.Background(), testID, "cache-shared")
	if err != nil || info.Cached == nil || info.Cached.TTL <= 0 {
		t.Fatalf("%+v, %v", info, err)
	}
}

var errCacheDown = errors.New("cache backend down")

// downCache is a cache whose backend is unreachable.
type downCache struct{}

func (downCache) Get(context.Context, string) (cache.Entry, error) {
	return cache.Entry{}, errCacheDown
}
func (downCache) Set(context.Context, string, []byte, time.Duration) error { return errCacheDown }
func (downCache) Add(context.Context, string, []byte, time.Duration) (bool, error) {
	return false, errCacheDown
}
func (downCache) Delete(context.Context, string) error { return errCacheDown }

// TestCacheOutage: while the cache is down, "what is cached?" is a 503,
// not a confident "nothing", and /up reports it; subscribers still get an
// answer (a miss).
func TestCacheOutage(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithApps(testApp()), sockudo.WithCache(downCache{}))
	var apiErr *sockudo.APIError
	if _, err := s.Channel(context.Background(), testID, "cache-x"); !errors.As(err, &apiErr) || apiErr.Status != 503 {
		t.Fatalf("Channel during a cache outage = %v, want a 503 APIError", err)
	}
	c := s.dial(t, testKey)
	c.SubscribeOK(t, testKey, testSecret, "cache-x", "")
	c.Expect(t, "pusher:cache_miss")
	if resp, body := getStatus(t, s.http.URL+"/up", nil); resp.StatusCode != 503 || body != "ERROR" {
		t.Fatalf("/up during a cache outage = %d %q", resp.StatusCode, body)
	}
}

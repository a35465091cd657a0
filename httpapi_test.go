package sockudo_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	pusher "github.com/pusher/pusher-http-go/v5"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/internal/auth"
	"github.com/sockudo-go/sockudo/internal/wstest"
)

// TestHTTPAPIWithPusherHTTPGo drives the real server's HTTP API with the
// official Go server SDK (github.com/pusher/pusher-http-go/v5 v5.1.1) and
// checks what WebSocket clients receive.
func TestHTTPAPIWithPusherHTTPGo(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithApps(testApp()))
	client := pusher.Client{
		AppID: testID, Key: testKey, Secret: testSecret,
		Host:       strings.TrimPrefix(s.http.URL, "http://"),
		HTTPClient: &http.Client{Timeout: 5 * time.Second},
	}
	a, b := s.dial(t, testKey), s.dial(t, testKey)
	for _, c := range []*wstest.Client{a, b} {
		c.SubscribeOK(t, testKey, testSecret, "news", "")
		c.SubscribeOK(t, testKey, testSecret, "odd-@,;=.name", "")
	}
	a.SubscribeOK(t, testKey, testSecret, "presence-room", presenceData("1", "A"))
	b.SubscribeOK(t, testKey, testSecret, "presence-room", presenceData("2", "B"))

	t.Run("Trigger", func(t *testing.T) {
		if err := client.Trigger("news", "headline", map[string]string{"t": "x"}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []*wstest.Client{a, b} {
			if f := c.Expect(t, "headline"); f.DataString(t) != `{"t":"x"}` {
				t.Fatalf("%s", f.Raw)
			}
		}
	})
	t.Run("TriggerMulti", func(t *testing.T) {
		if err := client.TriggerMulti([]string{"news", "odd-@,;=.name"}, "multi", "d"); err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for i := 0; i < 2; i++ {
			got[a.Expect(t, "multi").Channel] = true
		}
		if !got["news"] || !got["odd-@,;=.name"] {
			t.Fatalf("channels %v", got)
		}
	})
	t.Run("socket_id exclusion", func(t *testing.T) {
		params := pusher.TriggerParams{SocketID: &a.SocketID}
		if _, err := client.TriggerWithParams("news", "excluded", "d", params); err != nil {
			t.Fatal(err)
		}
		b.Expect(t, "excluded")
		a.ExpectNone(t, "excluded", 200*time.Millisecond)
	})
	t.Run("info", func(t *testing.T) {
		info := "user_count,subscription_count"
		res, err := client.TriggerMultiWithParams([]string{"presence-room", "news"}, "i", "d", pusher.TriggerParams{Info: &info})
		if err != nil {
			t.Fatal(err)
		}
		if p := res.Channels["presence-room"]; p.UserCount == nil || *p.UserCount != 2 {
			t.Fatalf("presence info %+v", p)
		}
		if n := res.Channels["news"]; n.SubscriptionCount == nil || *n.SubscriptionCount != 2 || n.UserCount != nil {
			t.Fatalf("news info %+v", n)
		}
	})
	t.Run("TriggerBatch", func(t *testing.T) {
		if _, err := client.TriggerBatch([]pusher.Event{
			{Channel: "news", Name: "b1", Data: "1"},
			{Channel: "news", Name: "b2", Data: "2"},
		}); err != nil {
			t.Fatal(err)
		}
		a.Expect(t, "b1")
		a.Expect(t, "b2")
	})
	t.Run("Channels", func(t *testing.T) {
		res, err := client.Channels(pusher.ChannelsParams{FilterByPrefix: strPtr("presence-"), Info: strPtr("user_count")})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Channels) != 1 || res.Channels["presence-room"].UserCount != 2 {
			t.Fatalf("%+v", res)
		}
		all, err := client.Channels(pusher.ChannelsParams{})
		if err != nil || len(all.Channels) != 3 {
			t.Fatalf("%+v, %v", all, err)
		}
	})
	t.Run("Channel", func(t *testing.T) {
		ch, err := client.Channel("odd-@,;=.name", pusher.ChannelParams{Info: strPtr("subscription_count")})
		if err != nil || !ch.Occupied || ch.SubscriptionCount != 2 {
			t.Fatalf("%+v, %v", ch, err)
		}
		empty, err := client.Channel("nobody", pusher.ChannelParams{})
		if err != nil || empty.Occupied {
			t.Fatalf("%+v, %v", empty, err)
		}
	})
	t.Run("GetChannelUsers", func(t *testing.T) {
		users, err := client.GetChannelUsers("presence-room")
		if err != nil || len(users.List) != 2 || users.List[0].ID != "1" {
			t.Fatalf("%+v, %v", users, err)
		}
	})
	t.Run("SendToUser", func(t *testing.T) {
		signinOK(t, a, `{"id":"u1"}`)
		if err := client.SendToUser("u1", "hello", "hi"); err != nil {
			t.Fatal(err)
		}
		if f := a.Expect(t, "hello"); f.Channel != "#server-to-user-u1" {
			t.Fatalf("%s", f.Raw)
		}
	})
	t.Run("payload too large", func(t *testing.T) {
		err := client.Trigger("news", "big", strings.Repeat("x", 10*1024+1))
		if err == nil {
			t.Fatal("an 11 KB event was accepted")
		}
	})
	t.Run("terminate_connections", func(t *testing.T) {
		resp := signedRequest(t, s, http.MethodPost, "/apps/"+testID+"/users/u1/terminate_connections", []byte("{}"), time.Now())
		if resp.StatusCode != 200 || resp.body != "{}" {
			t.Fatalf("%d %s", resp.StatusCode, resp.body)
		}
		if code := a.ExpectClose(t); code != 4009 {
			t.Fatalf("close %d", code)
		}
	})
}

func strPtr(s string) *string { return &s }

type response struct {
	*http.Response
	body string
}

// signedRequest sends a request for the test app signed as the Pusher SDKs do.
func signedRequest(t *testing.T, s *testServer, method, path string, body []byte, now time.Time) response {
	t.Helper()
	return signedRequestAs(t, s, testKey, testSecret, method, path, body, now)
}

// signedRequestFor sends a signed GET for another app.
func signedRequestFor(t *testing.T, s *testServer, key, secret, path string) response {
	t.Helper()
	return signedRequestAs(t, s, key, secret, http.MethodGet, path, nil, time.Now())
}

func signedRequestAs(t *testing.T, s *testServer, key, secret, method, path string, body []byte, now time.Time) response {
	t.Helper()
	q := url.Values{}
	q.Set("auth_key", key)
	q.Set("auth_timestamp", strconv.FormatInt(now.Unix(), 10))
	q.Set("auth_version", "1.0")
	if len(body) > 0 {
		sum := md5.Sum(body)
		q.Set("body_md5", hex.EncodeToString(sum[:]))
	}
	q.Set("auth_signature", auth.Sign(secret, auth.RequestString(method, path, q)))
	req, err := http.NewRequest(method, s.http.URL+path+"?"+q.Encode(), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp, string(b)}
}

func TestHTTPAPIRejections(t *testing.T) {
	t.Parallel()
	disabled := testApp()
	disabled.ID, disabled.Key, disabled.Enabled = "off", "off-key", false
	s := newTestServer(t, sockudo.WithApps(testApp(), disabled))
	body := []byte(`{"name":"e","channel":"c","data":"d"}`)
	path := "/apps/" + testID + "/events"

	if r := signedRequest(t, s, http.MethodPost, path, body, time.Now()); r.StatusCode != 200 || r.body != "{}" {
		t.Fatalf("valid publish: %d %s", r.StatusCode, r.body)
	}
	if r := signedRequest(t, s, http.MethodPost, path, body, time.Now().Add(-11*time.Minute)); r.StatusCode != 401 {
		t.Fatalf("replayed stale request: %d %s", r.StatusCode, r.body)
	}
	if r := signedRequest(t, s, http.MethodPost, "/apps/nope/events", body, time.Now()); r.StatusCode != 404 && r.StatusCode != 401 {
		t.Fatalf("unknown app: %d", r.StatusCode)
	}
	big := []byte(`{"name":"e","channel":"c","data":"` + strings.Repeat("x", 10*1024+1) + `"}`)
	if r := signedRequest(t, s, http.MethodPost, path, big, time.Now()); r.StatusCode != 413 {
		t.Fatalf("oversized data: %d %s", r.StatusCode, r.body)
	}
	bad := []byte(`{"name":"e","channel":"bad name","data":"d"}`)
	if r := signedRequest(t, s, http.MethodPost, path, bad, time.Now()); r.StatusCode != 400 {
		t.Fatalf("bad channel: %d %s", r.StatusCode, r.body)
	}
	r := signedRequest(t, s, http.MethodGet, "/apps/"+testID+"/channels/news/users", nil, time.Now())
	if r.StatusCode != 400 {
		t.Fatalf("users of a public channel: %d %s", r.StatusCode, r.body)
	}
}

func TestTriggerBatchRules(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithApps(testApp()))
	ctx := context.Background()
	c := s.dial(t, testKey)
	c.SubscribeOK(t, testKey, testSecret, "a", "")
	ok := []sockudo.Event{{Name: "one", Channels: []string{"a"}, Data: "1"}, {Name: "two", Channels: []string{"a"}, Data: "2"}}
	if err := s.TriggerBatch(ctx, testID, ok); err != nil {
		t.Fatal(err)
	}
	c.Expect(t, "one")
	c.Expect(t, "two")
	var apiErr *sockudo.APIError
	tooMany := make([]sockudo.Event, 11)
	for i := range tooMany {
		tooMany[i] = sockudo.Event{Name: "e", Channels: []string{"a"}}
	}
	if err := s.TriggerBatch(ctx, testID, tooMany); !errors.As(err, &apiErr) || apiErr.Status != 400 || apiErr.Code != "limit_exceeded" {
		t.Fatalf("11 events: %v, want a 400 limit_exceeded", err)
	}
	twoChannels := []sockudo.Event{{Name: "e", Channels: []string{"a", "b"}}}
	if err := s.TriggerBatch(ctx, testID, twoChannels); !errors.As(err, &apiErr) || apiErr.Status != 400 {
		t.Fatalf("two channels in a batched event: %v", err)
	}
	bad := []sockudo.Event{{Name: "fine", Channels: []string{"a"}}, {Name: "e", Channels: []string{"bad name"}}}
	if err := s.TriggerBatch(ctx, testID, bad); !errors.As(err, &apiErr) || apiErr.Status != 400 ||
		apiErr.Code != "invalid_input" || !strings.HasPrefix(apiErr.Message, "batch[1]: ") {
		t.Fatalf("bad channel: %v, want a 400 invalid_input naming batch[1]", err)
	}
	c.ExpectNone(t, "fine", 200*time.Millisecond) // nothing published when one item is invalid
}

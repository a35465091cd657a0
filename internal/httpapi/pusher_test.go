package httpapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	pusher "github.com/pusher/pusher-http-go/v5"

	"github.com/sockudo-go/sockudo/internal/hub"
)

// TestPusherHTTPGo drives the handler with the official Go server SDK,
// which signs its requests independently of this package.
func TestPusherHTTPGo(t *testing.T) {
	h, fh := newTestHandler(t, func(c *Config) { c.Now = nil }) // the SDK signs with the real clock
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	client := pusher.Client{
		AppID: testAppID, Key: testKey, Secret: testSecret,
		Host:       strings.TrimPrefix(srv.URL, "http://"),
		HTTPClient: &http.Client{Timeout: 5 * time.Second},
	}
	// lastPublished returns what the hub received from one SDK call.
	published := 0
	lastPublished := func(t *testing.T) []hub.PublishRequest {
		t.Helper()
		all := fh.Published()
		got := all[published:]
		published = len(all)
		return got
	}
	str := func(s string) *string { return &s }

	t.Run("Trigger", func(t *testing.T) {
		if err := client.Trigger("my-channel", "my-event", map[string]any{"k": 1, "s": "<é>"}); err != nil {
			t.Fatal(err)
		}
		want := []hub.PublishRequest{{Name: "my-event", Channels: []string{"my-channel"}, Data: `{"k":1,"s":"\u003cé\u003e"}`}}
		if got := lastPublished(t); !reflect.DeepEqual(got, want) {
			t.Errorf("hub got %+v, want %+v", got, want)
		}
	})
	t.Run("TriggerMulti", func(t *testing.T) {
		if err := client.TriggerMulti([]string{"a", "b-@,;=.c"}, "ev", "plain text"); err != nil {
			t.Fatal(err)
		}
		want := []hub.PublishRequest{{Name: "ev", Channels: []string{"a", "b-@,;=.c"}, Data: "plain text"}}
		if got := lastPublished(t); !reflect.DeepEqual(got, want) {
			t.Errorf("hub got %+v, want %+v", got, want)
		}
	})
	t.Run("TriggerExclusive", func(t *testing.T) {
		//lint:ignore SA1019 deprecated but still used by apps; it must keep working.
		if err := client.TriggerExclusive("a", "ev", "d", "123.456"); err != nil {
			t.Fatal(err)
		}
		want := []hub.PublishRequest{{Name: "ev", Channels: []string{"a"}, Data: "d", SocketID: "123.456"}}
		if got := lastPublished(t); !reflect.DeepEqual(got, want) {
			t.Errorf("hub got %+v, want %+v", got, want)
		}
	})
	t.Run("TriggerWithParams", func(t *testing.T) {
		res, err := client.TriggerWithParams("presence-lobby", "ev", []int{1, 2},
			pusher.TriggerParams{Info: str("user_count")})
		if err != nil {
			t.Fatal(err)
		}
		want := []hub.PublishRequest{{Name: "ev", Channels: []string{"presence-lobby"}, Data: "[1,2]", Info: hub.InfoUserCount}}
		if got := lastPublished(t); !reflect.DeepEqual(got, want) {
			t.Errorf("hub got %+v, want %+v", got, want)
		}
		wantRes := map[string]pusher.TriggerChannelListItem{"presence-lobby": {UserCount: intp(1)}}
		if !reflect.DeepEqual(res.Channels, wantRes) {
			t.Errorf("client parsed %s, want %s", dumpTrigger(res.Channels), dumpTrigger(wantRes))
		}
	})
	t.Run("TriggerMultiWithParams info", func(t *testing.T) {
		res, err := client.TriggerMultiWithParams([]string{"presence-room", "my-channel"}, "ev", "d",
			pusher.TriggerParams{Info: str("user_count,subscription_count"), SocketID: str("1.2")})
		if err != nil {
			t.Fatal(err)
		}
		want := []hub.PublishRequest{{Name: "ev", Channels: []string{"presence-room", "my-channel"}, Data: "d",
			SocketID: "1.2", Info: hub.InfoUserCount | hub.InfoSubscriptionCount}}
		if got := lastPublished(t); !reflect.DeepEqual(got, want) {
			t.Errorf("hub got %+v, want %+v", got, want)
		}
		wantRes := map[string]pusher.TriggerChannelListItem{
			"presence-room": {UserCount: intp(3), SubscriptionCount: intp(4)},
			"my-channel":    {SubscriptionCount: intp(3)},
		}
		if !reflect.DeepEqual(res.Channels, wantRes) {
			t.Errorf("client parsed %s, want %s", dumpTrigger(res.Channels), dumpTrigger(wantRes))
		}
	})
	t.Run("TriggerBatch", func(t *testing.T) {
		res, err := client.TriggerBatch([]pusher.Event{
			{Channel: "my-channel", Name: "e1", Data: "1", Info: str("subscription_count")},
			{Channel: "b", Name: "e2", Data: map[string]int{"n": 2}, SocketID: str("9.9")},
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []hub.PublishRequest{
			{Name: "e1", Channels: []string{"my-channel"}, Data: "1", Info: hub.InfoSubscriptionCount},
			{Name: "e2", Channels: []string{"b"}, Data: `{"n":2}`, SocketID: "9.9"},
		}
		if got := lastPublished(t); !reflect.DeepEqual(got, want) {
			t.Errorf("hub got %+v, want %+v", got, want)
		}
		if len(res.Batch) != 2 || res.Batch[0].SubscriptionCount == nil || *res.Batch[0].SubscriptionCount != 3 ||
			res.Batch[0].UserCount != nil || res.Batch[1].SubscriptionCount != nil || res.Batch[1].UserCount != nil {
			t.Errorf("client parsed %+v", res.Batch)
		}
	})
	t.Run("SendToUser", func(t *testing.T) {
		if err := client.SendToUser("user-42", "notice", map[string]string{"a": "b"}); err != nil {
			t.Fatal(err)
		}
		want := []hub.PublishRequest{{Name: "notice", Channels: []string{"#server-to-user-user-42"}, Data: `{"a":"b"}`}}
		if got := lastPublished(t); !reflect.DeepEqual(got, want) {
			t.Errorf("hub got %+v, want %+v", got, want)
		}
	})
	t.Run("Channels", func(t *testing.T) {
		res, err := client.Channels(pusher.ChannelsParams{FilterByPrefix: str("presence-"), Info: str("user_count")})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]pusher.ChannelListItem{"presence-room": {UserCount: 3}, "presence-lobby": {UserCount: 1}}
		if !reflect.DeepEqual(res.Channels, want) {
			t.Errorf("client parsed %+v, want %+v", res.Channels, want)
		}
		res, err = client.Channels(pusher.ChannelsParams{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Channels) != 6 {
			t.Errorf("client parsed %+v, want 6 channels", res.Channels)
		}
	})
	t.Run("Channel", func(t *testing.T) {
		res, err := client.Channel("presence-room", pusher.ChannelParams{Info: str("user_count,subscription_count")})
		if err != nil {
			t.Fatal(err)
		}
		want := pusher.Channel{Name: "presence-room", Occupied: true, UserCount: 3, SubscriptionCount: 4}
		if *res != want {
			t.Errorf("client parsed %+v, want %+v", *res, want)
		}
		// A name with the special characters channels may have; the SDK
		// puts it in the path unescaped.
		res, err = client.Channel("foo@bar,baz;x=y", pusher.ChannelParams{Info: str("subscription_count")})
		if err != nil {
			t.Fatal(err)
		}
		want = pusher.Channel{Name: "foo@bar,baz;x=y", Occupied: true, SubscriptionCount: 5}
		if *res != want {
			t.Errorf("client parsed %+v, want %+v", *res, want)
		}
	})
	t.Run("GetChannelUsers", func(t *testing.T) {
		res, err := client.GetChannelUsers("presence-room")
		if err != nil {
			t.Fatal(err)
		}
		want := []pusher.User{{ID: "1"}, {ID: "2"}, {ID: `ümlaut"id`}}
		if !reflect.DeepEqual(res.List, want) {
			t.Errorf("client parsed %+v, want %+v", res.List, want)
		}
	})
	t.Run("errors reach the SDK", func(t *testing.T) {
		big := pusher.Client{AppID: client.AppID, Key: client.Key, Secret: client.Secret, Host: client.Host,
			HTTPClient: client.HTTPClient, OverrideMaxMessagePayloadKB: 20}
		err := big.Trigger("a", "e", strings.Repeat("x", 11*1024))
		if err == nil || !strings.Contains(err.Error(), "Status Code: 413") || !strings.Contains(err.Error(), "payload_too_large") {
			t.Errorf("oversized trigger: %v, want a 413", err)
		}
		wrong := pusher.Client{AppID: client.AppID, Key: client.Key, Secret: "not-the-secret", Host: client.Host,
			HTTPClient: client.HTTPClient}
		if _, err := wrong.Channels(pusher.ChannelsParams{}); err == nil || !strings.Contains(err.Error(), "Status Code: 401") {
			t.Errorf("wrong secret: %v, want a 401", err)
		}
		if got := lastPublished(t); len(got) != 0 {
			t.Errorf("hub got %+v", got)
		}
	})
	// pusher-http-go v5.1.1 has no TerminateUserConnections: sign by hand,
	// over the network, with the real clock.
	t.Run("terminate_connections", func(t *testing.T) {
		c := creds{testKey, testSecret, time.Now().Unix()}
		path := "/apps/3/users/user-42/terminate_connections"
		q := signQuery(c, "POST", path, nil, []byte(`{}`))
		res, err := client.HTTPClient.Post(srv.URL+path+"?"+q, "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || string(b) != "{}" {
			t.Errorf("got %d %s, want 200 {}", res.StatusCode, b)
		}
		if got := fh.Terminated(); !reflect.DeepEqual(got, []string{"3/user-42"}) {
			t.Errorf("terminated %q", got)
		}
	})
}

func dumpTrigger(m map[string]pusher.TriggerChannelListItem) string {
	var b strings.Builder
	for k, v := range m {
		b.WriteString(k + ":")
		if v.UserCount != nil {
			b.WriteString(" user_count=" + strconv.Itoa(*v.UserCount))
		}
		if v.SubscriptionCount != nil {
			b.WriteString(" subscription_count=" + strconv.Itoa(*v.SubscriptionCount))
		}
		b.WriteString("; ")
	}
	return b.String()
}

package sockudo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/internal/auth"
	"github.com/sockudo-go/sockudo/internal/testenv"
	"github.com/sockudo-go/sockudo/internal/wstest"
)

func trigger(t *testing.T, s *testServer, name, data string, channels ...string) {
	t.Helper()
	if err := s.Trigger(context.Background(), testID, sockudo.Event{Name: name, Channels: channels, Data: data}); err != nil {
		t.Fatalf("Trigger: %v", err)
	}
}

func TestPublicSubscribeAndPublish(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithApps(testApp()))
	a, b := s.dial(t, testKey), s.dial(t, testKey)
	f := a.SubscribeOK(t, testKey, testSecret, "news", "")
	if f.DataString(t) != "{}" {
		t.Fatalf("subscription_succeeded data %s, want \"{}\"", f.Data)
	}
	b.SubscribeOK(t, testKey, testSecret, "news", "")
	trigger(t, s, "headline", `{"title":"Go"}`, "news")
	for _, c := range []*wstest.Client{a, b} {
		got := c.Expect(t, "headline")
		if got.Channel != "news" || got.DataString(t) != `{"title":"Go"}` {
			t.Fatalf("got %s", got.Raw)
		}
	}
	// Duplicate subscribe is re-acknowledged, not an error.
	a.SubscribeOK(t, testKey, testSecret, "news", "")
	// Unsubscribed sockets get nothing.
	a.SendJSON(t, map[string]any{"event": "pusher:unsubscribe", "data": map[string]string{"channel": "news"}})
	b.Send(t, `{"event":"pusher:ping","data":{}}`)
	b.Expect(t, "pusher:pong")
	testenv.Eventually(t, wstest.Timeout, "the unsubscribe to apply", func() bool {
		ch, _ := s.Channel(context.Background(), testID, "news")
		return ch.SubscriptionCount == 1
	})
	trigger(t, s, "second", "2", "news")
	b.Expect(t, "second")
	a.ExpectNone(t, "second", 200*time.Millisecond)
}

func TestPrivateChannelAuth(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithApps(testApp()))
	c := s.dial(t, testKey)
	c.SubscribeOK(t, testKey, testSecret, "private-room", "")

	for name, token := range map[string]string{
		"missing":        "",
		"wrong secret":   auth.Token(testKey, "wrong", auth.ChannelString(c.SocketID, "private-x", "")),
		"wrong key":      auth.Token("other", testSecret, auth.ChannelString(c.SocketID, "private-x", "")),
		"other socket":   auth.Token(testKey, testSecret, auth.ChannelString("1.1", "private-x", "")),
		"other channel":  auth.Token(testKey, testSecret, auth.ChannelString(c.SocketID, "private-y", "")),
		"no colon":       "garbage",
		"encrypted, bad": "",
	} {
		t.Run(name, func(t *testing.T) {
			ch := "private-x"
			if strings.HasPrefix(name, "encrypted") {
				ch = "private-encrypted-x"
			}
			c.Subscribe(t, ch, token, "")
			code, _ := c.ExpectError(t)
			if code != 4009 {
				t.Fatalf("code %d, want 4009", code)
			}
			f := c.Expect(t, "pusher:subscription_error")
			var d struct {
				Type   string `json:"type"`
				Status int    `json:"status"`
			}
			if err := json.Unmarshal(f.Data, &d); err != nil || d.Type != "AuthError" || d.Status != 401 || f.Channel != ch {
				t.Fatalf("subscription_error %s", f.Raw)
			}
		})
	}
	c.SubscribeOK(t, testKey, testSecret, "private-encrypted-secret", "")
}

func presenceData(id, name string) string {
	return fmt.Sprintf(`{"user_id":%q,"user_info":{"name":%q}}`, id, name)
}

func TestPresenceMembersOncePerUser(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithApps(testApp()))
	const ch = "presence-room"
	alice := s.dial(t, testKey)
	f := alice.SubscribeOK(t, testKey, testSecret, ch, presenceData("1", "Alice"))
	var pres struct {
		Presence struct {
			IDs   []string                   `json:"ids"`
			Hash  map[string]json.RawMessage `json:"hash"`
			Count int                        `json:"count"`
		} `json:"presence"`
	}
	f.DataJSON(t, &pres)
	if pres.Presence.Count != 1 || len(pres.Presence.IDs) != 1 || pres.Presence.IDs[0] != "1" || string(pres.Presence.Hash["1"]) != `{"name":"Alice"}` {
		t.Fatalf("presence data %s", f.DataString(t))
	}

	bob1 := s.dial(t, testKey)
	bob1.SubscribeOK(t, testKey, testSecret, ch, presenceData("2", "Bob"))
	added := alice.Expect(t, "pusher_internal:member_added")
	if added.DataString(t) != `{"user_id":"2","user_info":{"name":"Bob"}}` {
		t.Fatalf("member_added %s", added.Raw)
	}
	// Bob's second tab: no second member_added; counts are per user.
	bob2 := s.dial(t, testKey)
	f = bob2.SubscribeOK(t, testKey, testSecret, ch, presenceData("2", "Bob"))
	f.DataJSON(t, &pres)
	if pres.Presence.Count != 2 {
		t.Fatalf("count %d after a second socket of the same user, want 2", pres.Presence.Count)
	}
	alice.ExpectNone(t, "pusher_internal:member_added", 200*time.Millisecond)

	users, err := s.ChannelUsers(context.Background(), testID, ch)
	if err != nil || strings.Join(users, ",") != "1,2" {
		t.Fatalf("ChannelUsers = %v, %v", users, err)
	}
	info, err := s.Channel(context.Background(), testID, ch)
	if err != nil || info.UserCount != 2 || info.SubscriptionCount != 3 {
		t.Fatalf("Channel = %+v, %v", info, err)
	}
	list, err := s.Channels(context.Background(), testID, "")
	if err != nil || list[ch].UserCount != 2 || list[ch].SubscriptionCount != 3 {
		t.Fatalf("Channels = %+v, %v", list, err)
	}

	// One of Bob's sockets leaves: nothing; the last leaves: member_removed.
	bob1.Close()
	alice.ExpectNone(t, "pusher_internal:member_removed", 300*time.Millisecond)
	bob2.SendJSON(t, map[string]any{"event": "pusher:unsubscribe", "data": map[string]string{"channel": ch}})
	removed := alice.Expect(t, "pusher_internal:member_removed")
	if removed.DataString(t) != `{"user_id":"2"}` {
		t.Fatalf("member_removed %s", removed.Raw)
	}
}

func TestPresenceNumericUserIDAndLimits(t *testing.T) {
	t.Parallel()
	app := testApp()
	app.MaxPresenceMembersPerChannel = 2
	app.MaxPresenceMemberSizeInKB = 1
	s := newTestServer(t, sockudo.WithApps(app))
	c := s.dial(t, testKey)
	f := c.SubscribeOK(t, testKey, testSecret, "presence-n", `{"user_id":10}`)
	if !strings.Contains(f.DataString(t), `"ids":["10"]`) {
		t.Fatalf("numeric id not normalised to a string: %s", f.DataString(t))
	}
	c.SubscribeOK(t, testKey, testSecret, "presence-n", `{"user_id":10}`)
	d := s.dial(t, testKey)
	d.SubscribeOK(t, testKey, testSecret, "presence-n", `{"user_id":"11"}`)
	e := s.dial(t, testKey)
	data := `{"user_id":"12"}`
	e.Subscribe(t, "presence-n", auth.Token(testKey, testSecret, auth.ChannelString(e.SocketID, "presence-n", data)), data)
	if code, _ := e.ExpectError(t); code != 4100 {
		t.Fatalf("member limit: code %d, want 4100", code)
	}
	big := fmt.Sprintf(`{"user_id":"13","user_info":{"x":%q}}`, strings.Repeat("a", 1100))
	e.Subscribe(t, "presence-big", auth.Token(testKey, testSecret, auth.ChannelString(e.SocketID, "presence-big", big)), big)
	if code, _ := e.ExpectError(t); code == 0 {
		t.Fatal("oversized user_info accepted")
	}
	bad := `{"user_info":{}}`
	e.Subscribe(t, "presence-x", auth.Token(testKey, testSecret, auth.ChannelString(e.SocketID, "presence-x", bad)), bad)
	if code, _ := e.ExpectError(t); code == 0 {
		t.Fatal("channel_data without user_id accepted")
	}
}

func TestClientEvents(t *testing.T) {
	t.Parallel()
	noClient := testApp()
	noClient.ID, noClient.Key, noClient.EnableClientMessages = "quiet", "quiet-key", false
	s := newTestServer(t, sockudo.WithApps(testApp(), noClient))
	a, b := s.dial(t, testKey), s.dial(t, testKey)
	for _, c := range []*wstest.Client{a, b} {
		c.SubscribeOK(t, testKey, testSecret, "private-chat", "")
	}
	a.Send(t, `{"event":"client-typing","channel":"private-chat","data":{"x":1}}`)
	got := b.Expect(t, "client-typing")
	if got.DataString(t) != `{"x":1}` || got.UserID != "" {
		t.Fatalf("client event %s", got.Raw)
	}
	a.ExpectNone(t, "client-typing", 200*time.Millisecond) // not echoed

	// A string payload is forwarded as is.
	a.Send(t, `{"event":"client-s","channel":"private-chat","data":"hello"}`)
	if got := b.Expect(t, "client-s"); got.DataString(t) != "hello" {
		t.Fatalf("string data %s", got.Raw)
	}

	// Presence: user_id added from the sender's channel_data.
	a.SubscribeOK(t, testKey, testSecret, "presence-p", presenceData("7", "A"))
	b.SubscribeOK(t, testKey, testSecret, "presence-p", presenceData("8", "B"))
	a.Send(t, `{"event":"client-hi","channel":"presence-p","data":{},"user_id":"spoofed"}`)
	if got := b.Expect(t, "client-hi"); got.UserID != "7" {
		t.Fatalf("presence client event user_id %q, want 7", got.UserID)
	}

	// Both are subscribed to the public and the encrypted channel, so the
	// rejections below are about the channel type, not the membership.
	for _, c := range []*wstest.Client{a, b} {
		c.SubscribeOK(t, testKey, testSecret, "news", "")
		c.SubscribeOK(t, testKey, testSecret, "private-encrypted-x", "")
	}
	for name, raw := range map[string]string{
		"public channel":  `{"event":"client-x","channel":"news","data":{}}`,
		"not subscribed":  `{"event":"client-x","channel":"private-other","data":{}}`,
		"encrypted":       `{"event":"client-x","channel":"private-encrypted-x","data":{}}`,
		"long event name": `{"event":"client-` + strings.Repeat("x", 200) + `","channel":"private-chat","data":{}}`,
		"too large":       `{"event":"client-x","channel":"private-chat","data":"` + strings.Repeat("x", 11*1024) + `"}`,
	} {
		a.Send(t, raw)
		if code, _ := a.ExpectError(t); code != 4301 {
			t.Fatalf("%s: code %d, want 4301", name, code)
		}
	}
	b.ExpectNone(t, "client-x", 200*time.Millisecond)

	q := s.dial(t, "quiet-key")
	q.SubscribeOK(t, "quiet-key", testSecret, "private-chat", "")
	q.Send(t, `{"event":"client-x","channel":"private-chat","data":{}}`)
	if code, _ := q.ExpectError(t); code != 4301 {
		t.Fatalf("disabled client events: code %d, want 4301", code)
	}
}

func TestClientEventRateLimit(t *testing.T) {
	t.Parallel()
	app := testApp()
	app.MaxClientEventsPerSecond = 3
	s := newTestServer(t, sockudo.WithApps(app))
	a, b := s.dial(t, testKey), s.dial(t, testKey)
	a.SubscribeOK(t, testKey, testSecret, "private-r", "")
	b.SubscribeOK(t, testKey, testSecret, "private-r", "")
	for i := 0; i < 5; i++ {
		a.Send(t, `{"event":"client-n","channel":"private-r","data":{}}`)
	}
	code, _ := a.ExpectError(t)
	if code != 4301 {
		t.Fatalf("code %d, want 4301", code)
	}
	for i := 0; i < 3; i++ {
		b.Expect(t, "client-n")
	}
	b.ExpectNone(t, "client-n", 200*time.Millisecond)
	// Rate limiting is an error message, never a close.
	a.Send(t, `{"event":"pusher:ping","data":{}}`)
	a.Expect(t, "pusher:pong")
}

func TestChannelNameRules(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithApps(testApp()))
	c := s.dial(t, testKey)
	for _, ok := range []string{"a-b_c=d@e,f.g;h", strings.Repeat("x", 200)} {
		c.SubscribeOK(t, testKey, testSecret, ok, "")
	}
	for _, bad := range []string{"", "sp ace", "star*", strings.Repeat("x", 201), "#server-to-user-1"} {
		c.Subscribe(t, bad, "", "")
		if code, _ := c.ExpectError(t); code == 0 {
			t.Fatalf("%q: no error code", bad)
		}
	}
}

func TestConcurrentFanOut(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, sockudo.WithApps(testApp()))
	const clients, events = 20, 50
	cs := make([]*wstest.Client, clients)
	for i := range cs {
		cs[i] = s.dial(t, testKey)
		cs[i].SubscribeOK(t, testKey, testSecret, "fan", "")
	}
	var wg sync.WaitGroup
	for p := 0; p < 4; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for i := 0; i < events/4; i++ {
				_ = s.Trigger(context.Background(), testID, sockudo.Event{Name: "e", Channels: []string{"fan"}, Data: fmt.Sprint(p, i)})
			}
		}(p)
	}
	wg.Wait()
	for _, c := range cs {
		seen := map[string]bool{}
		for len(seen) < events-events%4 {
			f := c.Expect(t, "e")
			seen[f.DataString(t)] = true
		}
	}
}

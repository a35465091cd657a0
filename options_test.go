package sockudo_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/appmanager/memory"
	"github.com/sockudo-go/sockudo/internal/auth"
)

func TestNewRejectsBadOptions(t *testing.T) {
	t.Parallel()
	m, _ := memory.New()
	tests := []struct {
		option string
		opt    sockudo.Option
	}{
		{"WithLogger", sockudo.WithLogger(nil)},
		{"WithActivityTimeout", sockudo.WithActivityTimeout(10 * time.Millisecond)},
		{"WithPongTimeout", sockudo.WithPongTimeout(0)},
		{"WithMaxMessageSize", sockudo.WithMaxMessageSize(10)},
		{"WithOutboundQueue", sockudo.WithOutboundQueue(0)},
		{"WithSlowConsumerPolicy", sockudo.WithSlowConsumerPolicy(7)},
		{"WithUserAuthenticationTimeout", sockudo.WithUserAuthenticationTimeout(-time.Second)},
		{"WithMaxConnections", sockudo.WithMaxConnections(-1)},
		{"WithPathPrefix", sockudo.WithPathPrefix("pusher/")},
		{"WithAppCache", sockudo.WithAppCache(-time.Second)},
		{"WithCacheChannelTTL", sockudo.WithCacheChannelTTL(0)},
		{"WithMaxRequestBody", sockudo.WithMaxRequestBody(1)},
		{"WithTimestampSkew", sockudo.WithTimestampSkew(0)},
		{"WithRequestBodyTimeout", sockudo.WithRequestBodyTimeout(0)},
		{"WithAPIRateLimit", sockudo.WithAPIRateLimit(sockudo.RateLimit{Max: 0, Window: time.Second})},
		{"WithConnectionRateLimit", sockudo.WithConnectionRateLimit(sockudo.RateLimit{Max: 1})},
		{"WithApps", sockudo.WithApps(appmanager.App{ID: "x"})},
		{"WithWebhookDelay", sockudo.WithWebhookDelay(0)},
		{"WithWebhookRetry", sockudo.WithWebhookRetry(0)},
		{"WithWebhookBatching", sockudo.WithWebhookBatching(time.Second, 0)},
		{"WithApps", sockudo.WithApps(testApp(), testApp())},
		{"WithMaxChannelsPerConnection", sockudo.WithMaxChannelsPerConnection(0)},
		{"WithSubscribeRate", sockudo.WithSubscribeRate(0)},
		{"WithClientEventRate", sockudo.WithClientEventRate(-1)},
		{"WithMaxChannelsListed", sockudo.WithMaxChannelsListed(0)},
	}
	for _, tt := range tests {
		_, err := sockudo.New(tt.opt)
		if !errors.Is(err, sockudo.ErrInvalidOption) || !strings.Contains(err.Error(), tt.option) {
			t.Errorf("%s: New = %v, want ErrInvalidOption naming the option", tt.option, err)
		}
	}
	if _, err := sockudo.New(sockudo.WithApps(testApp()), sockudo.WithAppManager(m)); !errors.Is(err, sockudo.ErrInvalidOption) {
		t.Errorf("WithApps with WithAppManager: %v", err)
	}
}

func TestSigningHelpers(t *testing.T) {
	t.Parallel()
	const key, secret, socket = "278d425bdf160c739803", "7ad3773142a6692b25b8", "1234.1234"
	var got map[string]string
	body, err := sockudo.AuthorizePresenceChannel(key, secret, socket, "presence-foobar",
		sockudo.PresenceMember{UserID: "10", UserInfo: map[string]string{"name": "Mr. Pusher"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if got["channel_data"] != `{"user_id":"10","user_info":{"name":"Mr. Pusher"}}` ||
		got["auth"] != key+":48dac51d2d7569e1e9c0f48c227d4b26f238fa68e5c0bb04222c966909c4f7c4" {
		t.Fatalf("presence auth %s", body)
	}
	body, err = sockudo.AuthorizeEncryptedChannel(key, secret, socket, "private-encrypted-foo", "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXowMTIzNDU=")
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	_ = json.Unmarshal(body, &got)
	if got["shared_secret"] != "qyHkkEXevEN0T8hk7wwNQPW1xfJAk7vcckx4XIU8uLk=" ||
		got["auth"] != auth.Token(key, secret, socket+":private-encrypted-foo") {
		t.Fatalf("encrypted auth %s", body)
	}
	for name, f := range map[string]func() error{
		"bad socket id": func() error { _, err := sockudo.AuthorizeChannel(key, secret, "1234", "private-a"); return err },
		"short master key": func() error {
			_, err := sockudo.AuthorizeEncryptedChannel(key, secret, socket, "private-encrypted-a", "c2hvcnQ=")
			return err
		},
		"empty user id": func() error { _, err := sockudo.AuthenticateUser(key, secret, socket, sockudo.User{}); return err },
		"empty member": func() error {
			_, err := sockudo.AuthorizePresenceChannel(key, secret, socket, "presence-a", sockudo.PresenceMember{})
			return err
		},
	} {
		if f() == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

package auth

import (
	"net/url"
	"testing"
)

// Vectors from the protocol research notes (pusher-protocol.md §11.8, §12, §13).
const (
	key    = "278d425bdf160c739803"
	secret = "7ad3773142a6692b25b8"
)

func TestSignatureVectors(t *testing.T) {
	tests := []struct {
		name, msg, want string
	}{
		{"private", ChannelString("1234.1234", "private-foobar", ""), "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"},
		{"user", UserString("1234.1234", `{"id":"12345"}`), "4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba"},
		{"presence", ChannelString("1234.1234", "presence-foobar", `{"user_id":"10","user_info":{"name":"Mr. Pusher"}}`), "48dac51d2d7569e1e9c0f48c227d4b26f238fa68e5c0bb04222c966909c4f7c4"},
		{"presence numeric id", ChannelString("1234.1234", "presence-foobar", `{"user_id":10,"user_info":{"name":"Mr. Channels"}}`), "31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sign(secret, tt.msg); got != tt.want {
				t.Fatalf("Sign = %s, want %s", got, tt.want)
			}
			if err := VerifyToken(key+":"+tt.want, key, secret, tt.msg); err != nil {
				t.Fatalf("VerifyToken: %v", err)
			}
		})
	}
}

func TestVerifyTokenRejects(t *testing.T) {
	msg := ChannelString("1234.1234", "private-foobar", "")
	good := Token(key, secret, msg)
	for _, tok := range []string{"", key, key + ":", "other:" + good[len(key)+1:], good + "0", key + ":" + Sign("wrong", msg)} {
		if err := VerifyToken(tok, key, secret, msg); err == nil {
			t.Errorf("VerifyToken(%q) = nil, want error", tok)
		}
	}
}

func TestRequestStringVectors(t *testing.T) {
	tests := []struct {
		method, path, query, want string
	}{
		{"POST", "/apps/3/events", "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f",
			"da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c"},
		{"GET", "/apps/3/channels", "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&filter_by_prefix=presence-&info=user_count",
			"16819168891cb5dfd72b5c7a5d3d602605b26c6ba1930033b5e2eeeb65010291"},
		{"post", "/apps/3/users/u1/terminate_connections", "auth_signature=ignored&auth_version=1.0&body_md5=99914b932bd37a50b983c5e7c90ae93b&AUTH_TIMESTAMP=1353088179&auth_key=278d425bdf160c739803",
			"61efad5e9fe693a686a71ff197d9770bd2c257d87ce961f4efda2dae952c4345"},
	}
	for _, tt := range tests {
		q, err := url.ParseQuery(tt.query)
		if err != nil {
			t.Fatal(err)
		}
		if got := Sign(secret, RequestString(tt.method, tt.path, q)); got != tt.want {
			t.Errorf("%s %s: signature %s, want %s", tt.method, tt.path, got, tt.want)
		}
	}
}

func TestWebhookSignatureVector(t *testing.T) {
	body := `{"time_ms":1327078148132,"events":[{"name":"channel_occupied","channel":"test_channel"}]}`
	if got := WebhookSignature(secret, []byte(body)); got != "709fdb84c03664445f7698120b0edf0acc1ab1c8c6e93a0368c61841d6b998aa" {
		t.Fatalf("WebhookSignature = %s", got)
	}
}

func TestSharedSecretVector(t *testing.T) {
	master := []byte("abcdefghijklmnopqrstuvwxyz012345")
	if got := SharedSecret("private-encrypted-foo", master); got != "qyHkkEXevEN0T8hk7wwNQPW1xfJAk7vcckx4XIU8uLk=" {
		t.Fatalf("SharedSecret = %s", got)
	}
}

package hub

import (
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sockudo-go/sockudo/internal/protocol"
	"github.com/sockudo-go/sockudo/ratelimit"
	ratelimitmemory "github.com/sockudo-go/sockudo/ratelimit/memory"
)

func TestOriginAllowed(t *testing.T) {
	tests := []struct {
		allowed []string
		origin  string
		want    bool
	}{
		{nil, "https://any.example", true},
		{[]string{"*"}, "https://any.example", true},
		{[]string{"https://app.example.com"}, "https://app.example.com", true},
		{[]string{"https://app.example.com"}, "http://app.example.com", false},
		{[]string{"app.example.com"}, "http://app.example.com", true},
		{[]string{"*.example.com"}, "https://a.example.com", true},
		{[]string{"*.example.com"}, "https://example.com", false},
		{[]string{"*.example.com"}, "https://evil-example.com", false},
		{[]string{"https://*.example.com"}, "http://a.example.com", false},
		{[]string{"https://app.example.com"}, "", false},
		{[]string{"HTTPS://App.Example.com"}, "https://app.example.com", true},
		// No Origin (pusher-js in Node, mobile SDKs): "*" and "any" admit
		// it, as in Sockudo; any other list refuses it.
		{[]string{"*"}, "", true},
		{[]string{"https://app.example.com", "*"}, "", true},
		{[]string{"Any"}, "", true},
		{[]string{"*.example.com"}, "", false},
	}
	for _, tt := range tests {
		if got := originAllowed(tt.allowed, tt.origin); got != tt.want {
			t.Errorf("originAllowed(%v, %q) = %v, want %v", tt.allowed, tt.origin, got, tt.want)
		}
	}
}

func TestCheckProtocol(t *testing.T) {
	tests := []struct {
		query  string
		strict bool
		want   int
	}{
		{"protocol=7", false, 0},
		{"protocol=5", true, 0},
		{"", false, 0},
		{"", true, protocol.CodeNoProtocol},
		{"protocol=8", false, protocol.CodeUnsupportedProtocol},
		{"protocol=1", false, protocol.CodeUnsupportedProtocol},
		{"protocol=x", false, protocol.CodeInvalidVersion},
	}
	for _, tt := range tests {
		q, _ := url.ParseQuery(tt.query)
		if got, _ := checkProtocol(q, tt.strict); got != tt.want {
			t.Errorf("checkProtocol(%q, strict %v) = %d, want %d", tt.query, tt.strict, got, tt.want)
		}
	}
}

func TestSocketIDs(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := newSocketID()
		if !protocol.ValidSocketID(id) || seen[id] {
			t.Fatalf("socket id %q invalid or repeated", id)
		}
		seen[id] = true
	}
}

func TestPresenceData(t *testing.T) {
	ch := &channel{members: map[string]*member{
		"2": {sockets: 1, info: []byte(`{"name":"B"}`)},
		"1": {sockets: 2},
	}}
	want := `{"presence":{"ids":["1","2"],"hash":{"1":null,"2":{"name":"B"}},"count":2}}`
	if got := ch.presenceDataLocked(); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestParseChannelData(t *testing.T) {
	for in, want := range map[string]string{
		`{"user_id":"a"}`:                  "a",
		`{"user_id":10,"user_info":{}}`:    "10",
		`{"user_id":1.5e3}`:                "1.5e3",
		`{"user_id":"x","user_info":null}`: "x",
	} {
		pm, err := parseChannelData(in, 0)
		if err != nil || pm.userID != want {
			t.Errorf("parseChannelData(%s) = %+v, %v; want id %q", in, pm, err, want)
		}
	}
	for _, bad := range []string{``, `[]`, `{}`, `{"user_id":""}`, `{"user_id":true}`, `{"user_id":null}`, `not json`} {
		if _, err := parseChannelData(bad, 0); err == nil {
			t.Errorf("parseChannelData(%q) accepted", bad)
		}
	}
}

// testConfig is a complete Config with the server's defaults.
func testConfig(lim ratelimit.Limiter) Config {
	return Config{
		Logger: slog.New(slog.DiscardHandler), Limiter: lim,
		ActivityTimeout: 120 * time.Second, PongTimeout: 30 * time.Second, UserAuthTimeout: 30 * time.Second,
		CacheTTL: 30 * time.Minute, MaxMessageBytes: 64 << 10, OutboundQueue: 1000,
		MaxChannelsPerSocket: 200, SubscribeRate: 20, ClientEventRate: 10, MaxChannelsListed: 10000,
	}
}

func TestNewValidatesConfig(t *testing.T) {
	lim, err := ratelimitmemory.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(testConfig(lim)); err != nil {
		t.Fatalf("complete config: %v", err)
	}
	for name, mutate := range map[string]func(*Config){
		"Logger":               func(c *Config) { c.Logger = nil },
		"Limiter":              func(c *Config) { c.Limiter = nil },
		"ActivityTimeout":      func(c *Config) { c.ActivityTimeout = 0 },
		"PongTimeout":          func(c *Config) { c.PongTimeout = 0 },
		"OutboundQueue":        func(c *Config) { c.OutboundQueue = 0 },
		"MaxChannelsPerSocket": func(c *Config) { c.MaxChannelsPerSocket = 0 },
		"ClientEventRate":      func(c *Config) { c.ClientEventRate = -1 },
	} {
		cfg := testConfig(lim)
		mutate(&cfg)
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("New without %s = %v, want an error naming it", name, err)
		}
	}
}

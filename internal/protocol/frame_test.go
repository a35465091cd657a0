package protocol

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite the golden frames in testdata/")

// TestGoldenFrames pins the exact bytes of the frames clients parse.
func TestGoldenFrames(t *testing.T) {
	frames := map[string][]byte{
		"connection_established": ConnectionEstablished("123.456", 120),
		"watchlist":              Watchlist([]string{"1", "ü\"2"}, []string{"3"}),
		"watchlist_offline_only": Watchlist(nil, []string{"3"}),
		"subscription_succeeded": Event(EventSubscriptionSucceeded, "presence-room", `{"presence":{"ids":["1"],"hash":{"1":{"name":"A"}},"count":1}}`, ""),
		"client_event_presence":  Event("client-typing", "presence-room", `{"x":1}`, "42"),
		"error":                  Error(4001, "Application does not exist", ""),
		"error_null_code":        Error(0, "Existing subscription", "private-a"),
		"subscription_error":     SubscriptionError("private-a", "AuthError", "Invalid signature", 401),
		"cache_miss":             EventNoData(EventCacheMiss, "cache-a"),
	}
	for name, got := range frames {
		path := filepath.Join("testdata", name+".golden")
		if *update {
			if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v (run with -update to create)", name, err)
		}
		if string(want) != string(got)+"\n" {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
		if !json.Valid(got) {
			t.Errorf("%s is not valid JSON", name)
		}
	}
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `quote " backslash \ slash /`, "\x00\x01\x1f\n\r\t", "ünïcödé ✓", "bad \xff utf8", "\u2028\u2029", "<script>&"} {
		var back string
		if err := json.Unmarshal(AppendString(nil, s), &back); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		want := s
		if s == "bad \xff utf8" {
			want = "bad \ufffd utf8"
		}
		if back != want {
			t.Errorf("round trip of %q gave %q", s, back)
		}
	}
}

func TestDecode(t *testing.T) {
	m, err := Decode([]byte(`{"event":"pusher:subscribe","data":"{\"channel\":\"a\",\"channel_data\":{\"user_id\":1}}"}`))
	if err != nil {
		t.Fatal(err)
	}
	var d SubscribeData
	if err := m.DecodeData(&d); err != nil {
		t.Fatal(err)
	}
	if d.Channel != "a" || d.ChannelData != `{"user_id":1}` {
		t.Fatalf("decoded %+v", d)
	}
	for _, bad := range []string{``, `[]`, `{"data":{}}`, `{"event":1}`, `not json`} {
		if _, err := Decode([]byte(bad)); err == nil {
			t.Errorf("Decode(%q) succeeded", bad)
		}
	}
	m = Message{Data: json.RawMessage(`{ "a" : 1 }`)}
	if s, _ := m.DataString(); s != `{"a":1}` {
		t.Errorf("DataString of an object = %q", s)
	}
	m = Message{Data: json.RawMessage(`"text"`)}
	if s, _ := m.DataString(); s != "text" {
		t.Errorf("DataString of a string = %q", s)
	}
}

func TestErrorEchoesBoundedPrefix(t *testing.T) {
	for _, in := range []string{strings.Repeat("a", 64<<10), strings.Repeat("\xff", 64<<10), strings.Repeat("é", 1000)} {
		f := Error(4300, in, in)
		if len(f) > 3*MaxEcho {
			t.Errorf("error frame for %d input bytes is %d bytes", len(in), len(f))
		}
		if !utf8.Valid(f) {
			t.Errorf("error frame is not UTF-8")
		}
	}
	if got := EchoPrefix("news"); got != "news" {
		t.Errorf("EchoPrefix(news) = %q", got)
	}
}

package config

import (
	"reflect"
	"testing"

	"github.com/sockudo-go/sockudo"
)

func TestCORSConfig(t *testing.T) {
	cfg, _, err := Load("", mapEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.CORS.Policy(), sockudo.DefaultCORS(); !reflect.DeepEqual(got, want) {
		t.Fatalf("default cors %+v, want Sockudo's %+v", got, want)
	}
	// Keys left out keep their defaults, as in Sockudo.
	cfg, unknown, err := Load(writeConfig(t, `{"cors": {"credentials": false, "origin": ["https://app.example.com"]}}`), mapEnv(nil))
	if err != nil || len(unknown) != 0 {
		t.Fatalf("%v, unknown %v", err, unknown)
	}
	if cfg.CORS.Credentials || !reflect.DeepEqual(cfg.CORS.Origin, []string{"https://app.example.com"}) ||
		!reflect.DeepEqual(cfg.CORS.Methods, sockudo.DefaultCORS().Methods) {
		t.Fatalf("file cors %+v", cfg.CORS)
	}
	cfg, _, err = Load("", mapEnv(map[string]string{
		"CORS_ORIGINS": "https://a.example.com, *.example.org", "CORS_METHODS": "GET,POST",
		"CORS_HEADERS": "Authorization, Content-Type", "CORS_CREDENTIALS": "false",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := CORS{Origin: []string{"https://a.example.com", "*.example.org"}, Methods: []string{"GET", "POST"}, AllowedHeaders: []string{"Authorization", "Content-Type"}}
	if !reflect.DeepEqual(cfg.CORS, want) {
		t.Fatalf("env cors %+v, want %+v", cfg.CORS, want)
	}
	if _, _, err := Load("", mapEnv(map[string]string{"CORS_CREDENTIALS": "maybe"})); err == nil {
		t.Fatal("CORS_CREDENTIALS=maybe accepted")
	}
}

func TestWebSocketCompression(t *testing.T) {
	for _, tc := range []struct {
		file string
		env  map[string]string
		want sockudo.Compression
		ok   bool
	}{
		{`{}`, nil, sockudo.CompressionDisabled, true},
		{`{"websocket": {"compression": "dedicated"}}`, nil, sockudo.CompressionContextTakeover, true},
		{`{"websocket": {"compression": "Window4KB"}}`, nil, sockudo.CompressionContextTakeover, true},
		{`{}`, map[string]string{"WEBSOCKET_COMPRESSION": "shared"}, sockudo.CompressionNoContextTakeover, true},
		{`{"websocket": {"compression": "shared"}}`, map[string]string{"WEBSOCKET_COMPRESSION": "disabled"}, sockudo.CompressionDisabled, true},
		{`{"websocket": {"compression": "gzip"}}`, nil, sockudo.CompressionDisabled, false},
	} {
		cfg, unknown, err := Load(writeConfig(t, tc.file), mapEnv(tc.env))
		if err != nil || len(unknown) != 0 {
			t.Fatalf("%s: %v, unknown %v", tc.file, err, unknown)
		}
		if got, ok := cfg.WebSocket.CompressionMode(); got != tc.want || ok != tc.ok {
			t.Errorf("%s %v: mode %d %v, want %d %v", tc.file, tc.env, got, ok, tc.want, tc.ok)
		}
	}
}

package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sockudo-go/sockudo/cmd/sockudo/internal/config"
)

func loadWarnings(t *testing.T, file string, environ []string) string {
	t.Helper()
	path := ""
	if file != "" {
		path = filepath.Join(t.TempDir(), "config.json")
		if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, _, err := config.Load(path, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	warnIgnored(slog.New(slog.NewTextHandler(&out, nil)), &cfg, environ)
	return out.String()
}

func TestWarnSoketiVariables(t *testing.T) {
	log := loadWarnings(t, "", []string{"PATH=/bin", "SOKETI_DEFAULT_APP_ID=x", "SOKETI_PORT=6001", "PORT=6001"})
	if strings.Count(log, "soketi variables are not read; see the migration guide") != 1 {
		t.Fatalf("want one soketi warning:\n%s", log)
	}
	if !strings.Contains(log, "variables=SOKETI_DEFAULT_APP_ID,SOKETI_PORT") {
		t.Errorf("warning does not name the variables:\n%s", log)
	}
	if log := loadWarnings(t, "", []string{"PATH=/bin", "SOCKUDO_PORT=1", "MY_SOKETI_X=1"}); log != "" {
		t.Errorf("warned without SOKETI_* variables:\n%s", log)
	}
}

func TestWarnIgnoredAppSettings(t *testing.T) {
	log := loadWarnings(t, `{"app_manager":{"array":{"apps":[
		{"id":"a1","key":"k1","secret":"s","enabled":true,"policy":{
			"limits":{"max_connections":5,"terminate_on_limit":true},
			"channels":{"allowed_origins":["*"],"channel_namespaces":[{"name":"chat"}]},
			"idempotency":{"enabled":true},
			"webhooks":[{"url":"http://127.0.0.1/h","retry":{"enabled":true},"filter":{"channel_prefix":"p","channel_namespace":"chat"}}]},
			"max_event_batch_size":9},
		{"id":"a2","key":"k2","secret":"s","enabled":true,"channel_delta_compression":{},"channel_namespaces":[],
			"webhooks":[{"lambda_function":"f"}],"typo_key":1,"max_connections":1}]}}}`, nil)
	for _, want := range []string{
		`key=policy.limits.terminate_on_limit apps=a1 reason=`,
		`key=policy.channels.channel_namespaces apps=a1 reason="channel namespaces are not implemented"`,
		`key=policy.idempotency apps=a1`,
		`key=policy.webhooks.retry apps=a1`,
		`key=policy.webhooks.filter.channel_namespace apps=a1`,
		`key=max_event_batch_size apps=a1 reason="the app has a policy`,
		`key=channel_delta_compression apps=a2 reason="delta compression is not implemented"`,
		`key=channel_namespaces apps=a2`,
		`key=webhooks.lambda_function apps=a2 reason="only url targets are delivered"`,
		`key=typo_key apps=a2 reason="not a Sockudo app setting"`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	for _, supported := range []string{"key=policy.limits.max_connections", "key=policy.channels.allowed_origins", "filter.channel_prefix", "key=max_connections"} {
		if strings.Contains(log, supported) {
			t.Errorf("a supported setting was warned about: %s", supported)
		}
	}
	if n := strings.Count(log, "level=WARN"); n != 10 {
		t.Errorf("%d warnings, want 10 (one per key):\n%s", n, log)
	}
}

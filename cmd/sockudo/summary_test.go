package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/sockudo-go/sockudo/cmd/sockudo/internal/backends"
	"github.com/sockudo-go/sockudo/cmd/sockudo/internal/config"
	"github.com/sockudo-go/sockudo/internal/testenv"
)

func TestDefaultCredentialsWarning(t *testing.T) {
	for _, tc := range []struct {
		host string
		env  map[string]string
		warn bool
	}{
		{"0.0.0.0", nil, true},
		{"10.0.0.5", map[string]string{"SOCKUDO_DEFAULT_APP_SECRET": "s3cret"}, false}, // the key is public; the secret counts
		{"0.0.0.0", map[string]string{"SOCKUDO_DEFAULT_APP_ID": "mine", "SOCKUDO_DEFAULT_APP_KEY": "k", "SOCKUDO_DEFAULT_APP_SECRET": "s"}, false},
		{"127.0.0.1", nil, false},
		{"localhost", nil, false},
		{"::1", nil, false},
	} {
		cfg, _, err := config.Load("", mapEnv(tc.env))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Host = tc.host
		b, err := backends.Open(context.Background(), &cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		var logs testenv.LogBuffer
		logSummary(context.Background(), &cfg, b, slog.New(slog.NewTextHandler(&logs, nil)))
		b.Close()
		got := strings.Contains(logs.String(), "level=WARN") && strings.Contains(logs.String(), "well-known default app credentials")
		if got != tc.warn {
			t.Errorf("host %s env %v: warned %v, want %v:\n%s", tc.host, tc.env, got, tc.warn, logs.String())
		}
		if strings.Contains(logs.String(), "s3cret") {
			t.Errorf("summary shows a secret:\n%s", logs.String())
		}
	}
}

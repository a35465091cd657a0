package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockudo-go/sockudo/internal/testenv"
)

// mapEnv is an environment lookup reading m.
func mapEnv(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// localEnv is the environment of a server on 127.0.0.1 with an ephemeral
// port and no metrics listener, plus extra.
func localEnv(extra map[string]string) map[string]string {
	m := map[string]string{"HOST": "127.0.0.1", "PORT": "0", "METRICS_ENABLED": "false"}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func TestHelp(t *testing.T) {
	for _, arg := range []string{"--help", "-h"} {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), []string{arg}, &out, &errOut, mapEnv(nil)); err != nil {
			t.Fatalf("%s: %v", arg, err)
		}
		for _, want := range []string{"-config", "-check-config", "-version", "README.md"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("%s output lacks %q:\n%s", arg, want, out.String())
			}
		}
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"--nope"}, &out, &errOut, mapEnv(nil)); err == nil || !strings.Contains(errOut.String(), "-config") {
		t.Fatalf("unknown flag: err %v, stderr %q", err, errOut.String())
	}
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--version"}, &out, &out, mapEnv(nil)); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.HasPrefix(s, "sockudo ") || !strings.Contains(s, runtime.Version()) {
		t.Fatalf("--version printed %q", s)
	}
	got := formatVersion(&debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: "true"},
	}})
	if want := "sockudo v1.2.3 (revision abc123+dirty, 2026-12-01T10:00:00Z) " + runtime.Version(); got != want {
		t.Fatalf("formatVersion = %q, want %q", got, want)
	}
	if got := formatVersion(nil); got != "sockudo (unknown) "+runtime.Version() {
		t.Fatalf("formatVersion(nil) = %q", got)
	}
}

func TestCheckConfig(t *testing.T) {
	var out, errOut bytes.Buffer
	env := mapEnv(map[string]string{
		"SOCKUDO_DEFAULT_APP_SECRET": "top-secret-1",
		"REDIS_URL":                  "redis://u:top-secret-2@r:6379",
		"DATABASE_MYSQL_PASSWORD":    "top-secret-3",
		"PORT":                       "7001",
	})
	if err := run(context.Background(), []string{"--check-config"}, &out, &errOut, env); err != nil {
		t.Fatalf("--check-config: %v (%s)", err, errOut.String())
	}
	if strings.Contains(out.String(), "top-secret") {
		t.Fatalf("effective config shows a secret:\n%s", out.String())
	}
	var v map[string]any
	if err := json.Unmarshal(out.Bytes(), &v); err != nil || v["port"] != float64(7001) {
		t.Fatalf("output is not the config: %v\n%s", err, out.String())
	}
	for _, bad := range []map[string]string{
		{"LOG_LEVEL": "chatty"},
		{"HTTP_HEADER_TIMEOUT": "0"},
		{"CACHE_DRIVER": "memcached"},
		{"SSL_ENABLED": "true", "SSL_CERT_PATH": "/nonexistent.pem", "SSL_KEY_PATH": "/nonexistent.key"},
		{"SOCKUDO_MAX_CONNECTIONS": "-1"},
	} {
		out.Reset()
		err := run(context.Background(), []string{"--check-config"}, &out, &errOut, mapEnv(bad))
		if err == nil || out.Len() != 0 {
			t.Errorf("%v: err %v, output %q; want an error and no output", bad, err, out.String())
		}
	}
}

// startRun runs the binary in-process until the test ends, returning its
// log and the address it serves, read from the "serving" line.
func startRun(t *testing.T, env map[string]string) (*testenv.LogBuffer, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &testenv.LogBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, logs, logs, mapEnv(env)) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("run did not return after cancel")
		}
	})
	addr := waitLog(t, logs, done, `msg=serving addr=(\S+)`)
	return logs, addr
}

// waitLog waits for a log line matching pattern and returns its group.
func waitLog(t *testing.T, logs *testenv.LogBuffer, done chan error, pattern string) string {
	t.Helper()
	re := regexp.MustCompile(pattern)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(logs.String()); m != nil {
			return m[1]
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("run returned %v before logging %s:\n%s", err, pattern, logs.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("no log line %s:\n%s", pattern, logs.String())
	return ""
}

func TestServingAfterBindWithSummary(t *testing.T) {
	logs, addr := startRun(t, localEnv(map[string]string{"SOCKUDO_DEFAULT_APP_SECRET": "not-in-logs"}))
	resp, err := http.Get("http://" + addr + "/up")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /up: %d", resp.StatusCode)
	}
	s := logs.String()
	for _, want := range []string{
		`msg=apps source=SOCKUDO_DEFAULT_APP_* count=1`,
		`msg=app id=app-id key=app-key enabled=true`,
		`msg=driver role=app_manager driver=memory`,
		`msg=driver role=cache driver=memory`,
		`msg=driver role=queue driver=memory`,
		`msg=driver role=rate_limiter`,
		`msg=driver role=metrics driver=none`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("log lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "not-in-logs") || strings.Contains(s, "well-known default") {
		t.Errorf("log shows the secret or warns on loopback:\n%s", s)
	}
	if strings.Index(s, "msg=driver") > strings.Index(s, "msg=serving") {
		t.Errorf("summary after serving:\n%s", s)
	}
}

func TestTakenPortFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	var logs bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = run(ctx, nil, &logs, &logs, mapEnv(localEnv(map[string]string{"PORT": port})))
	if err == nil || !strings.Contains(err.Error(), "main listener") || !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("run on a taken port: %v", err)
	}
	if strings.Contains(logs.String(), "msg=serving") {
		t.Fatalf("serving logged although the bind failed:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Fatalf("errors logged on the way out:\n%s", logs.String())
	}
}

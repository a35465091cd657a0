package config

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestLogLevel(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		file string
		want slog.Level
	}{
		{nil, "", slog.LevelInfo},
		{map[string]string{"DEBUG": "true"}, "", slog.LevelDebug},
		{map[string]string{"DEBUG_MODE": "1"}, "", slog.LevelDebug},
		{map[string]string{"DEBUG": "true", "LOG_LEVEL": "warn"}, "", slog.LevelWarn},
		{map[string]string{"LOG_LEVEL": "ERROR"}, "", slog.LevelError},
		{map[string]string{"LOG_LEVEL": "trace"}, "", slog.LevelDebug},
		{map[string]string{"LOG_LEVEL": "debug"}, "", slog.LevelDebug},
		{nil, `{"debug": true}`, slog.LevelDebug},
		{nil, `{"logging": {"level": "warning"}}`, slog.LevelWarn},
		{map[string]string{"LOG_LEVEL": "info"}, `{"logging": {"level": "error"}}`, slog.LevelInfo},
	} {
		path := ""
		if tc.file != "" {
			path = writeConfig(t, tc.file)
		}
		cfg, _, err := Load(path, mapEnv(tc.env))
		if err != nil {
			t.Fatalf("%v %s: %v", tc.env, tc.file, err)
		}
		if got := cfg.LogLevel(); got != tc.want {
			t.Errorf("%v %s: level %v, want %v", tc.env, tc.file, got, tc.want)
		}
	}
}

func TestLoggingBadValuesNameTheKey(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		file string
		key  string
	}{
		{map[string]string{"LOG_LEVEL": "loud"}, "", "LOG_LEVEL"},
		{nil, `{"logging": {"level": "loud"}}`, "logging.level"},
		{map[string]string{"LOG_OUTPUT_FORMAT": "xml"}, "", "LOG_OUTPUT_FORMAT"},
		{map[string]string{"LOG_FORMAT": "xml"}, "", "LOG_FORMAT"},
		{nil, `{"logging": {"output_format": "xml"}}`, "logging.output_format"},
		{map[string]string{"LOG_COLORS_ENABLED": "maybe"}, "", "LOG_COLORS_ENABLED"},
	} {
		path := ""
		if tc.file != "" {
			path = writeConfig(t, tc.file)
		}
		_, _, err := Load(path, mapEnv(tc.env))
		if err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%v %s: error %v, want one naming %s", tc.env, tc.file, err, tc.key)
		}
	}
}

func TestSockudoLoggingKeysAreKnown(t *testing.T) {
	_, unknown, err := Load(writeConfig(t, `{"logging": {"colors_enabled": false, "include_target": true}}`), mapEnv(nil))
	if err != nil || len(unknown) != 0 {
		t.Fatalf("err %v, unknown %v", err, unknown)
	}
}

func TestNewLoggerFormat(t *testing.T) {
	for _, tc := range []struct {
		format string
		json   bool
	}{{"", false}, {"text", false}, {"json", true}, {"JSON", true}} {
		cfg, _, err := Load("", mapEnv(map[string]string{"LOG_OUTPUT_FORMAT": tc.format, "LOG_LEVEL": "debug"}))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		cfg.NewLogger(&buf).Debug("hello", "k", "v")
		line := strings.TrimSpace(buf.String())
		var m map[string]any
		isJSON := json.Unmarshal([]byte(line), &m) == nil
		if isJSON != tc.json || !strings.Contains(line, "hello") {
			t.Errorf("format %q: line %q (json %v, want %v)", tc.format, line, isJSON, tc.json)
		}
	}
	cfg, _, _ := Load("", mapEnv(nil))
	var buf bytes.Buffer
	cfg.NewLogger(&buf).Debug("hidden")
	if buf.Len() != 0 {
		t.Errorf("debug line at the default level: %q", buf.String())
	}
}

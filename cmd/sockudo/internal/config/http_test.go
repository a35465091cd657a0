package config

import (
	"os"
	"strings"
	"testing"
)

func TestHTTPDefaultsValid(t *testing.T) {
	c := defaultHTTPConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

// A zero or negative setting would switch a listener bound off; each is
// refused by its name.
func TestHTTPValidateRefusesUnbounded(t *testing.T) {
	for name, set := range map[string]func(*HTTP){
		"http.header_timeout":    func(c *HTTP) { c.HeaderTimeout = 0 },
		"http.body_timeout":      func(c *HTTP) { c.BodyTimeout = -1 },
		"http.send_timeout":      func(c *HTTP) { c.SendTimeout = 0 },
		"http.keepalive_timeout": func(c *HTTP) { c.KeepaliveTimeout = 0 },
		"http.max_header_bytes":  func(c *HTTP) { c.MaxHeaderBytes = 0 },
		"http.max_connections":   func(c *HTTP) { c.MaxConnections = 0 },
	} {
		c := defaultHTTPConfig()
		set(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: Validate = %v, want an error naming it", name, err)
		}
	}
}

// The default connection cap leaves a reserve below the descriptor limit:
// 10% of it, or 256 when that is less.
func TestConnectionsForLimit(t *testing.T) {
	for _, tc := range []struct {
		limit uint64
		want  int
	}{
		{0, 1}, {1, 1}, {100, 90}, {1024, 918}, {2560, 2304}, {65536, 65280}, {1 << 20, 1<<20 - 256},
		{^uint64(0), 1<<30 - 256},
	} {
		if got := connectionsFor(tc.limit); got != tc.want {
			t.Errorf("connectionsFor(%d) = %d, want %d", tc.limit, got, tc.want)
		}
	}
	if n := DefaultMaxConnections(); n < 1 || defaultHTTPConfig().MaxConnections != n {
		t.Errorf("DefaultMaxConnections %d, default config %d", n, defaultHTTPConfig().MaxConnections)
	}
}

func TestHTTPMaxConnectionsFromEnvAndFile(t *testing.T) {
	c, _, err := Load("", func(k string) (string, bool) {
		if k == "HTTP_MAX_CONNECTIONS" {
			return "50", true
		}
		return "", false
	})
	if err != nil || c.HTTP.MaxConnections != 50 {
		t.Fatalf("HTTP_MAX_CONNECTIONS=50: %d %v", c.HTTP.MaxConnections, err)
	}
	path := t.TempDir() + "/config.json"
	if err := os.WriteFile(path, []byte(`{"http":{"max_connections":7}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, unknown, err := Load(path, func(string) (string, bool) { return "", false })
	if err != nil || len(unknown) != 0 || c.HTTP.MaxConnections != 7 {
		t.Fatalf("http.max_connections 7: %d %v %v", c.HTTP.MaxConnections, unknown, err)
	}
}

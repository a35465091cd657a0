package config

import (
	"strings"
	"testing"
)

func TestMetricsPrefix(t *testing.T) {
	c, _, err := Load("", mapEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Metrics.Prometheus.Prefix; got != "sockudo_" {
		t.Fatalf("default prefix %q, want sockudo_", got)
	}
	path := writeConfig(t, `{"metrics": {"prometheus": {"prefix": "wss_"}}}`)
	c, unknown, err := Load(path, mapEnv(nil))
	if err != nil || len(unknown) > 0 || c.Metrics.Prometheus.Prefix != "wss_" {
		t.Fatalf("config file: prefix %q, unknown keys %v, error %v; want wss_", c.Metrics.Prometheus.Prefix, unknown, err)
	}
	c, _, err = Load(path, mapEnv(map[string]string{"METRICS_PROMETHEUS_PREFIX": "soketi_"}))
	if err != nil || c.Metrics.Prometheus.Prefix != "soketi_" {
		t.Fatalf("env over file: prefix %q, error %v; want soketi_", c.Metrics.Prometheus.Prefix, err)
	}
	for prefix, ok := range map[string]bool{"": true, "soketi_": true, "a:b_": true, "9x_": false, "my-app_": false} {
		m := Metrics{Enabled: true, Prometheus: Prometheus{Prefix: prefix}}
		if err := m.Validate(); (err == nil) != ok {
			t.Errorf("Validate(%q) = %v, want ok %v", prefix, err, ok)
		} else if err != nil && !strings.Contains(err.Error(), "METRICS_PROMETHEUS_PREFIX") {
			t.Errorf("error %q does not name the option", err)
		}
	}
	if err := (&Metrics{Prometheus: Prometheus{Prefix: "9"}}).Validate(); err != nil {
		t.Errorf("a disabled listener's prefix is not checked, got %v", err)
	}
}

package main

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/cmd/sockudo/internal/config"
)

// The metrics listener names its metrics with the configured prefix and
// labels them with its port, as Sockudo does.
func TestMetricsHandlerPrefixAndPort(t *testing.T) {
	srv, err := sockudo.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(t.Context()) })
	m := config.Default().Metrics
	m.Port, m.Prometheus.Prefix = 9701, "soketi_"
	rec := httptest.NewRecorder()
	metricsHandler(srv, m).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`soketi_rate_limiter_errors_total{port="9701"} 0`,
		`soketi_connection_errors_total{app_id="global",error_type="app_not_found",port="9701"} 0`,
		"process_cpu_seconds_total",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(string(body), "sockudo_") {
		t.Error("metrics still use the sockudo_ prefix")
	}
}

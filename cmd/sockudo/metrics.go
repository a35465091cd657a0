package main

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/cmd/sockudo/internal/config"
	"github.com/sockudo-go/sockudo/metrics/promcollector"
)

// metricsHandler serves Prometheus metrics about srv and the process at
// /metrics, named with the configured prefix ("sockudo_" by default) and
// labelled with the metrics listener's port, as Sockudo does.
func metricsHandler(srv *sockudo.Server, m config.Metrics) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(promcollector.NewCollector(srv, m.Prometheus.Prefix, promcollector.WithPort(m.Port)),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector())
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}

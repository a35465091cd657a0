package main

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/metrics/promcollector"
)

// metricsHandler serves Prometheus metrics about srv and the process at
// /metrics, with Sockudo's "sockudo_" prefix.
func metricsHandler(srv *sockudo.Server) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(promcollector.NewCollector(srv, "sockudo_"),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector())
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}

// Package promcollector exports a sockudo server's Stats as Prometheus
// metrics, read at scrape time so the server's hot path pays nothing for
// them. It is the only package that imports the Prometheus client, and its
// name leaves "prometheus" to client_golang:
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(promcollector.NewCollector(srv, promcollector.DefaultPrefix, promcollector.WithPort(9601)))
//
// The families are Sockudo's, with its names, types and labels (app_id,
// port with WithPort, and channel_type, error_type, limiter_type and
// request_context where Sockudo has them), so that Sockudo's Grafana
// dashboard, and soketi's with the prefix "soketi_", work unchanged.
package promcollector

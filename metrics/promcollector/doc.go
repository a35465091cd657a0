// Package promcollector exports a sockudo server's Stats as Prometheus
// metrics, read at scrape time so the server's hot path pays nothing for
// them. It is the only package that imports the Prometheus client, and its
// name leaves "prometheus" to client_golang:
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(promcollector.NewCollector(srv, "sockudo_"))
package promcollector

package promcollector_test

import (
	"log"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/metrics/promcollector"
)

// Serve a server's metrics on a separate port, as Sockudo does on 9601.
func ExampleNewCollector() {
	srv, err := sockudo.New()
	if err != nil {
		log.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(promcollector.NewCollector(srv, promcollector.DefaultPrefix, promcollector.WithPort(9601)))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	_ = mux // http.ListenAndServe("127.0.0.1:9601", mux)
}

package main

import (
	"net/http"

	"github.com/sockudo-go/sockudo"
)

// metricsHandler serves Prometheus metrics about srv.
func metricsHandler(srv *sockudo.Server) http.Handler {
	return http.NotFoundHandler()
}

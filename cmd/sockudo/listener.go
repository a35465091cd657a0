package main

import (
	"log/slog"
	"net/http"

	"github.com/sockudo-go/sockudo/cmd/sockudo/internal/config"
)

// newHTTPServer returns an http.Server with the configured deadlines and
// header cap, logging net/http's own errors through log. net/http clears
// a connection's deadlines when it is hijacked, so WebSockets outlive
// them (TestWebSocketOutlivesHTTPTimeouts holds that).
func newHTTPServer(addr string, h http.Handler, c config.HTTP, log *slog.Logger) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: config.Seconds(c.HeaderTimeout),
		// ReadTimeout covers headers and body together.
		ReadTimeout:    config.Seconds(c.HeaderTimeout + c.BodyTimeout),
		WriteTimeout:   config.Seconds(c.SendTimeout),
		IdleTimeout:    config.Seconds(c.KeepaliveTimeout),
		MaxHeaderBytes: c.MaxHeaderBytes,
		ErrorLog:       slog.NewLogLogger(log.With("component", "http").Handler(), slog.LevelWarn),
	}
}

// warnPublic logs a warning when host is not a loopback address, for
// listeners (metrics) that should not face the internet.
func warnPublic(log *slog.Logger, what, host string) {
	if isLoopback(host) {
		return
	}
	log.Warn(what+" listener is bound to a non-loopback address; keep it off the internet", "host", host)
}

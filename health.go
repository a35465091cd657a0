package sockudo

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sockudo-go/sockudo/appmanager"
)

// Health verdicts, as Sockudo writes them in the body and the
// X-Health-Check header.
const (
	healthOK       = "OK"
	healthError    = "ERROR"
	healthNotFound = "NOT_FOUND"
	healthDraining = "DRAINING"
)

// healthLookupTimeout bounds the app lookup of /up/{app_id}, as Sockudo's
// health_check_timeout_ms does.
const healthLookupTimeout = 2 * time.Second

// serveAppHealth answers /up/{app_id} as Sockudo does: 404 NOT_FOUND for
// an unknown app, 503 ERROR for a disabled one or when the app store does
// not answer, otherwise the server's verdict of /up (cached, see
// healthVerdict). The lookup goes through the app cache, unknown ids
// included, so probes cost the app store little.
func (s *Server) serveAppHealth(w http.ResponseWriter, r *http.Request, id string) {
	if !healthMethod(w, r) {
		return
	}
	if id == "" || strings.Contains(id, "/") {
		http.NotFound(w, r)
		return
	}
	if s.closed.Load() {
		writeHealth(w, r, healthDraining)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), healthLookupTimeout)
	defer cancel()
	app, err := s.apps.FindByID(ctx, id)
	status := healthOK
	switch {
	case errors.Is(err, appmanager.ErrNotFound):
		status = healthNotFound
	case err != nil:
		if ok, suppressed := s.healthWarn.Allow(); ok {
			s.log.LogAttrs(ctx, slog.LevelWarn, "health check: app lookup failed", slog.String("app_id", id),
				slog.Any("error", err), slog.Int64("suppressed", suppressed))
		}
		status = healthError
	case !app.Enabled:
		status = healthError
	default:
		if s.health.check(r.Context(), s.checkBackends) != nil {
			status = healthError
		}
	}
	writeHealth(w, r, status)
}

// serveLive answers the liveness probe (/live): 200 with an empty body
// whenever the process serves HTTP, draining included, with no backend
// checked, as Sockudo does.
func serveLive(w http.ResponseWriter, r *http.Request) {
	if healthMethod(w, r) {
		w.WriteHeader(http.StatusOK)
	}
}

// healthMethod answers 405 to anything but GET and HEAD.
func healthMethod(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

// writeHealth writes a verdict: the word as body (no newline, as Sockudo)
// and in X-Health-Check; 200 for OK, 404 for NOT_FOUND, 503 otherwise.
func writeHealth(w http.ResponseWriter, r *http.Request, status string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Health-Check", status)
	switch status {
	case healthOK:
		w.WriteHeader(http.StatusOK)
	case healthNotFound:
		w.WriteHeader(http.StatusNotFound)
	default:
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	if r.Method != http.MethodHead {
		_, _ = io.WriteString(w, status)
	}
}

package httpapi

import (
	"log/slog"
	"net/http"
)

// statusWriter records the status of an answer for the debug line of a
// refused request. Unwrap keeps http.ResponseController working.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// serveDebug serves r and logs a 4xx answer: method, path, status and app
// id only — never the body, the query (it carries auth_key and
// auth_signature) or any credential.
func (h *Handler) serveDebug(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w}
	h.mux.ServeHTTP(sw, r)
	if sw.status >= 400 && sw.status < 500 {
		// The mux has matched r in place, so the path value is set.
		h.dbg.Log(r.Context(), "http api request refused", slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.Int("status", sw.status), slog.String("app_id", r.PathValue("app")))
	}
}

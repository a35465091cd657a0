package apierr

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestWriteShape(t *testing.T) {
	for _, tt := range []struct {
		err        error
		status     int
		body       string
		retryAfter string
	}{
		{LimitExceeded("batch has %d events", 11), 400, `{"error":"batch has 11 events","code":"limit_exceeded","status":400}`, ""},
		{New(503, CodeUnavailable, "down \"now\""), 503, `{"error":"down \"now\"","code":"service_unavailable","status":503}`, "1"},
		{New(429, CodeRateLimited, "slow down"), 429, `{"error":"slow down","code":"rate_limited","status":429}`, "1"},
		{errors.New("secret detail"), 500, `{"error":"internal error","code":"internal_error","status":500}`, ""},
		{fmt.Errorf("ctx: %w", BadRequest("bad")), 400, `{"error":"bad","code":"invalid_input","status":400}`, ""},
	} {
		w := httptest.NewRecorder()
		Write(w, tt.err)
		if w.Code != tt.status || w.Body.String() != tt.body || w.Header().Get("Retry-After") != tt.retryAfter ||
			w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("Write(%v) = %d %s (Retry-After %q), want %d %s (%q)", tt.err, w.Code, w.Body, w.Header().Get("Retry-After"), tt.status, tt.body, tt.retryAfter)
		}
	}
}

func TestWriteKeepsRetryAfter(t *testing.T) {
	w := httptest.NewRecorder()
	w.Header().Set("Retry-After", "7")
	Write(w, New(http.StatusTooManyRequests, CodeRateLimited, "later"))
	if got := w.Header().Get("Retry-After"); got != "7" {
		t.Errorf("Retry-After = %q, want the one already set", got)
	}
}

func TestPrefixKeepsStatusCodeAndCause(t *testing.T) {
	cause := errors.New("store down")
	err := Prefix("batch[2]", Wrap(cause, 503, CodeUnavailable, "unavailable"))
	e, ok := errors.AsType[*Error](err)
	if !ok || e.Status != 503 || e.Code != CodeUnavailable || e.Message != "batch[2]: unavailable" || !errors.Is(err, cause) {
		t.Fatalf("Prefix = %#v", err)
	}
	if err := Prefix("x", cause); err.Error() != "x: store down" || !errors.Is(err, cause) {
		t.Errorf("Prefix of a plain error = %v", err)
	}
}

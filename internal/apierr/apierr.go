// Package apierr is the one error type and JSON error body of the HTTP
// API (/apps/...), shared by the hub, the API handlers, the rate limit
// middleware and the server, so every answer other than 200 has the same
// shape: {"error":"message","code":"limit_exceeded","status":400}.
package apierr

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/sockudo-go/sockudo/internal/protocol"
)

// Error codes, sent in the JSON body and in the Go API's APIError.Code.
const (
	CodeInvalidInput     = "invalid_input"
	CodeLimitExceeded    = "limit_exceeded"
	CodeAuthFailed       = "auth_failed"
	CodeForbidden        = "forbidden"
	CodeAppNotFound      = "app_not_found"
	CodeNotFound         = "not_found"
	CodeMethodNotAllowed = "method_not_allowed"
	CodePayloadTooLarge  = "payload_too_large"
	CodeRateLimited      = "rate_limited"
	CodeInternal         = "internal_error"
	CodeUnavailable      = "service_unavailable"
)

// Error is a request the API answers with Status (4xx or 5xx) and Code.
type Error struct {
	Status  int
	Code    string
	Message string
	// Err is the cause, if any; it is not sent to the client.
	Err error
}

// New returns an Error whose message is formatted from format and args.
func New(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an Error caused by err.
func Wrap(err error, status int, code, format string, args ...any) *Error {
	e := New(status, code, format, args...)
	e.Err = err
	return e
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// BadRequest is a 400 invalid_input.
func BadRequest(format string, args ...any) *Error {
	return New(http.StatusBadRequest, CodeInvalidInput, format, args...)
}

// LimitExceeded is a 400 limit_exceeded: the request is well formed but
// breaks one of the app's limits.
func LimitExceeded(format string, args ...any) *Error {
	return New(http.StatusBadRequest, CodeLimitExceeded, format, args...)
}

// Internal is the answer to a failure the client cannot fix; its cause is
// logged, never sent.
var Internal = &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error"}

// Prefix returns err with its message prefixed (for example with a batch
// index), keeping its status and code. A non-*Error is wrapped with %w.
func Prefix(prefix string, err error) error {
	if e, ok := errors.AsType[*Error](err); ok {
		return &Error{Status: e.Status, Code: e.Code, Message: prefix + ": " + e.Message, Err: e.Err}
	}
	return fmt.Errorf("%s: %w", prefix, err)
}

// Write answers err, which should be or wrap an *Error (anything else is
// answered as Internal), as the JSON error body. 429 and 503 answers get
// a Retry-After of one second unless one is already set.
func Write(w http.ResponseWriter, err error) {
	e, ok := errors.AsType[*Error](err)
	if !ok {
		e = Internal
	}
	if e.Status == http.StatusServiceUnavailable || e.Status == http.StatusTooManyRequests {
		if w.Header().Get("Retry-After") == "" {
			w.Header().Set("Retry-After", "1")
		}
	}
	buf := make([]byte, 0, 64+len(e.Message))
	buf = append(buf, `{"error":`...)
	buf = protocol.AppendString(buf, e.Message)
	buf = append(buf, `,"code":`...)
	buf = protocol.AppendString(buf, e.Code)
	buf = append(buf, `,"status":`...)
	buf = strconv.AppendInt(buf, int64(e.Status), 10)
	buf = append(buf, '}')
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	_, _ = w.Write(buf)
}

package sockudo

import (
	"errors"
	"fmt"

	"github.com/sockudo-go/sockudo/appmanager"
)

// ErrServerClosed is returned by the Go API (Trigger ...
// TerminateUserConnections) and by Shutdown once Shutdown has been called.
var ErrServerClosed = errors.New("sockudo: server closed")

// ErrInvalidOption is wrapped by New's error when an option is invalid;
// the message names the option.
var ErrInvalidOption = errors.New("sockudo: invalid option")

// ErrAppNotFound is returned (wrapped) by the Go API for an unknown app id.
// It wraps appmanager.ErrNotFound, so errors.Is(err, appmanager.ErrNotFound)
// holds for it too.
var ErrAppNotFound = fmt.Errorf("sockudo: app not found: %w", appmanager.ErrNotFound)

func invalidOption(name, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidOption, name, fmt.Sprintf(format, args...))
}

// APIError is a rejected publish or query: the request broke a rule (bad
// channel name, payload too large, over a rate limit...) or a backend is
// unavailable. Status and Code are what the HTTP API answers with for the
// same request.
type APIError struct {
	// Status is the HTTP status: 400, 403, 404, 413, 429 or 503.
	Status int
	// Code is the error code of the HTTP API's JSON error body:
	// "invalid_input", "limit_exceeded", "forbidden", "app_not_found",
	// "payload_too_large", "rate_limited" or "service_unavailable".
	Code string
	// Message says what was wrong, naming the offending value.
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("sockudo: %s (%s, status %d)", e.Message, e.Code, e.Status)
}

// ProtocolError is an error with a Pusher error code. A hook returns one
// to refuse with that code (see Hooks).
type ProtocolError struct {
	// Code is a Pusher error code, 4000-4999.
	Code    int
	Message string
}

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("sockudo: pusher error %d: %s", e.Code, e.Message)
}

package sockudo

import (
	"errors"
	"fmt"
)

// ErrServerClosed is returned by the Server's methods after Shutdown.
var ErrServerClosed = errors.New("sockudo: server closed")

// ErrInvalidOption is wrapped by New's error when an option is invalid;
// the message names the option.
var ErrInvalidOption = errors.New("sockudo: invalid option")

// ErrAppNotFound is returned (wrapped) by the Go API for an unknown app id.
var ErrAppNotFound = errors.New("sockudo: app not found")

func invalidOption(name, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidOption, name, fmt.Sprintf(format, args...))
}

// APIError is a rejected publish or query: the request broke a rule (bad
// channel name, payload too large, over a rate limit...). Status is the
// HTTP status the HTTP API answers with for the same request.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string { return fmt.Sprintf("sockudo: %s (status %d)", e.Message, e.Status) }

// ProtocolError is a Pusher protocol error with its code (4001 app not
// found, 4009 unauthorized, ...).
type ProtocolError struct {
	Code    int
	Message string
}

func (e *ProtocolError) Error() string { return fmt.Sprintf("pusher error %d: %s", e.Code, e.Message) }

// ProtocolCode returns the Pusher code of err if it is or wraps a
// *ProtocolError, else 0.
func ProtocolCode(err error) int {
	var pe *ProtocolError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return 0
}

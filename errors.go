package sockudo

import (
	"errors"
	"fmt"
)

// ErrServerClosed is returned by the Go API (Trigger ...
// TerminateUserConnections) and by Shutdown once Shutdown has been called.
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

package transport

import "errors"

// Errors returned by Nodes, possibly wrapped; test with errors.Is.
var (
	// ErrFenced: this incarnation was reaped or its lease ran out; the
	// write was refused and nothing changed. Start a new node.
	ErrFenced = errors.New("transport: node fenced")

	// ErrClosed: the node was closed or deregistered.
	ErrClosed = errors.New("transport: node closed")

	// ErrStoreWiped: the store lost this node's registration with the
	// rest of its data; call Restore before writing again.
	ErrStoreWiped = errors.New("transport: store wiped")

	// ErrUnavailable: the backend did not answer (in time). The write may
	// or may not have been applied; retrying it, with the same or a
	// higher version, is safe.
	ErrUnavailable = errors.New("transport: backend unavailable")

	// ErrLimit: the write would exceed a limit (presence members of a
	// channel, connections of an app); nothing changed.
	ErrLimit = errors.New("transport: limit reached")

	// ErrInvalid: the operation is malformed (empty app or name, negative
	// count, zero version).
	ErrInvalid = errors.New("transport: invalid operation")
)

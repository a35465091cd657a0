// Package wstest is a minimal Pusher protocol client for tests: it dials a
// server, reads the handshake, sends frames, and waits for events and
// close codes with timeouts.
package wstest

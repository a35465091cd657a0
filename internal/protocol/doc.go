// Package protocol holds the Pusher Channels protocol 7 vocabulary: event
// names, error and close codes, channel name rules and the encoding of
// server-to-client frames.
//
// Frames are built by appending to a byte slice without reflection, so a
// broadcast is encoded once and the same bytes are written to every
// subscriber.
package protocol

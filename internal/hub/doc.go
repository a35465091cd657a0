// Package hub is the node-local core of the server: the registry of apps,
// sockets, channels, presence members and signed-in users, the WebSocket
// connection loop, and the publish and query paths shared by the HTTP API
// and the Go API.
//
// Hot-path rules: a broadcast is encoded once and the same bytes are queued
// to every recipient; registry locks are held only to enqueue (which never
// blocks); each socket has a bounded outbound queue and a writer goroutine
// that exists only while the queue is not empty; idle sockets keep one
// reading goroutine and one runtime timer.
package hub

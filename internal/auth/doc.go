// Package auth computes and checks the HMAC-SHA256 signatures of the Pusher
// protocol: channel authorization, user authentication, HTTP API requests
// and webhooks. Every check compares in constant time.
package auth

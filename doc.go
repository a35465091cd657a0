// Package sockudo makes any Go service a Pusher Channels (protocol 7)
// server. Unmodified Pusher clients (pusher-js, Laravel Echo, the mobile
// SDKs) connect to it, and unmodified Pusher server SDKs publish through
// its HTTP API.
//
// # Mounting
//
// A *Server is an http.Handler. It serves /app/{key} (WebSocket),
// /apps/{app_id}/... (the HTTP API) and /up (health) below wherever the
// host mounts it:
//
//	srv, err := sockudo.New(sockudo.WithApps(appmanager.App{
//		ID: "app-id", Key: "app-key", Secret: "app-secret", Enabled: true,
//	}))
//	if err != nil { ... }
//	mux := http.NewServeMux()
//	mux.Handle("/pusher/", http.StripPrefix("/pusher", srv))
//	defer srv.Shutdown(context.Background())
//
// pusher-js then connects with wsHost set to the service and wsPath
// "/pusher"; server SDKs need the path prefix removed before signing, so
// mount the HTTP API at the root (or give the SDK a proxy) when the SDK
// cannot set a path prefix.
//
// # Authorization
//
// Private, presence and encrypted channels and user sign-in need an
// endpoint of the host's that signs what the client asks for.
// AuthorizeChannel, AuthorizePresenceChannel, AuthorizeEncryptedChannel
// and AuthenticateUser return the JSON bodies such endpoints answer with.
//
// # Publishing from Go
//
// Trigger, TriggerBatch, SendToUser, Channels, Channel, ChannelUsers and
// TerminateUserConnections do what the HTTP API does, through the same
// code path, without HTTP.
//
// # Mounting
//
// A Server is an http.Handler for /app/{key} (WebSocket), /apps/... (HTTP
// API) and /up (health). WebSocketHandler, APIHandler and HealthHandler
// serve each alone, so a host can put the API on an internal listener.
//
// # Hooks
//
// WithHooks lets the host observe and veto in process (see Hooks):
// OnConnect may refuse a socket with a Pusher close code or attach data
// to it, OnSubscribe may veto a subscription (the client gets
// pusher:subscription_error), OnClientEvent may drop a client event, and
// the lifecycle hooks report channel_occupied, channel_vacated,
// member_added, member_removed and subscription_count with the webhooks'
// semantics, delay included, whether or not the app has webhooks. The
// first three run inline and must be fast; the lifecycle hooks run
// asynchronously, in order, on a goroutine of the server.
//
// # Backends
//
// Apps come from an appmanager.Manager (memory, PostgreSQL, MySQL,
// DynamoDB, ScyllaDB), cached in process. Cache channels use a
// cache.Cache, webhooks a queue.Queue, rate limits a ratelimit.Limiter.
// Every one defaults to an in-memory driver; the others live in their own
// packages so a host compiles only what it imports.
//
// # Delivery guarantees and limits
//
// Each event is encoded once and the same bytes are queued to every
// subscriber. Every socket has a bounded outbound queue; a client that
// falls behind is closed with 4100 (pusher-js reconnects after a back-off)
// rather than growing the server's memory. Pusher's default limits apply
// unless an app sets its own: 10 KB of event data, 100 channels per
// publish, 10 events per batch, 200-character names, 100 presence members.
//
// # Errors
//
// New returns errors wrapping ErrInvalidOption that name the option. The
// Go API returns ErrAppNotFound (which matches appmanager.ErrNotFound),
// ErrServerClosed, or an *APIError carrying the HTTP status and error code
// the same HTTP request gets. Every HTTP API answer other than 200 has one
// JSON shape: {"error":"...","code":"limit_exceeded","status":400}. Connection-level errors go
// to the client as pusher:error messages and close codes, as the Pusher
// protocol defines.
//
// # Logging
//
// The server logs with log/slog (WithLogger; default slog.Default()) from
// background work and connection edges only, with stable keys such as
// app_id, socket_id and channel.
package sockudo

package protocol

// Event names of the Pusher protocol.
const (
	EventConnectionEstablished = "pusher:connection_established"
	EventError                 = "pusher:error"
	EventPing                  = "pusher:ping"
	EventPong                  = "pusher:pong"
	EventSubscribe             = "pusher:subscribe"
	EventUnsubscribe           = "pusher:unsubscribe"
	EventSignin                = "pusher:signin"
	EventSigninSuccess         = "pusher:signin_success"
	EventCacheMiss             = "pusher:cache_miss"
	EventSubscriptionError     = "pusher:subscription_error"

	EventSubscriptionSucceeded = "pusher_internal:subscription_succeeded"
	EventMemberAdded           = "pusher_internal:member_added"
	EventMemberRemoved         = "pusher_internal:member_removed"
	EventSubscriptionCount     = "pusher_internal:subscription_count"
	EventWatchlist             = "pusher_internal:watchlist_events"

	// ClientEventPrefix starts every client event name.
	ClientEventPrefix = "client-"
	// PusherPrefix and InternalPrefix are reserved for the protocol.
	PusherPrefix   = "pusher:"
	InternalPrefix = "pusher_internal:"
)

// Error and close codes of the Pusher protocol. 4000-4099 tell pusher-js
// not to reconnect, 4100-4199 to reconnect after a back-off, 4200-4299 to
// reconnect at once; 4300 and up are sent only as pusher:error messages.
const (
	CodeSSLOnly             = 4000
	CodeAppNotFound         = 4001
	CodeAppDisabled         = 4003
	CodeOverQuota           = 4004
	CodePathNotFound        = 4005
	CodeInvalidVersion      = 4006
	CodeUnsupportedProtocol = 4007
	CodeNoProtocol          = 4008
	CodeUnauthorized        = 4009
	CodeOverCapacity        = 4100
	CodeReconnect           = 4200
	CodePongNotReceived     = 4201
	CodeClosedInactivity    = 4202
	CodeInvalidMessage      = 4300
	CodeClientEventRate     = 4301
	CodeWatchlistLimit      = 4302
)

// Close reasons sent with the codes above.
const (
	ReasonAppNotFound     = "Application does not exist"
	ReasonAppDisabled     = "Application disabled"
	ReasonOverQuota       = "Application is over connection quota"
	ReasonUnavailable     = "Application temporarily unavailable, reconnect later"
	ReasonNoProtocol      = "No protocol version supplied"
	ReasonUnsupported     = "Unsupported protocol version"
	ReasonOriginDenied    = "Origin not allowed"
	ReasonOverCapacity    = "Over capacity"
	ReasonSlowConsumer    = "Client is too slow to consume messages"
	ReasonShutdown        = "Server shutting down"
	ReasonPongTimeout     = "Pong reply not received in time"
	ReasonUnauthTimeout   = "Connection not authorized within timeout."
	ReasonTerminated      = "Connection terminated by the server"
	ReasonClientEventRate = "Client event rejected due to rate limit"
	ReasonInboundBudget   = "Client sent too much too fast; reconnect later"
	ReasonTooManyErrors   = "Too many invalid messages"
)

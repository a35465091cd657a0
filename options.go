package sockudo

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/cache"
	"github.com/sockudo-go/sockudo/internal/hub"
	"github.com/sockudo-go/sockudo/queue"
	"github.com/sockudo-go/sockudo/ratelimit"
)

// Option configures a Server; pass options to New.
type Option func(*config)

// SlowConsumerPolicy says what happens to a socket whose outbound queue is
// full because the client reads too slowly.
type SlowConsumerPolicy int

const (
	// CloseSlowConsumer (the default) closes the socket with 4100, so the
	// client reconnects after a back-off and resynchronises.
	CloseSlowConsumer SlowConsumerPolicy = iota
	// DropMessages drops what does not fit and keeps the socket open.
	DropMessages
)

// RateLimit is a budget of Max requests per Window per client IP.
// TrustHops is how many proxies in front of the server append to
// X-Forwarded-For; with 0 the header is ignored, so it cannot be spoofed.
type RateLimit struct {
	Max       int
	Window    time.Duration
	TrustHops int
	// RealIPHeader names the header a trusted proxy writes the client
	// address in (for example "X-Real-IP"), used with TrustHops >= 1 when a
	// request has no X-Forwarded-For. Empty (the default) never reads one,
	// so a client that reaches the server directly cannot choose its
	// address.
	RealIPHeader string
	// KeyPrefix namespaces the limit's keys in the limiter, so servers
	// sharing a Redis limiter share budgets only where prefixes match.
	// Empty means "api:" for the API limit and "ws:" for connections.
	KeyPrefix string
}

type config struct {
	logger          *slog.Logger
	apps            appmanager.Manager
	staticApps      []appmanager.App
	appCacheTTL     time.Duration
	appCacheNegTTL  time.Duration
	pathPrefix      string
	activityTimeout time.Duration
	pongTimeout     time.Duration
	maxMessageBytes int
	outboundQueue   int
	socketBudget    hub.SocketBudget
	slowConsumer    SlowConsumerPolicy
	userAuthTimeout time.Duration
	maxConnections  int
	strictProtocol  bool
	maxBodyBytes    int64
	bodyTimeout     time.Duration
	timestampSkew   time.Duration

	cache    cache.Cache
	cacheTTL time.Duration

	queue            queue.Queue
	webhookBatch     time.Duration
	webhookBatchSize int
	webhookDelay     time.Duration
	webhookRetryFor  time.Duration
	webhookClient    *http.Client

	hooks Hooks

	limiter           ratelimit.Limiter
	limiterFailClosed bool
	apiLimit          *RateLimit
	wsLimit           *RateLimit

	// Caps against hostile clients: WithMaxChannelsPerConnection and the
	// options after it.
	maxChannels     int
	subscribeRate   int
	clientEventRate int
	maxListed       int

	cors        *corsPolicy // WithCORS; nil sends no CORS headers
	compression Compression // WithCompression
}

// The defaults of the caps against hostile clients, exported so a host's
// own configuration (cmd/sockudo's) can start from them.
const (
	DefaultMaxChannelsPerConnection = 200    // Pusher-like; see WithMaxChannelsPerConnection
	DefaultSubscribeRate            = 20     // per second per socket
	DefaultClientEventRate          = 10     // Pusher's, per second per connection
	DefaultMaxChannelsListed        = 10_000 // per GET /channels
)

func defaultConfig() config {
	return config{
		logger:          slog.Default(),
		appCacheTTL:     5 * time.Minute,
		appCacheNegTTL:  5 * time.Second,
		activityTimeout: 120 * time.Second,
		pongTimeout:     30 * time.Second,
		maxMessageBytes: 64 << 10,
		outboundQueue:   1000,
		userAuthTimeout: 30 * time.Second,
		maxBodyBytes:    1 << 20,
		bodyTimeout:     10 * time.Second,
		timestampSkew:   600 * time.Second,
		cacheTTL:        30 * time.Minute,
		webhookDelay:    3 * time.Second,
		webhookRetryFor: 5 * time.Minute,
		maxChannels:     DefaultMaxChannelsPerConnection,
		subscribeRate:   DefaultSubscribeRate,
		clientEventRate: DefaultClientEventRate,
		maxListed:       DefaultMaxChannelsListed,
		socketBudget:    defaultSocketBudget,
	}
}

// validate checks the whole configuration once; errors name the option.
func (c *config) validate() error {
	switch {
	case c.logger == nil:
		return invalidOption("WithLogger", "logger is nil")
	case c.apps != nil && len(c.staticApps) > 0:
		return invalidOption("WithApps", "cannot be combined with WithAppManager")
	case c.appCacheTTL < 0:
		return invalidOption("WithAppCache", "ttl %s is negative", c.appCacheTTL)
	case c.activityTimeout < time.Second:
		return invalidOption("WithActivityTimeout", "%s is shorter than 1s (clients are told whole seconds)", c.activityTimeout)
	case c.pongTimeout <= 0:
		return invalidOption("WithPongTimeout", "%s is not positive", c.pongTimeout)
	case c.maxMessageBytes < 1024:
		return invalidOption("WithMaxMessageSize", "%d bytes is less than 1024", c.maxMessageBytes)
	case c.outboundQueue < 1:
		return invalidOption("WithOutboundQueue", "%d is less than 1", c.outboundQueue)
	case c.slowConsumer != CloseSlowConsumer && c.slowConsumer != DropMessages:
		return invalidOption("WithSlowConsumerPolicy", "unknown policy %d", c.slowConsumer)
	case c.userAuthTimeout <= 0:
		return invalidOption("WithUserAuthenticationTimeout", "%s is not positive", c.userAuthTimeout)
	case c.maxConnections < 0:
		return invalidOption("WithMaxConnections", "%d is negative", c.maxConnections)
	case c.pathPrefix != "" && (!strings.HasPrefix(c.pathPrefix, "/") || strings.HasSuffix(c.pathPrefix, "/")):
		return invalidOption("WithPathPrefix", "%q must start with / and not end with /", c.pathPrefix)
	case c.cacheTTL <= 0:
		return invalidOption("WithCacheChannelTTL", "%s is not positive", c.cacheTTL)
	case c.maxBodyBytes < 1024:
		return invalidOption("WithMaxRequestBody", "%d bytes is less than 1024", c.maxBodyBytes)
	case c.socketBudget.OutboundBytes < 0:
		return invalidOption("WithOutboundBytes", "%d is negative", c.socketBudget.OutboundBytes)
	case c.socketBudget.InboundFramesPerSecond < 0 || c.socketBudget.InboundFrameBurst < 0:
		return invalidOption("WithInboundFrameRate", "%d/s burst %d is negative", c.socketBudget.InboundFramesPerSecond, c.socketBudget.InboundFrameBurst)
	case c.socketBudget.InboundBytesPerSecond < 0:
		return invalidOption("WithInboundByteRate", "%d is negative", c.socketBudget.InboundBytesPerSecond)
	case c.socketBudget.MaxProtocolErrors < 0 || (c.socketBudget.MaxProtocolErrors > 0 && c.socketBudget.ProtocolErrorWindow <= 0):
		return invalidOption("WithProtocolErrorLimit", "%d in %s: need a count >= 0 and a positive window", c.socketBudget.MaxProtocolErrors, c.socketBudget.ProtocolErrorWindow)
	case c.maxChannels < 1:
		return invalidOption("WithMaxChannelsPerConnection", "%d is less than 1", c.maxChannels)
	case c.subscribeRate < 1:
		return invalidOption("WithSubscribeRate", "%d is less than 1", c.subscribeRate)
	case c.clientEventRate < 0:
		return invalidOption("WithClientEventRate", "%d is negative", c.clientEventRate)
	case c.maxListed < 1:
		return invalidOption("WithMaxChannelsListed", "%d is less than 1", c.maxListed)
	case c.bodyTimeout <= 0:
		return invalidOption("WithRequestBodyTimeout", "%s is not positive", c.bodyTimeout)
	case c.timestampSkew <= 0:
		return invalidOption("WithTimestampSkew", "%s is not positive", c.timestampSkew)
	case c.webhookDelay <= 0:
		return invalidOption("WithWebhookDelay", "%s is not positive", c.webhookDelay)
	case c.webhookRetryFor <= 0:
		return invalidOption("WithWebhookRetry", "%s is not positive", c.webhookRetryFor)
	case c.webhookBatch < 0 || c.webhookBatchSize < 0 || (c.webhookBatch > 0) != (c.webhookBatchSize > 0):
		return invalidOption("WithWebhookBatching", "duration %s and size %d must both be positive", c.webhookBatch, c.webhookBatchSize)
	}
	if c.compression < CompressionDisabled || c.compression > CompressionNoContextTakeover {
		return invalidOption("WithCompression", "unknown mode %d", c.compression)
	}
	if c.cors != nil {
		if err := c.cors.validate(); err != nil {
			return err
		}
	}
	if _, ok := c.limiter.(*ratelimit.Guard); ok {
		return invalidOption("WithRateLimiter", "pass the driver, not a *ratelimit.Guard: the server guards it and WithRateLimiterFailClosed sets the failure policy")
	}
	for name, l := range map[string]*RateLimit{"WithAPIRateLimit": c.apiLimit, "WithConnectionRateLimit": c.wsLimit} {
		if l != nil && (l.Max < 1 || l.Window <= 0 || l.TrustHops < 0) {
			return invalidOption(name, "max %d, window %s and trust hops %d must be positive, positive and not negative", l.Max, l.Window, l.TrustHops)
		}
	}
	for i := range c.staticApps {
		if err := c.staticApps[i].Validate(); err != nil {
			return invalidOption("WithApps", "%v", err)
		}
	}
	return nil
}

// WithLogger sets the logger (default slog.Default()). Use
// slog.New(slog.DiscardHandler) for silence. At debug level the server
// also logs connects, disconnects, subscribes, auth refusals and HTTP API
// 4xx answers (never payloads or credentials), each kind capped so that a
// flood cannot fill the disk.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithAppManager sets where apps are looked up. The server caches lookups
// (see WithAppCache).
func WithAppManager(m appmanager.Manager) Option { return func(c *config) { c.apps = m } }

// WithApps serves a fixed set of apps from memory. It cannot be combined
// with WithAppManager.
func WithApps(apps ...appmanager.App) Option {
	return func(c *config) { c.staticApps = append(c.staticApps, apps...) }
}

// WithAppCache sets how long app lookups are cached (default 5 minutes;
// 0 disables the cache). Unknown keys are cached for a few seconds so a
// flood of bad keys cannot hammer the app store.
func WithAppCache(ttl time.Duration) Option { return func(c *config) { c.appCacheTTL = ttl } }

// WithPathPrefix serves the endpoints under prefix (for example "/pusher")
// when the host does not strip it itself. "/" (Sockudo's default) and ""
// mean no prefix.
func WithPathPrefix(prefix string) Option {
	return func(c *config) {
		if prefix == "/" {
			prefix = ""
		}
		c.pathPrefix = prefix
	}
}

// WithActivityTimeout sets the activity timeout announced to clients and
// after which an idle client is pinged (default 120 s).
func WithActivityTimeout(d time.Duration) Option { return func(c *config) { c.activityTimeout = d } }

// WithPongTimeout sets how long a ping may go unanswered before the socket
// is closed with 4201 (default 30 s).
func WithPongTimeout(d time.Duration) Option { return func(c *config) { c.pongTimeout = d } }

// WithMaxMessageSize bounds one incoming WebSocket message (default 64 KiB).
// A larger message gets a pusher:error and the socket stays open, up to
// four times the bound; beyond that the socket is closed with 1009
// (message too big) without reading the rest.
func WithMaxMessageSize(n int) Option { return func(c *config) { c.maxMessageBytes = n } }

// WithOutboundQueue bounds the messages waiting to be written to one
// socket (default 1000); see WithSlowConsumerPolicy.
func WithOutboundQueue(n int) Option { return func(c *config) { c.outboundQueue = n } }

// WithSlowConsumerPolicy sets what happens when a socket's outbound queue
// is full (default CloseSlowConsumer).
func WithSlowConsumerPolicy(p SlowConsumerPolicy) Option {
	return func(c *config) { c.slowConsumer = p }
}

// WithUserAuthenticationTimeout sets how long a socket of an app with user
// authentication enabled may stay signed out before it is closed with
// 4009 (default 30 s).
func WithUserAuthenticationTimeout(d time.Duration) Option {
	return func(c *config) { c.userAuthTimeout = d }
}

// WithMaxConnections bounds the sockets of this server (default 0,
// unlimited); beyond it new sockets are closed with 4100.
func WithMaxConnections(n int) Option { return func(c *config) { c.maxConnections = n } }

// WithStrictProtocol rejects connections without a protocol parameter with
// 4008. By default such a connection is served as protocol 7, as Pusher
// does for old clients.
func WithStrictProtocol() Option { return func(c *config) { c.strictProtocol = true } }

// WithMaxRequestBody bounds HTTP API request bodies (default 1 MiB); a
// larger body is answered 413.
func WithMaxRequestBody(n int64) Option { return func(c *config) { c.maxBodyBytes = n } }

// WithRequestBodyTimeout bounds the time an HTTP API request body may take
// to arrive (default 10 s, like nginx's client_body_timeout but for the
// whole body); a slower one is answered 408, so a client trickling its
// body cannot hold a handler.
func WithRequestBodyTimeout(d time.Duration) Option { return func(c *config) { c.bodyTimeout = d } }

// WithTimestampSkew sets how far auth_timestamp may be from now (default
// 600 s, as Pusher).
func WithTimestampSkew(d time.Duration) Option { return func(c *config) { c.timestampSkew = d } }

// WithCache sets the cache used for cache channels (default: an in-memory
// LRU). Share a Redis cache between servers that serve the same apps.
func WithCache(cc cache.Cache) Option { return func(c *config) { c.cache = cc } }

// WithCacheChannelTTL sets how long a cache channel keeps its last event
// (default 30 minutes, as Pusher).
func WithCacheChannelTTL(d time.Duration) Option { return func(c *config) { c.cacheTTL = d } }

// WithQueue sets the queue webhooks go through (default: in memory).
func WithQueue(q queue.Queue) Option { return func(c *config) { c.queue = q } }

// WithWebhookBatching sends webhook events in batches of up to size
// events, waiting at most d to fill one (default: no batching).
func WithWebhookBatching(d time.Duration, size int) Option {
	return func(c *config) { c.webhookBatch, c.webhookBatchSize = d, size }
}

// WithWebhookDelay sets how long channel_vacated and member_removed wait
// to be cancelled by a return (default 3 s), for webhooks and lifecycle
// hooks alike.
func WithWebhookDelay(d time.Duration) Option { return func(c *config) { c.webhookDelay = d } }

// WithWebhookRetry sets how long a failing webhook is retried with
// exponential back-off (default 5 minutes).
func WithWebhookRetry(d time.Duration) Option { return func(c *config) { c.webhookRetryFor = d } }

// WithWebhookHTTPClient sets the client that sends webhooks, for a proxy,
// custom TLS or instrumentation. By default the server uses a client that
// keeps up to 64 idle connections per host and does not follow redirects
// (a redirect is a failure that is not retried); nil restores it. Each
// request is bounded to 10 s by its context whatever the client's Timeout.
func WithWebhookHTTPClient(hc *http.Client) Option {
	return func(c *config) { c.webhookClient = hc }
}

// WithRateLimiter sets the limiter behind every rate limit (default: in
// memory). Share a Redis limiter so limits hold across servers. The server
// wraps it in a ratelimit.Guard whose failure policy WithRateLimiterFailClosed
// sets; passing a *ratelimit.Guard here is an error, so the policy is set
// in one place.
func WithRateLimiter(l ratelimit.Limiter) Option { return func(c *config) { c.limiter = l } }

// WithRateLimiterFailClosed denies requests while the rate limiter is
// unavailable. By default they are allowed (fail open); either way the
// failure is logged and counted (Stats().RateLimiter).
func WithRateLimiterFailClosed() Option {
	return func(c *config) { c.limiterFailClosed = true }
}

// WithAPIRateLimit limits HTTP API requests per client IP, answering 429
// with X-RateLimit-* and Retry-After headers beyond it.
func WithAPIRateLimit(l RateLimit) Option { return func(c *config) { c.apiLimit = &l } }

// WithConnectionRateLimit limits WebSocket connection attempts per client
// IP; beyond it the upgrade is answered 429.
func WithConnectionRateLimit(l RateLimit) Option { return func(c *config) { c.wsLimit = &l } }

// Per-socket budgets against hostile clients (issue 12). Each is generous
// for pusher-js, which sends a frame per subscribe and a ping a minute.
var defaultSocketBudget = hub.SocketBudget{
	// 4 MiB: hundreds of maximum-size messages, so only a client that
	// stops reading reaches it, and 10,000 stuck sockets cost at most
	// 40 GiB of frames that are mostly shared broadcasts, not copies.
	OutboundBytes: 4 << 20,
	// 100 frames/s with a burst of 1,000 (a reconnect resubscribing to
	// hundreds of channels at once); a flooder is closed within a second.
	InboundFramesPerSecond: 100,
	InboundFrameBurst:      1000,
	// 1 MiB/s, with a burst of at least four maximum-size messages.
	InboundBytesPerSecond: 1 << 20,
	// 50 invalid frames in 10 s: a client bug shows long before that.
	MaxProtocolErrors:   50,
	ProtocolErrorWindow: 10 * time.Second,
}

// Caps against hostile clients. Each is per socket and server-wide: no
// Sockudo app field holds them, except max_client_events_per_second.

// WithMaxChannelsPerConnection bounds the channels one socket may be
// subscribed to (default 200). A subscribe beyond it is refused with a
// pusher:error and a pusher:subscription_error (code 4100, type
// LimitReached); the socket stays open. It also bounds what one socket's
// disconnect costs (channel_vacated and member_removed webhooks).
func WithMaxChannelsPerConnection(n int) Option { return func(c *config) { c.maxChannels = n } }

// WithSubscribeRate sets how many subscribes per second one socket may
// sustain (default 20). The burst is the channel cap (see
// WithMaxChannelsPerConnection), so a client resubscribing to all its
// channels after a reconnect is never refused. A subscribe over the rate
// is refused with code 4301 (as a pusher:error and a
// pusher:subscription_error, never a close).
func WithSubscribeRate(perSecond int) Option {
	return func(c *config) { c.subscribeRate = perSecond }
}

// WithClientEventRate sets the client events per second per socket (also
// the burst) for apps whose max_client_events_per_second is 0 (default
// 10, Pusher's limit). An app's own non-zero value wins; a very large
// value is the way to lift the limit for one app. 0 here means unlimited
// for apps that set none. Events over the limit are rejected with a
// pusher:error 4301 and the socket stays open.
func WithClientEventRate(perSecond int) Option {
	return func(c *config) { c.clientEventRate = perSecond }
}

// WithMaxChannelsListed bounds the channels a listing returns (GET
// /apps/{id}/channels and Server.Channels; default 10,000): when more
// occupied channels match filter_by_prefix, the listing is refused with
// a 400 limit_exceeded instead of building an answer whose size any client
// that subscribes to public channels could choose.
func WithMaxChannelsListed(n int) Option { return func(c *config) { c.maxListed = n } }

// WithOutboundBytes bounds the bytes waiting to be written to one socket
// (default 4 MiB; 0 = only WithOutboundQueue bounds it). A broadcast
// shared by many sockets counts in each queue but is held once. Above it
// the slow-consumer policy applies (by default a close with 4100). While
// half of it is queued the server stops reading the socket's requests.
func WithOutboundBytes(n int) Option { return func(c *config) { c.socketBudget.OutboundBytes = n } }

// WithInboundFrameRate bounds the frames one socket may send, pings and
// pongs included: perSecond on average with bursts of burst (default 100
// and 1,000; 0 = unlimited). Beyond it the socket is closed with 4100, so
// Pusher clients reconnect after a back-off.
func WithInboundFrameRate(perSecond, burst int) Option {
	return func(c *config) {
		c.socketBudget.InboundFramesPerSecond, c.socketBudget.InboundFrameBurst = perSecond, burst
	}
}

// WithInboundByteRate bounds the bytes one socket may send per second
// (default 1 MiB; 0 = unlimited); bursts of a second's worth or four
// maximum-size messages pass. Beyond it the socket is closed with 4100.
func WithInboundByteRate(perSecond int) Option {
	return func(c *config) { c.socketBudget.InboundBytesPerSecond = perSecond }
}

// WithProtocolErrorLimit closes a socket with 4300 after n invalid frames
// (bad JSON, unknown events, invalid channel names...) within window
// (default 50 in 10 s; n = 0 disables). 4300 tells Pusher clients not to
// reconnect as they are: they would send the same frames again.
func WithProtocolErrorLimit(n int, window time.Duration) Option {
	return func(c *config) {
		c.socketBudget.MaxProtocolErrors, c.socketBudget.ProtocolErrorWindow = n, window
	}
}

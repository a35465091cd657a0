package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/internal/apierr"
	"github.com/sockudo-go/sockudo/internal/debuglog"
	"github.com/sockudo-go/sockudo/internal/hub"
	"github.com/sockudo-go/sockudo/internal/logthrottle"
)

// Hub is what the handlers need from the connection hub. *hub.Hub
// implements it; tests use a fake.
type Hub interface {
	// Publish validates and delivers an event and reports the Info it
	// asks for; batches go through hub.PublishBatch on top of it.
	Publish(ctx context.Context, app *appmanager.App, req hub.PublishRequest) (map[string]hub.ChannelInfo, error)
	// Channels lists the occupied channels whose names start with prefix.
	Channels(ctx context.Context, app *appmanager.App, prefix string, info hub.Info) (map[string]hub.ChannelInfo, error)
	// Channel reports one channel.
	Channel(ctx context.Context, app *appmanager.App, name string, info hub.Info) (hub.ChannelInfo, error)
	// ChannelUsers lists the user ids of a presence channel.
	ChannelUsers(ctx context.Context, app *appmanager.App, name string) ([]string, error)
	// TerminateUser closes every connection signed in as userID.
	TerminateUser(ctx context.Context, app *appmanager.App, userID string) error
}

var _ Hub = (*hub.Hub)(nil)

// Config configures a Handler. Every field but Now is required; the
// server's options hold the defaults.
type Config struct {
	// Apps finds apps by id. The caller caches it if lookups are slow.
	Apps appmanager.Manager
	// Hub publishes events and answers channel queries.
	Hub Hub
	// Logger receives failures of the app manager and the hub (5xx
	// answers).
	Logger *slog.Logger
	// MaxBodyBytes is the largest accepted request body; a larger one is
	// answered 413.
	MaxBodyBytes int64
	// BodyReadTimeout bounds the time the whole request body may take to
	// arrive; a slower one is answered 408.
	BodyReadTimeout time.Duration
	// TimestampSkew is how far auth_timestamp may be from Now, either way.
	// A negative value turns the check off (not recommended: it allows
	// replaying captured requests).
	TimestampSkew time.Duration
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
	// CountCall, when set, is told of each call whose signature checked:
	// the app, the body bytes read and the response bytes written.
	CountCall func(appID string, in, out int)
}

// Handler serves the HTTP API. It is safe for concurrent use.
type Handler struct {
	apps        appmanager.Manager
	hub         Hub
	log         *slog.Logger
	dbg         *debuglog.Sampler
	maxBody     int64
	bodyTimeout time.Duration
	skew        time.Duration
	now         func() time.Time
	countCall   func(appID string, in, out int)
	mux         *http.ServeMux
	// decoyKey is the key and secret of the stand-in for unknown apps.
	decoyKey string
	// failureLog bounds the lines of failed requests: while a backend is
	// down every request would write one.
	failureLog *logthrottle.Throttle
}

// New returns a Handler for cfg, or an error naming the first invalid
// field.
func New(cfg Config) (*Handler, error) {
	switch {
	case cfg.Apps == nil:
		return nil, errors.New("httpapi: Config.Apps is nil")
	case cfg.Hub == nil:
		return nil, errors.New("httpapi: Config.Hub is nil")
	case cfg.Logger == nil:
		return nil, errors.New("httpapi: Config.Logger is nil")
	case cfg.MaxBodyBytes <= 0:
		return nil, fmt.Errorf("httpapi: Config.MaxBodyBytes is not positive (%d)", cfg.MaxBodyBytes)
	case cfg.BodyReadTimeout <= 0:
		return nil, errors.New("httpapi: Config.BodyReadTimeout is not positive")
	case cfg.TimestampSkew == 0:
		return nil, errors.New("httpapi: Config.TimestampSkew is zero")
	}
	h := &Handler{
		apps:        cfg.Apps,
		hub:         cfg.Hub,
		log:         cfg.Logger,
		dbg:         debuglog.New(cfg.Logger, "http_api"),
		maxBody:     cfg.MaxBodyBytes,
		bodyTimeout: cfg.BodyReadTimeout,
		skew:        cfg.TimestampSkew,
		now:         cfg.Now,
		countCall:   cfg.CountCall,
		mux:         http.NewServeMux(),
		decoyKey:    rand.Text(),
		failureLog:  logthrottle.New(time.Second, 10),
	}
	if h.now == nil {
		h.now = time.Now
	}
	// Patterns carry no method so that a wrong method is answered by
	// endpoint with a JSON 405 rather than by the mux in plain text.
	h.mux.Handle("/apps/{app}/events", h.endpoint(http.MethodPost, h.publish))
	h.mux.Handle("/apps/{app}/batch_events", h.endpoint(http.MethodPost, h.batch))
	h.mux.Handle("/apps/{app}/channels", h.endpoint(http.MethodGet, h.channels))
	h.mux.Handle("/apps/{app}/channels/{channel}", h.endpoint(http.MethodGet, h.channel))
	h.mux.Handle("/apps/{app}/channels/{channel}/users", h.endpoint(http.MethodGet, h.users))
	h.mux.Handle("/apps/{app}/users/{user}/terminate_connections", h.endpoint(http.MethodPost, h.terminate))
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		apierr.Write(w, errNotFound(r.URL.Path))
	})
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.dbg.Enabled(r.Context()) {
		h.serveDebug(w, r)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// request is an authenticated API request.
type request struct {
	r      *http.Request
	app    *appmanager.App
	params url.Values
	body   []byte
}

// endpointFunc serves an authenticated request, returning the JSON body of
// a 200 answer or an error.
type endpointFunc func(ctx context.Context, rq *request) ([]byte, error)

// endpoint wraps fn with the method check, authentication and error
// mapping every route shares.
func (h *Handler) endpoint(method string, fn endpointFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method {
			w.Header().Set("Allow", method)
			apierr.WriteEarly(w, r, apierr.New(http.StatusMethodNotAllowed, apierr.CodeMethodNotAllowed,
				"method %s is not allowed here; use %s", r.Method, method))
			return
		}
		ctx := r.Context()
		// Until the body is read, answers go out at once with a bounded
		// lingering close (see apierr.WriteEarly).
		early := func(err error) { apierr.WriteEarly(w, r, err) }
		appID := r.PathValue("app")
		app, err := hub.FindApp(ctx, h.apps, appID)
		if errors.Is(err, appmanager.ErrNotFound) {
			// Answer as for a known app and a wrong key, so that app ids
			// cannot be enumerated without credentials: the decoy's key
			// matches no request.
			app = &appmanager.App{ID: appID, Key: h.decoyKey, Secret: h.decoyKey}
		} else if err != nil {
			apierr.WriteEarly(w, r, h.failure(r, appID, err))
			return
		}
		params, err := parseQuery(r.URL.RawQuery)
		if err != nil {
			early(err)
			return
		}
		if err := verifySignature(app, r.Method, r.URL.EscapedPath(), r.URL.Path, params, h.now(), h.skew); err != nil {
			early(err)
			return
		}
		// The body is read through the server's own writer, which
		// MaxBytesReader tells to close the connection after a huge body.
		raw, in := w, 0
		if h.countCall != nil {
			cw := &countingWriter{ResponseWriter: w}
			defer func() { h.countCall(app.ID, in, cw.n) }()
			w = cw
			early = func(err error) { apierr.WriteEarly(cw, r, err) }
		}
		if err := hub.CheckEnabled(app); err != nil {
			early(err)
			return
		}
		buf, err := h.readBody(raw, r)
		if buf != nil {
			in = buf.Len()
			defer putBuffer(buf)
		}
		if err != nil {
			early(err)
			return
		}
		rq := &request{r: r, app: app, params: params, body: buf.Bytes()}
		if err := verifyBody(params, rq.body); err != nil {
			apierr.Write(w, err)
			return
		}
		out, err := fn(ctx, rq)
		if err != nil {
			apierr.Write(w, h.failure(r, app.ID, err))
			return
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// failure returns the answer to an endpoint's error: an *apierr.Error as
// it is (logging a 503's cause), anything else as a logged 500, and
// errCanceled when the client has gone.
func (h *Handler) failure(r *http.Request, appID string, err error) error {
	ctx := r.Context()
	if ctx.Err() != nil {
		return errCanceled // nobody reads the answer
	}
	ae, ok := errors.AsType[*apierr.Error](err)
	internal := !ok || ae.Status < 400 || ae.Status > 599
	if !internal && ae.Status < 500 {
		return err
	}
	if logIt, suppressed := h.failureLog.Allow(); logIt {
		level, msg, cause := slog.LevelError, "httpapi: request failed", err
		if !internal {
			level, msg = slog.LevelWarn, "httpapi: backend unavailable"
			if ae.Err != nil {
				cause = ae.Err
			}
		}
		h.log.LogAttrs(ctx, level, msg, slog.String("app_id", appID), slog.String("path", r.URL.Path),
			slog.Any("error", cause), slog.Int64("suppressed", suppressed))
	}
	if internal {
		return apierr.Internal
	}
	return err
}

// maxPooledBuffer is the largest body buffer kept for reuse.
const maxPooledBuffer = 64 << 10

var bufferPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func putBuffer(b *bytes.Buffer) {
	if b.Cap() <= maxPooledBuffer {
		b.Reset()
		bufferPool.Put(b)
	}
}

// readBody reads the whole body, at most h.maxBody bytes, into a pooled
// buffer that the caller returns with putBuffer once the answer is written.
// Nothing may keep a reference to its bytes.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) (*bytes.Buffer, error) {
	tooLarge := func() error {
		return apierr.New(http.StatusRequestEntityTooLarge, apierr.CodePayloadTooLarge,
			"request body is larger than %d bytes", h.maxBody)
	}
	if r.ContentLength > h.maxBody {
		return nil, tooLarge()
	}
	buf := bufferPool.Get().(*bytes.Buffer)
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + 1)
	}
	// A body that trickles in must not hold the handler: the whole body
	// has BodyReadTimeout to arrive.
	rc := http.NewResponseController(w)
	deadline := rc.SetReadDeadline(time.Now().Add(h.bodyTimeout)) == nil
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, h.maxBody))
	if deadline {
		_ = rc.SetReadDeadline(time.Time{})
	}
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return buf, tooLarge()
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return buf, apierr.New(http.StatusRequestTimeout, apierr.CodeRequestTimeout,
				"the request body did not arrive within %s", h.bodyTimeout)
		}
		return buf, badRequest("reading the request body: %v", err)
	}
	return buf, nil
}

// errCanceled answers a request whose client has gone; nobody reads it.
var errCanceled = apierr.New(http.StatusServiceUnavailable, apierr.CodeUnavailable, "request canceled")

func errNotFound(path string) error {
	return apierr.New(http.StatusNotFound, apierr.CodeNotFound, "no API endpoint at %q", path)
}

func badRequest(format string, args ...any) error { return apierr.BadRequest(format, args...) }

func authFailed(format string, args ...any) error {
	return apierr.New(http.StatusUnauthorized, apierr.CodeAuthFailed, format, args...)
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

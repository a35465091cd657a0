package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/internal/hub"
)

// Hub is what the handlers need from the connection hub. *hub.Hub
// implements it; tests use a fake.
type Hub interface {
	// ValidatePublish checks an event against the app's limits without
	// publishing it.
	ValidatePublish(app *appmanager.App, req *hub.PublishRequest) error
	// Publish delivers an event and reports the Info it asks for.
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

// Defaults of Config.
const (
	// DefaultMaxBodyBytes bounds a request body: ten events of Pusher's
	// 10 KB maximum, JSON-escaped, fit with room to spare.
	DefaultMaxBodyBytes = 1 << 20
	// DefaultTimestampSkew is how far auth_timestamp may be from the
	// server clock, as Pusher specifies.
	DefaultTimestampSkew = 600 * time.Second
)

// Config configures a Handler. Apps and Hub are required.
type Config struct {
	// Apps finds apps by id. The caller caches it if lookups are slow.
	Apps appmanager.Manager
	// Hub publishes events and answers channel queries.
	Hub Hub
	// Logger receives failures of the app manager and the hub (5xx
	// answers). Nil means slog.Default().
	Logger *slog.Logger
	// MaxBodyBytes is the largest accepted request body; a larger one is
	// answered 413. Zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// TimestampSkew is how far auth_timestamp may be from Now, either way.
	// Zero means DefaultTimestampSkew; a negative value turns the check off
	// (not recommended: it allows replaying captured requests).
	TimestampSkew time.Duration
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
}

// Handler serves the HTTP API. It is safe for concurrent use.
type Handler struct {
	apps    appmanager.Manager
	hub     Hub
	log     *slog.Logger
	maxBody int64
	skew    time.Duration
	now     func() time.Time
	mux     *http.ServeMux
}

// New returns a Handler for cfg, or an error naming the first invalid
// field.
func New(cfg Config) (*Handler, error) {
	switch {
	case cfg.Apps == nil:
		return nil, errors.New("httpapi: Config.Apps is nil")
	case cfg.Hub == nil:
		return nil, errors.New("httpapi: Config.Hub is nil")
	case cfg.MaxBodyBytes < 0:
		return nil, fmt.Errorf("httpapi: Config.MaxBodyBytes is negative (%d)", cfg.MaxBodyBytes)
	}
	h := &Handler{
		apps:    cfg.Apps,
		hub:     cfg.Hub,
		log:     cfg.Logger,
		maxBody: cfg.MaxBodyBytes,
		skew:    cfg.TimestampSkew,
		now:     cfg.Now,
		mux:     http.NewServeMux(),
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.maxBody == 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	if h.skew == 0 {
		h.skew = DefaultTimestampSkew
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
		writeError(w, errNotFound(r.URL.Path))
	})
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
			writeError(w, &apiError{http.StatusMethodNotAllowed, codeMethodNotAllowed,
				fmt.Sprintf("method %s is not allowed here; use %s", r.Method, method)})
			return
		}
		ctx := r.Context()
		appID := r.PathValue("app")
		app, err := h.apps.FindByID(ctx, appID)
		if err != nil {
			if errors.Is(err, appmanager.ErrNotFound) {
				writeError(w, &apiError{http.StatusNotFound, codeAppNotFound, fmt.Sprintf("app %q not found", appID)})
				return
			}
			if ctx.Err() != nil {
				writeError(w, errCanceled)
				return
			}
			h.log.LogAttrs(ctx, slog.LevelWarn, "httpapi: app lookup failed",
				slog.String("app_id", appID), slog.Any("err", err))
			writeError(w, errUnavailable("app manager unavailable, retry later"))
			return
		}
		params, err := parseQuery(r.URL.RawQuery)
		if err != nil {
			writeError(w, err)
			return
		}
		if err := verifySignature(app, r.Method, r.URL.EscapedPath(), r.URL.Path, params, h.now(), h.skew); err != nil {
			writeError(w, err)
			return
		}
		if !app.Enabled {
			writeError(w, &apiError{http.StatusForbidden, codeForbidden, fmt.Sprintf("app %q is disabled", app.ID)})
			return
		}
		buf, err := h.readBody(w, r)
		if buf != nil {
			defer putBuffer(buf)
		}
		if err != nil {
			writeError(w, err)
			return
		}
		rq := &request{r: r, app: app, params: params, body: buf.Bytes()}
		if err := verifyBody(params, rq.body); err != nil {
			writeError(w, err)
			return
		}
		out, err := fn(ctx, rq)
		if err != nil {
			h.writeFailure(w, r, app, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// writeFailure answers an error of an endpoint: its own *apiError, a
// *hub.RequestError mapped by status, and anything else as a logged 500.
func (h *Handler) writeFailure(w http.ResponseWriter, r *http.Request, app *appmanager.App, err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		writeError(w, err)
		return
	}
	var re *hub.RequestError
	if errors.As(err, &re) {
		status, code := re.Status, codeForStatus(re.Status)
		if code == "" {
			h.log.LogAttrs(r.Context(), slog.LevelError, "httpapi: hub returned an unexpected status",
				slog.String("app_id", app.ID), slog.Int("status", status), slog.Any("err", err))
			writeError(w, errInternal)
			return
		}
		if status >= 500 {
			h.log.LogAttrs(r.Context(), slog.LevelWarn, "httpapi: hub unavailable",
				slog.String("app_id", app.ID), slog.Any("err", err))
		}
		writeError(w, &apiError{status, code, err.Error()})
		return
	}
	if r.Context().Err() != nil {
		// The client went away; nobody reads the answer.
		writeError(w, errCanceled)
		return
	}
	h.log.LogAttrs(r.Context(), slog.LevelError, "httpapi: request failed",
		slog.String("app_id", app.ID), slog.String("path", r.URL.Path), slog.Any("err", err))
	writeError(w, errInternal)
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
		return &apiError{http.StatusRequestEntityTooLarge, codePayloadTooLarge,
			fmt.Sprintf("request body is larger than %d bytes", h.maxBody)}
	}
	if r.ContentLength > h.maxBody {
		return nil, tooLarge()
	}
	buf := bufferPool.Get().(*bytes.Buffer)
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + 1)
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return buf, tooLarge()
		}
		return buf, &apiError{http.StatusBadRequest, codeInvalidInput, "reading the request body: " + err.Error()}
	}
	return buf, nil
}

// Error codes of the JSON error body.
const (
	codeAuthFailed       = "auth_failed"
	codeInvalidInput     = "invalid_input"
	codeLimitExceeded    = "limit_exceeded"
	codeForbidden        = "forbidden"
	codeAppNotFound      = "app_not_found"
	codeNotFound         = "not_found"
	codeMethodNotAllowed = "method_not_allowed"
	codePayloadTooLarge  = "payload_too_large"
	codeRateLimited      = "rate_limited"
	codeInternal         = "internal_error"
	codeUnavailable      = "service_unavailable"
)

// codeForStatus returns the error code of a hub error status, or "" for a
// status the API does not answer with.
func codeForStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return codeInvalidInput
	case http.StatusUnauthorized:
		return codeAuthFailed
	case http.StatusForbidden:
		return codeForbidden
	case http.StatusNotFound:
		return codeNotFound
	case http.StatusRequestEntityTooLarge:
		return codePayloadTooLarge
	case http.StatusTooManyRequests:
		return codeRateLimited
	case http.StatusServiceUnavailable:
		return codeUnavailable
	}
	return ""
}

// apiError is an answer other than 200.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

var (
	errInternal = &apiError{http.StatusInternalServerError, codeInternal, "internal error"}
	// errCanceled answers a request whose client has gone; nobody reads it.
	errCanceled = &apiError{http.StatusServiceUnavailable, codeUnavailable, "request canceled"}
)

func errNotFound(path string) *apiError {
	return &apiError{http.StatusNotFound, codeNotFound, fmt.Sprintf("no API endpoint at %q", path)}
}

func errUnavailable(msg string) *apiError {
	return &apiError{http.StatusServiceUnavailable, codeUnavailable, msg}
}

func badRequest(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, codeInvalidInput, fmt.Sprintf(format, args...)}
}

func authFailed(format string, args ...any) *apiError {
	return &apiError{http.StatusUnauthorized, codeAuthFailed, fmt.Sprintf(format, args...)}
}

// writeError writes err, which must be or wrap an *apiError, as a JSON
// error body. The message is err.Error(), so wrapping adds context such as
// a batch index.
func writeError(w http.ResponseWriter, err error) {
	ae, ok := errors.AsType[*apiError](err)
	if !ok {
		ae, err = errInternal, errInternal
	}
	if ae.status == http.StatusServiceUnavailable || ae.status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	buf := make([]byte, 0, 64+len(err.Error()))
	buf = append(buf, `{"error":`...)
	buf = appendString(buf, err.Error())
	buf = append(buf, `,"code":`...)
	buf = appendString(buf, ae.code)
	buf = append(buf, `,"status":`...)
	buf = appendInt(buf, ae.status)
	buf = append(buf, '}')
	writeJSON(w, ae.status, buf)
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

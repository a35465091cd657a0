package sockudo

import (
	"net/http"
	"strings"

	"github.com/sockudo-go/sockudo/internal/hub"
)

// CORS is the cross-origin policy of the server's HTTP endpoints, Sockudo's
// "cors" section: which browser origins may call the HTTP API, with which
// methods and request headers. Pass it to WithCORS.
type CORS struct {
	// Origins admitted. "*" (or "any") admits every origin and answers
	// "Access-Control-Allow-Origin: *"; otherwise a matching origin is
	// echoed back. Patterns follow App.AllowedOrigins: exact origins,
	// scheme-less hosts and one-wildcard patterns such as "*.example.com".
	// Empty admits none.
	Origins []string
	// Methods are listed in Access-Control-Allow-Methods of a preflight.
	Methods []string
	// Headers are listed in Access-Control-Allow-Headers of a preflight.
	Headers []string
	// Credentials sends "Access-Control-Allow-Credentials: true". It is
	// turned off with the "*" origin (browsers refuse the pair) and with an
	// empty origin list, as in Sockudo.
	Credentials bool
}

// DefaultCORS returns Sockudo's default policy: every origin, credentials
// requested (and so turned off by the wildcard), methods GET, POST, PUT,
// PATCH, DELETE and OPTIONS, and the headers pusher and Ably clients send.
func DefaultCORS() CORS {
	return CORS{
		Origins:     []string{"*"},
		Methods:     []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"},
		Headers:     []string{"Authorization", "Content-Type", "X-Requested-With", "Accept", "X-Ably-ClientId", "X-Ably-Version", "X-Ably-Lib", "X-Ably-DeviceToken", "Ably-Agent", "Ably-Version", "Ably-ClientId", "X-Idempotency-Key"},
		Credentials: true,
	}
}

// WithCORS answers cross-origin requests under the path prefix with c (by
// default no CORS headers are sent, for hosts that have their own CORS
// middleware). Every OPTIONS request is taken as a preflight and answered
// 200 with an empty body, before rate limits; other responses get the
// Allow-Origin, Allow-Credentials and Vary headers. ServeHTTP and
// APIHandler apply it.
func WithCORS(c CORS) Option {
	p := &corsPolicy{
		origins: append([]string(nil), c.Origins...),
		methods: strings.Join(c.Methods, ","),
		headers: strings.Join(c.Headers, ","),
	}
	for _, o := range c.Origins {
		p.anyOrigin = p.anyOrigin || o == "*" || strings.EqualFold(o, "any")
	}
	p.credentials = c.Credentials && !p.anyOrigin && len(c.Origins) > 0
	p.check = c
	return func(cfg *config) { cfg.cors = p }
}

// corsPolicy is a CORS with its header values computed once.
type corsPolicy struct {
	check       CORS // as given, for validate
	origins     []string
	anyOrigin   bool
	credentials bool
	methods     string
	headers     string
}

// corsVary names the request headers a CORS answer depends on.
const corsVary = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"

// serve adds the CORS headers to w and answers a preflight, reporting
// whether it did (then the request is done).
func (p *corsPolicy) serve(w http.ResponseWriter, r *http.Request) bool {
	h := w.Header()
	if p.anyOrigin {
		h.Set("Access-Control-Allow-Origin", "*")
	} else if o := r.Header.Get("Origin"); o != "" && hub.OriginAllowed(p.origins, o) {
		h.Set("Access-Control-Allow-Origin", o)
	}
	if p.credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	h.Add("Vary", corsVary)
	if r.Method != http.MethodOptions {
		return false
	}
	if p.methods != "" {
		h.Set("Access-Control-Allow-Methods", p.methods)
	}
	if p.headers != "" {
		h.Set("Access-Control-Allow-Headers", p.headers)
	}
	w.WriteHeader(http.StatusOK)
	return true
}

// validate checks the origin patterns as Sockudo does at start, and that
// methods and headers are HTTP tokens (they go into response headers).
func (p *corsPolicy) validate() error {
	for _, o := range p.check.Origins {
		if err := checkOriginPattern(o); err != nil {
			return invalidOption("WithCORS", "origin %q: %s", o, err)
		}
	}
	for _, list := range [][]string{p.check.Methods, p.check.Headers} {
		for _, v := range list {
			if !isToken(v) {
				return invalidOption("WithCORS", "%q is not a method or header name", v)
			}
		}
	}
	return nil
}

// originPatternError is why an origin pattern cannot match.
type originPatternError string

func (e originPatternError) Error() string { return string(e) }

// checkOriginPattern rejects the patterns Sockudo rejects: empty, more than
// one '*', "*." without a domain, a scheme without a host.
func checkOriginPattern(p string) error {
	switch {
	case p == "":
		return originPatternError("empty pattern")
	case p == "*" || strings.EqualFold(p, "any"):
		return nil
	case strings.Count(p, "*") > 1:
		return originPatternError("more than one '*'")
	}
	if d, ok := strings.CutPrefix(p, "*."); ok && (d == "" || strings.Contains(d, "..") || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".")) {
		return originPatternError("no valid domain after '*.'")
	}
	if scheme, host, ok := strings.Cut(p, "://"); ok && (scheme == "" || host == "") {
		return originPatternError("scheme or host missing")
	}
	return nil
}

// isToken reports whether s is an RFC 9110 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

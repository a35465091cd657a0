package ratelimithttp

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/sockudo-go/sockudo/internal/apierr"
	"github.com/sockudo-go/sockudo/ratelimit"
)

// Rule limits requests per client IP.
type Rule struct {
	// Limiter decides; wrap a shared driver in a ratelimit.Guard.
	Limiter ratelimit.Limiter
	// Limit is the budget of each client IP.
	Limit ratelimit.Limit
	// KeyPrefix is prepended to the client IP to form the limiter key, so
	// that several rules can share a limiter (e.g. "api:").
	KeyPrefix string
	// TrustHops is the number of reverse proxies in front of the server;
	// see ClientIP.
	TrustHops int
	// RealIPHeader, when set, names the header the trusted proxy writes the
	// client address in, used when there is no X-Forwarded-For; see
	// ClientIP.
	RealIPHeader string
	// Observe, when set, is told of each decision the limiter made
	// (not of its failures), for metrics.
	Observe func(limited bool)
}

// Middleware returns a handler that applies rule to each request and calls
// next for those it allows.
func Middleware(rule Rule, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rule.Check(w, r) {
			next.ServeHTTP(w, r)
		}
	})
}

// Check charges one unit of r's client IP and reports whether the request
// may proceed. It always sets X-RateLimit-Limit, X-RateLimit-Remaining and
// X-RateLimit-Reset (unix seconds, rounded up) when the limiter answers.
// On a denial it writes 429 with Retry-After (seconds, at least 1) and
// the API's JSON error body (code rate_limited). If the limiter returns an error, Check writes 503,
// or nothing when the client has already gone.
func (rule Rule) Check(w http.ResponseWriter, r *http.Request) bool {
	ctx := r.Context()
	res, err := rule.Limiter.Allow(ctx, rule.KeyPrefix+ClientIP(r, rule.TrustHops, rule.RealIPHeader), rule.Limit, 1)
	if err != nil {
		if ctx.Err() == nil {
			apierr.WriteEarly(w, r, apierr.New(http.StatusServiceUnavailable, apierr.CodeUnavailable, "rate limiter unavailable, retry later"))
		}
		return false
	}
	if rule.Observe != nil {
		rule.Observe(!res.Allowed)
	}
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(res.Limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(res.Remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(res.ResetAt.Add(time.Second-1).Unix(), 10))
	if res.Allowed {
		return true
	}
	h.Set("Retry-After", strconv.FormatInt(int64(max(1, (res.RetryAfter+time.Second-1)/time.Second)), 10))
	apierr.WriteEarly(w, r, apierr.New(http.StatusTooManyRequests, apierr.CodeRateLimited, "rate limit exceeded, retry later"))
	return false
}

// ClientIP returns the address of the client that sent r, for use as a
// rate-limit key. IPv4-mapped IPv6 addresses are returned as IPv4.
//
// With trustHops 0 it is the peer address (r.RemoteAddr), which a client
// cannot forge: forwarding headers are ignored. With trustHops N > 0 the
// server sits behind N reverse proxies, each of which appends the address
// it received the request from to X-Forwarded-For, so the client is the
// N-th address from the right (all X-Forwarded-For headers are read as one
// list); entries further left were written by the client and are never
// used. If the list is shorter than N or that entry is not an IP address,
// the request did not come through the configured proxies and the peer
// address is used. With no X-Forwarded-For at all, the header named by
// realIPHeader (such as X-Real-IP, which nginx can be told to set) is used
// when it is configured and valid, else the peer address: a client that
// reaches the server around the proxies cannot pick its address.
func ClientIP(r *http.Request, trustHops int, realIPHeader string) string {
	peer := remoteIP(r.RemoteAddr)
	if trustHops <= 0 {
		return peer
	}
	values := r.Header.Values("X-Forwarded-For")
	if len(values) == 0 {
		if realIPHeader == "" {
			return peer
		}
		if ip, ok := parseIP(r.Header.Get(realIPHeader)); ok {
			return ip
		}
		return peer
	}
	// Walk the list from the right without allocating it.
	hops := trustHops
	for i := len(values) - 1; i >= 0; i-- {
		v := values[i]
		for {
			comma := strings.LastIndexByte(v, ',')
			entry := v[comma+1:]
			if hops--; hops == 0 {
				if ip, ok := parseIP(entry); ok {
					return ip
				}
				return peer
			}
			if comma < 0 {
				break
			}
			v = v[:comma]
		}
	}
	return peer
}

// remoteIP returns the IP of a host:port address, or addr itself when it
// is not one (a Unix socket, a test's fake address).
func remoteIP(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if ip, ok := parseIP(host); ok {
		return ip
	}
	return addr
}

// parseIP normalizes an IP address, which some proxies write with a port:
// trimmed, without port or zone, IPv4-mapped addresses as IPv4.
func parseIP(s string) (string, bool) {
	s = strings.TrimSpace(s)
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, perr := netip.ParseAddrPort(s)
		if perr != nil {
			return "", false
		}
		a = ap.Addr()
	}
	return a.Unmap().WithZone("").String(), true
}

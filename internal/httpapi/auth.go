package httpapi

import (
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/internal/auth"
)

// Query parameters of a signed request.
const (
	paramKey       = "auth_key"
	paramTimestamp = "auth_timestamp"
	paramVersion   = "auth_version"
	paramSignature = "auth_signature"
	paramBodyMD5   = "body_md5"

	authVersion = "1.0"
)

// parseQuery parses a raw query into single-valued parameters with
// lower-cased keys, the form the signature covers. Unlike url.ParseQuery
// it splits on & only, so a ';' in a value (a legal channel-name byte that
// pusher-http-go sends unescaped) is kept.
//
// The string to sign joins unescaped k=v pairs with &, so some parameter
// sets would sign alike ({"a":"1&b=2"} and {"a":"1","b":"2"}). To keep
// every signature meaning one request, a key given twice (in any case), a
// key holding '&' or '=' and a value holding '&' are errors. No SDK sends
// them: the API's parameters never contain these bytes.
func parseQuery(raw string) (url.Values, error) {
	n := strings.Count(raw, "&") + 1
	params := make(url.Values, n)
	// One backing array for every value slice.
	vals := make([]string, 0, n)
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, err := url.QueryUnescape(k)
		if err != nil {
			return nil, badRequest("malformed query string: %v", err)
		}
		v, err = url.QueryUnescape(v)
		if err != nil {
			return nil, badRequest("malformed query string: %v", err)
		}
		k = strings.ToLower(k)
		if strings.ContainsAny(k, "&=") {
			return nil, badRequest("query parameter name %q holds '&' or '='", k)
		}
		if strings.Contains(v, "&") {
			return nil, badRequest("query parameter %q holds '&' in its value", k)
		}
		if _, dup := params[k]; dup {
			return nil, badRequest("query parameter %q is given more than once", k)
		}
		vals = append(vals, v)
		params[k] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	return params, nil
}

// verifySignature checks the auth_* parameters of a request to app: the
// key, the version, the timestamp within skew of now (skew < 0 skips it)
// and the signature over method, path and params. The signature may cover
// rawPath (as sent) or path (percent-decoded). It does not check body_md5
// against the body; verifyBody does, once the body is read.
//
// A path holding a newline is refused: the newline ends the path in the
// string to sign, so it would let the path and the query trade bytes.
func verifySignature(app *appmanager.App, method, rawPath, path string, params url.Values, now time.Time, skew time.Duration) error {
	if strings.Contains(path, "\n") || strings.Contains(rawPath, "\n") {
		return badRequest("the path holds a newline")
	}
	key, ok := lookup(params, paramKey)
	if !ok {
		return authFailed("missing auth_key")
	}
	if !auth.Equal(key, app.Key) {
		return authFailed("auth_key does not belong to app %q", app.ID)
	}
	version, ok := lookup(params, paramVersion)
	if !ok {
		return authFailed("missing auth_version")
	}
	if version != authVersion {
		return authFailed("unsupported auth_version %q (want %q)", version, authVersion)
	}
	ts, ok := lookup(params, paramTimestamp)
	if !ok {
		return authFailed("missing auth_timestamp")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return authFailed("auth_timestamp %q is not a Unix time in seconds", ts)
	}
	if skew >= 0 {
		nowSec := now.Unix()
		limit := int64(skew / time.Second)
		// Compare without overflow for any sec.
		if sec < nowSec-limit || sec > nowSec+limit {
			return authFailed("auth_timestamp %d is more than %d s away from the server time %d", sec, limit, nowSec)
		}
	}
	sig, ok := lookup(params, paramSignature)
	if !ok {
		return authFailed("missing auth_signature")
	}
	signed := auth.RequestString(method, rawPath, params)
	if auth.Equal(sig, auth.Sign(app.Secret, signed)) {
		return nil
	}
	if path != rawPath && auth.Equal(sig, auth.Sign(app.Secret, auth.RequestString(method, path, params))) {
		return nil
	}
	return authFailed("invalid auth_signature: sign the hex HMAC-SHA256 of %q with the app secret", signed)
}

// verifyBody checks body_md5 against the body: it is required when there
// is a body, and must match whenever it is given.
func verifyBody(params url.Values, body []byte) error {
	got, ok := lookup(params, paramBodyMD5)
	if !ok {
		if len(body) > 0 {
			return authFailed("missing body_md5: it is required when the request has a body")
		}
		return nil
	}
	sum := md5.Sum(body)
	var want [2 * md5.Size]byte
	hex.Encode(want[:], sum[:])
	if subtle.ConstantTimeCompare([]byte(got), want[:]) != 1 {
		return authFailed("body_md5 does not match the request body")
	}
	return nil
}

// lookup returns the value of a parameter parsed by parseQuery.
func lookup(params url.Values, key string) (string, bool) {
	vs, ok := params[key]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

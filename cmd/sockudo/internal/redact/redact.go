// Package redact hides credentials in connection strings before they are
// logged or printed: passwords in URLs, key=value DSNs and MySQL DSNs.
package redact

import "regexp"

// Mask is what a hidden credential is replaced with.
const Mask = "redacted"

var (
	// scheme://user:password@host — the password runs to the last @
	// before the path.
	urlPassword = regexp.MustCompile(`(://[^:/@\s]*):[^/\s]*@`)
	// MySQL's user:password@tcp(host)/db (or unix(...), or no network).
	mysqlPassword = regexp.MustCompile(`^([^:/@\s]*):.*@((?:tcp|tcp4|tcp6|udp|unix)?\()`)
	// password=... in a key=value DSN or a URL query, quoted or not.
	keyValue = regexp.MustCompile(`(?i)((?:^|[\s?&;])(?:password|passwd|pwd|sslpassword|secret|token)\s*=\s*)('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s&;]*)`)
)

// String returns s with any password it carries replaced by Mask: the
// password of a URL's user info (redis://user:pass@host), of a MySQL DSN
// (user:pass@tcp(host)/db), and the value of password=, secret= or token=
// in a key=value DSN or a URL query. Anything else is returned as it is.
func String(s string) string {
	s = urlPassword.ReplaceAllString(s, "${1}:"+Mask+"@")
	s = mysqlPassword.ReplaceAllString(s, "${1}:"+Mask+"@${2}")
	return keyValue.ReplaceAllString(s, "${1}"+Mask)
}

// Secret returns Mask for a non-empty secret and "" for an empty one, so
// output shows whether a credential is set without showing it.
func Secret(s string) string {
	if s == "" {
		return ""
	}
	return Mask
}

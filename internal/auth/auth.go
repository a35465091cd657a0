package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Sign returns the hex HMAC-SHA256 of msg under secret.
func Sign(secret, msg string) string {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(msg))
	return hex.EncodeToString(h.Sum(nil))
}

// Equal compares two signatures in constant time.
func Equal(a, b string) bool {
	return hmac.Equal([]byte(a), []byte(b))
}

// ChannelString is what a private, encrypted or presence subscription
// signs: socket_id:channel, plus :channel_data for presence.
func ChannelString(socketID, channel, channelData string) string {
	if channelData == "" {
		return socketID + ":" + channel
	}
	return socketID + ":" + channel + ":" + channelData
}

// UserString is what pusher:signin signs.
func UserString(socketID, userData string) string {
	return socketID + "::user::" + userData
}

// Token returns "key:signature" for msg.
func Token(key, secret, msg string) string {
	return key + ":" + Sign(secret, msg)
}

// ErrBadToken is returned by VerifyToken for a malformed or wrong token.
var ErrBadToken = errors.New("invalid signature")

// VerifyToken checks that token is "key:hex-signature" for msg under
// secret, comparing in constant time.
func VerifyToken(token, key, secret, msg string) error {
	k, sig, ok := strings.Cut(token, ":")
	if !ok || sig == "" {
		return fmt.Errorf("%w: expected \"key:signature\"", ErrBadToken)
	}
	if !Equal(k, key) {
		return fmt.Errorf("%w: wrong app key", ErrBadToken)
	}
	if !Equal(sig, Sign(secret, msg)) {
		return ErrBadToken
	}
	return nil
}

// SharedSecret returns the base64 shared secret of an end-to-end encrypted
// channel: SHA-256 of the channel name followed by the 32-byte master key.
func SharedSecret(channel string, masterKey []byte) string {
	h := sha256.New()
	h.Write([]byte(channel))
	h.Write(masterKey)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// RequestString is what an HTTP API request signs: the upper-case method,
// the path and the query parameters other than auth_signature, with keys
// lower-cased and sorted, joined as k=v with & and values unescaped.
func RequestString(method, path string, params map[string][]string) string {
	keys := make([]string, 0, len(params))
	lower := make(map[string]string, len(params))
	for k, vs := range params {
		lk := strings.ToLower(k)
		if lk == "auth_signature" {
			continue
		}
		v := ""
		if len(vs) > 0 {
			v = vs[0]
		}
		if _, dup := lower[lk]; !dup {
			keys = append(keys, lk)
		}
		lower[lk] = v
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(strings.ToUpper(method))
	b.WriteByte('\n')
	b.WriteString(path)
	b.WriteByte('\n')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(lower[k])
	}
	return b.String()
}

// WebhookSignature returns the X-Pusher-Signature of a webhook body.
func WebhookSignature(secret string, body []byte) string {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

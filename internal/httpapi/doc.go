// Package httpapi serves the Pusher Channels HTTP API (protocol 7) for the
// apps of one server:
//
//	POST /apps/{app_id}/events
//	POST /apps/{app_id}/batch_events
//	GET  /apps/{app_id}/channels
//	GET  /apps/{app_id}/channels/{channel_name}
//	GET  /apps/{app_id}/channels/{channel_name}/users
//	POST /apps/{app_id}/users/{user_id}/terminate_connections
//
// Paths are relative to the mount point: the caller strips any prefix (with
// http.StripPrefix, which keeps URL.RawPath consistent) before the request
// reaches the Handler, so the signed path is the one the server SDKs sign.
//
// # Authentication
//
// Every request is signed as the Pusher server SDKs sign it: the query
// carries auth_key, auth_timestamp, auth_version=1.0, body_md5 (the hex MD5
// of the raw body, required whenever there is a body) and auth_signature,
// the hex HMAC-SHA256 under the app secret of
//
//	METHOD \n path \n k1=v1&k2=v2...
//
// where the keys are lower-cased and sorted, the values unescaped and
// auth_signature left out. The signature is accepted over the path as sent
// and over its percent-decoded form, because SDKs differ in which one they
// sign. The timestamp must be within Config.TimestampSkew (600 s) of the
// server clock, so a captured request cannot be replayed later. Keys,
// signatures and body digests are compared in constant time.
//
// The app named in the path must be the app of auth_key. Checks run in this
// order: route and method (404, 405), app lookup (404 unknown, 503 when the
// app manager fails), query syntax (400), signature (401), enabled flag
// (403), body size (413), body_md5 (401), then the endpoint's own
// validation (400, 413). Parameter names are matched lower-cased, as they
// are signed; a parameter given twice, a name holding '&' or '=', a value
// holding '&' and a path holding a newline are refused (400), so that no
// two different requests share a string to sign.
//
// # Errors
//
// Every answer is application/json. Errors have the body
//
//	{"error":"<what was wrong>","code":"<code>","status":<http status>}
//
// with code one of auth_failed (401), invalid_input and limit_exceeded (400),
// forbidden (403), app_not_found and not_found (404), method_not_allowed
// (405, with an Allow header), payload_too_large (413), rate_limited (429),
// internal_error (500) and service_unavailable (503, with Retry-After). A
// 401 says which check failed but never reveals the expected signature.
//
// # Publishing
//
// The events body is {"name","data","channel" or "channels","socket_id",
// "info"}. data is normally a string; any other JSON value is accepted and
// published as its compact JSON text, which is what the server SDKs send
// when they are given a non-string value. Giving both channel and channels
// is rejected as ambiguous. socket_id must look like "123.456". info may
// ask for user_count and subscription_count. The hub (Hub.ValidatePublish)
// owns the event limits: name lengths, channel names, data size (413); this
// package also bounds the channel count per event (max_event_channels_at_once,
// default 100) and the batch size (max_event_batch_size, default 10). A
// batch is validated in full before any event is published; its errors name
// the failing item ("batch[3]: ...").
package httpapi

package hub

// OriginAllowed reports whether origin matches the allow-list with the
// rules of an app's allowed origins (see originAllowed), so the HTTP API's
// CORS policy reads origin patterns exactly as the WebSocket endpoint does,
// as in Sockudo.
func OriginAllowed(allowed []string, origin string) bool { return originAllowed(allowed, origin) }

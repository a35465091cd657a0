package config

import "github.com/sockudo-go/sockudo"

// CORS is Sockudo's "cors" section: the cross-origin policy of the HTTP
// endpoints. Keys left out of the file keep Sockudo's defaults.
type CORS struct {
	// Credentials asks for Access-Control-Allow-Credentials; it is turned
	// off with the "*" origin and with an empty origin list.
	Credentials bool `json:"credentials"`
	// Origin lists the admitted origins: "*" (or "any") or patterns as in
	// an app's allowed_origins.
	Origin []string `json:"origin"`
	// Methods go into Access-Control-Allow-Methods.
	Methods []string `json:"methods"`
	// AllowedHeaders go into Access-Control-Allow-Headers.
	AllowedHeaders []string `json:"allowed_headers"`
}

// defaultCORSConfig is Sockudo's built-in default (its shipped
// config/config.json narrows methods to GET, POST, OPTIONS and headers to
// the first four).
func defaultCORSConfig() CORS {
	d := sockudo.DefaultCORS()
	return CORS{Credentials: d.Credentials, Origin: d.Origins, Methods: d.Methods, AllowedHeaders: d.Headers}
}

func (c *CORS) applyEnv(e env) error {
	e.list(&c.Origin, "CORS_ORIGINS")
	e.list(&c.Methods, "CORS_METHODS")
	e.list(&c.AllowedHeaders, "CORS_HEADERS")
	return e.boolean(&c.Credentials, "CORS_CREDENTIALS")
}

// Policy is the section as the library's option takes it.
func (c *CORS) Policy() sockudo.CORS {
	return sockudo.CORS{Origins: c.Origin, Methods: c.Methods, Headers: c.AllowedHeaders, Credentials: c.Credentials}
}

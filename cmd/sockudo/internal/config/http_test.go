package config

import (
	"strings"
	"testing"
)

func TestHTTPDefaultsValid(t *testing.T) {
	c := defaultHTTPConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

// A zero or negative setting would switch a listener bound off; each is
// refused by its name.
func TestHTTPValidateRefusesUnbounded(t *testing.T) {
	for name, set := range map[string]func(*HTTP){
		"http.header_timeout":    func(c *HTTP) { c.HeaderTimeout = 0 },
		"http.body_timeout":      func(c *HTTP) { c.BodyTimeout = -1 },
		"http.send_timeout":      func(c *HTTP) { c.SendTimeout = 0 },
		"http.keepalive_timeout": func(c *HTTP) { c.KeepaliveTimeout = 0 },
		"http.max_header_bytes":  func(c *HTTP) { c.MaxHeaderBytes = 0 },
	} {
		c := defaultHTTPConfig()
		set(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: Validate = %v, want an error naming it", name, err)
		}
	}
}

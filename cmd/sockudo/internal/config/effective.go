package config

import (
	"encoding/json"
	"strings"

	"github.com/sockudo-go/sockudo/cmd/sockudo/internal/redact"
)

// secretKeys are the JSON keys whose values are credentials, matched as
// substrings of the lower-cased key.
var secretKeys = []string{"secret", "password", "passphrase", "token", "aws_access_key_id", "authorization", "api_key"}

// EffectiveJSON returns the configuration in effect as indented JSON with
// every credential redacted: app secrets, passwords (also inside URLs and
// DSNs), AWS keys and tokens. The memory driver's apps, whatever their
// source, are listed under app_manager.array.apps.
func (c *Config) EffectiveJSON() ([]byte, error) {
	cc := *c
	cc.AppManager.Array.Apps = c.AppManager.MemoryApps()
	data, err := json.Marshal(&cc)
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	return json.MarshalIndent(redactValue("", v), "", "  ")
}

func redactValue(key string, v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, sub := range t {
			t[k] = redactValue(k, sub)
		}
	case []any:
		for i, sub := range t {
			t[i] = redactValue(key, sub)
		}
	case string:
		if isSecretKey(key) {
			return redact.Secret(t)
		}
		return redact.String(t)
	}
	return v
}

func isSecretKey(k string) bool {
	k = strings.ToLower(k)
	for _, s := range secretKeys {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

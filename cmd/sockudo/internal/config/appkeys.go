package config

import (
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/sockudo-go/sockudo/appmanager"
)

// IgnoredSetting is an app setting of the config file that this server
// reads past: one warning names it, the apps that set it and why.
type IgnoredSetting struct {
	// Key is the setting's path inside an app, such as
	// "policy.channels.channel_namespaces" or "webhooks.retry".
	Key string
	// Apps are the ids of the apps that set it.
	Apps []string
	// Reason says why it has no effect.
	Reason string
}

// IgnoredAppSettings returns the settings of the config file's inline apps
// (app_manager.array.apps) that this server does not apply, one entry per
// key, sorted by key. It is empty when no inline app is used.
func (c *Config) IgnoredAppSettings() []IgnoredSetting {
	if len(c.AppManager.Array.Apps) == 0 {
		return nil
	}
	return c.ignoredApps
}

// ignoredAppKeys are Sockudo's app settings that this server does not
// apply, by path in the nested ("policy") shape, with the reason. A flat
// app's key of the same last name (idempotency, channel_namespaces...) is
// matched under its flat path.
var ignoredAppKeys = map[string]string{
	"policy.limits.decay_seconds":               "client events are counted per second",
	"policy.limits.terminate_on_limit":          "a client over its event rate gets error 4301 and stays connected",
	"policy.limits.message_rate_limit":          "inbound messages are bounded by the server-wide socket budget instead",
	"policy.channels.annotations_enabled":       "annotations are a Sockudo protocol V2 feature, not implemented",
	"policy.channels.channel_delta_compression": "delta compression is not implemented",
	"policy.channels.channel_namespaces":        "channel namespaces are not implemented",
	"policy.idempotency":                        "idempotent publishing is not implemented",
	"policy.connection_recovery":                "connection recovery (protocol V2 resume) is not implemented",
	"policy.history":                            "durable channel history is not implemented",
	"policy.presence_history":                   "presence history is not implemented",
	"policy.webhooks.lambda":                    "only url targets are delivered",
	"policy.webhooks.lambda_function":           "only url targets are delivered",
	"policy.webhooks.retry":                     "webhook retries follow the server-wide policy (5 minutes of backoff)",
	"policy.webhooks.request_timeout_ms":        "webhook requests use the server-wide timeout",
	"policy.webhooks.filter.channel_namespace":  "channel namespaces are not implemented",
	"policy.webhooks.filter.channel_namespaces": "channel namespaces are not implemented",
}

// flatIgnored maps a flat app's keys to their nested ("policy.") paths.
var flatIgnored = map[string]string{
	"decay_seconds":             "policy.limits.decay_seconds",
	"terminate_on_limit":        "policy.limits.terminate_on_limit",
	"message_rate_limit":        "policy.limits.message_rate_limit",
	"annotations_enabled":       "policy.channels.annotations_enabled",
	"channel_delta_compression": "policy.channels.channel_delta_compression",
	"channel_namespaces":        "policy.channels.channel_namespaces",
	"idempotency":               "policy.idempotency",
	"connection_recovery":       "policy.connection_recovery",
}

// AppKeys returns the app settings this server applies, in both shapes:
// the flat keys (appmanager.App's JSON names, plus "policy") and their
// nested equivalents ("policy.limits.max_connections"...). Webhook keys
// are listed under "webhooks." and "policy.webhooks.".
func AppKeys() []string {
	var out []string
	limits := map[string]bool{}
	for _, name := range []string{"max_connections", "max_backend_events_per_second", "max_client_events_per_second",
		"max_read_requests_per_second", "max_presence_members_per_channel", "max_presence_member_size_in_kb",
		"max_channel_name_length", "max_event_channels_at_once", "max_event_name_length",
		"max_event_payload_in_kb", "max_event_batch_size"} {
		limits[name] = true
	}
	t := reflect.TypeFor[appmanager.App]()
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		out = append(out, name)
		switch {
		case name == "id" || name == "key" || name == "secret" || name == "enabled":
		case limits[name]:
			out = append(out, "policy.limits."+name)
		case strings.HasPrefix(name, "enable_"):
			out = append(out, "policy.features."+name)
		case name == "allowed_origins":
			out = append(out, "policy.channels."+name)
		case name == "webhooks":
			out = append(out, "policy.webhooks")
			for _, k := range webhookKeys() {
				out = append(out, "webhooks."+k, "policy.webhooks."+k)
			}
		}
	}
	out = append(out, "policy")
	sort.Strings(out)
	return out
}

// webhookKeys are the JSON names of appmanager.Webhook and its filter.
func webhookKeys() []string {
	var out []string
	t := reflect.TypeFor[appmanager.Webhook]()
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == "lambda_function" {
			continue // stored, not delivered: listed as ignored
		}
		out = append(out, name)
		if name == "filter" {
			ft := reflect.TypeFor[appmanager.WebhookFilter]()
			for j := 0; j < ft.NumField(); j++ {
				sub, _, _ := strings.Cut(ft.Field(j).Tag.Get("json"), ",")
				out = append(out, "filter."+sub)
			}
		}
	}
	return out
}

// IgnoredAppKeys returns the app settings of Sockudo's schema that this
// server reads past, with the reason, by nested path.
func IgnoredAppKeys() map[string]string {
	out := make(map[string]string, len(ignoredAppKeys))
	for k, v := range ignoredAppKeys {
		out[k] = v
	}
	return out
}

// ignoredAppSettings walks the config file's inline apps (raw is the whole
// decoded file) and collects the settings in ignoredAppKeys, plus keys
// that no schema knows, and the flat settings of an app that also has a
// policy (Sockudo then reads only the policy).
func ignoredAppSettings(raw any) []IgnoredSetting {
	apps, _ := dig(raw, "app_manager", "array", "apps").([]any)
	known := map[string]bool{}
	for _, k := range AppKeys() {
		known[k] = true
	}
	byKey := map[string]*IgnoredSetting{}
	add := func(key, reason, id string) {
		s := byKey[key]
		if s == nil {
			s = &IgnoredSetting{Key: key, Reason: reason}
			byKey[key] = s
		}
		if len(s.Apps) == 0 || s.Apps[len(s.Apps)-1] != id {
			s.Apps = append(s.Apps, id)
		}
	}
	for i, a := range apps {
		m, ok := a.(map[string]any)
		if !ok {
			continue
		}
		id, _ := m["id"].(string)
		if id == "" {
			id = "#" + strconv.Itoa(i)
		}
		_, nested := m["policy"].(map[string]any)
		var walk func(prefix string, obj map[string]any)
		walk = func(prefix string, obj map[string]any) {
			for k, sub := range obj {
				path := prefix + k
				norm := path
				if !nested {
					if p, ok := flatIgnored[path]; ok {
						norm = p
					} else if rest, ok := strings.CutPrefix(path, "webhooks."); ok {
						norm = "policy.webhooks." + rest
					}
				}
				switch {
				case ignoredAppKeys[norm] != "":
					add(path, ignoredAppKeys[norm], id)
				case nested && prefix == "" && known[k] && k != "id" && k != "key" && k != "secret" && k != "enabled" && k != "policy":
					add(path, "the app has a policy, which wins over flat settings (as in Sockudo)", id)
				case path == "webhooks" || path == "policy.webhooks":
					list, _ := sub.([]any)
					for _, w := range list {
						if wm, ok := w.(map[string]any); ok {
							walk(path+".", wm)
						}
					}
				case isContainer(path):
					if sm, ok := sub.(map[string]any); ok {
						walk(path+".", sm)
					}
				case !known[path]:
					add(path, "not a Sockudo app setting", id)
				}
			}
		}
		walk("", m)
	}
	out := make([]IgnoredSetting, 0, len(byKey))
	for _, s := range byKey {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// isContainer reports whether path is an object holding known settings.
func isContainer(path string) bool {
	switch path {
	case "policy", "policy.limits", "policy.features", "policy.channels", "webhooks.filter", "policy.webhooks.filter":
		return true
	}
	return false
}

// dig returns the value at the path of object keys in v, or nil.
func dig(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

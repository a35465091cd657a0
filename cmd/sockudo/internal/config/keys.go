package config

import (
	"reflect"
	"sort"
	"strings"
)

// FileKeys returns the dotted config.json keys that Load reads, derived
// from Config's JSON names (aliases included), so that a new field is a
// new key. A slice or map of values, or a type with its own decoder (the
// apps), is one key; its members are documented with it.
func FileKeys() []string {
	var out []string
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || reflect.PointerTo(t).Implements(reflect.TypeFor[interface{ UnmarshalJSON([]byte) error }]()) {
			out = append(out, strings.TrimSuffix(prefix, "."))
			return
		}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if f.Anonymous && name == "" {
				walk(prefix, f.Type) // promoted fields, as encoding/json reads them
				continue
			}
			if name == "" {
				name = f.Name
			}
			names := []string{name}
			if alias := f.Tag.Get("alias"); alias != "" {
				names = append(names, strings.Split(alias, ",")...)
			}
			for _, n := range names {
				walk(prefix+n+".", f.Type)
			}
		}
	}
	walk("", reflect.TypeFor[Config]())
	sort.Strings(out)
	return out
}

// EnvNames returns the environment variables that Load reads, in the
// order it reads them, found by running Load on an empty environment and
// recording every lookup (every variable is looked up whether or not an
// earlier one is set).
func EnvNames() []string {
	seen := map[string]bool{}
	var out []string
	_, _, _ = Load("", func(name string) (string, bool) {
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
		return "", false
	})
	return out
}

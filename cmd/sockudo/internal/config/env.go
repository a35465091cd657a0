package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// env reads configuration from environment variables. lookup is
// os.LookupEnv in production and a map in tests.
type env struct {
	lookup func(string) (string, bool)
}

// str sets *dst from the first of names that is set.
func (e env) str(dst *string, names ...string) {
	for _, n := range names {
		if v, ok := e.lookup(n); ok {
			*dst = v
			return
		}
	}
}

// integer sets *dst from the first of names that is set.
func (e env) integer(dst *int, names ...string) error {
	for _, n := range names {
		if v, ok := e.lookup(n); ok {
			i, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("%s=%q: not an integer", n, v)
			}
			*dst = i
			return nil
		}
	}
	return nil
}

// boolean sets *dst from the first of names that is set; it accepts
// true/false, 1/0, yes/no and on/off.
func (e env) boolean(dst *bool, names ...string) error {
	for _, n := range names {
		if v, ok := e.lookup(n); ok {
			switch strings.ToLower(strings.TrimSpace(v)) {
			case "1", "true", "yes", "on":
				*dst = true
			case "0", "false", "no", "off", "":
				*dst = false
			default:
				return fmt.Errorf("%s=%q: not a boolean", n, v)
			}
			return nil
		}
	}
	return nil
}

// list sets *dst from the first of names that is set, split on commas.
func (e env) list(dst *[]string, names ...string) {
	for _, n := range names {
		if v, ok := e.lookup(n); ok {
			*dst = splitList(v)
			return
		}
	}
}

// Seconds converts a whole number of seconds, as the configuration gives
// them, to a Duration.
func Seconds(n int) time.Duration { return time.Duration(n) * time.Second }

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

package config

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Logging is the "logging" section. Sockudo's own keys are colors_enabled
// and include_target; level and output_format are this server's, so the
// LOG_LEVEL and LOG_OUTPUT_FORMAT variables can also be set in the file.
type Logging struct {
	// Level is error, warn, info, debug or trace (read as debug). Empty
	// means debug when Config.Debug is set, else info.
	Level string `json:"level"`
	// OutputFormat is text (the default) or json.
	OutputFormat string `json:"output_format"`
	// ColorsEnabled and IncludeTarget are accepted for Sockudo
	// compatibility; slog's handlers have neither colors nor targets.
	ColorsEnabled bool `json:"colors_enabled"`
	IncludeTarget bool `json:"include_target"`
}

func defaultLoggingConfig() Logging {
	return Logging{OutputFormat: "text", ColorsEnabled: true, IncludeTarget: true}
}

// applyEnv reads the logging variables, then checks what is in effect,
// naming the variable or the config key that set a bad value.
func (c *Logging) applyEnv(e env) error {
	levelKey, formatKey := "logging.level", "logging.output_format"
	if v, ok := e.lookup("LOG_LEVEL"); ok {
		c.Level, levelKey = v, "LOG_LEVEL"
	}
	for _, n := range []string{"LOG_OUTPUT_FORMAT", "LOG_FORMAT"} {
		if v, ok := e.lookup(n); ok {
			c.OutputFormat, formatKey = v, n
			break
		}
	}
	if err := e.boolean(&c.ColorsEnabled, "LOG_COLORS_ENABLED"); err != nil {
		return err
	}
	if err := e.boolean(&c.IncludeTarget, "LOG_INCLUDE_TARGET"); err != nil {
		return err
	}
	if _, err := parseLevel(c.Level, false); err != nil {
		return fmt.Errorf("%s=%q: %w", levelKey, c.Level, err)
	}
	switch strings.ToLower(strings.TrimSpace(c.OutputFormat)) {
	case "", "text", "json":
	default:
		return fmt.Errorf("%s=%q: want text or json", formatKey, c.OutputFormat)
	}
	return nil
}

// parseLevel reads a level name; empty is debug when debug is set, else
// info.
func parseLevel(s string, debug bool) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		if debug {
			return slog.LevelDebug, nil
		}
		return slog.LevelInfo, nil
	case "error":
		return slog.LevelError, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "info":
		return slog.LevelInfo, nil
	case "debug", "trace":
		return slog.LevelDebug, nil
	}
	return 0, fmt.Errorf("want error, warn, info, debug or trace")
}

// LogLevel is the level in effect: logging.level (LOG_LEVEL) when set,
// else debug when debug (DEBUG) is on, else info.
func (c *Config) LogLevel() slog.Level {
	l, err := parseLevel(c.Logging.Level, c.Debug)
	if err != nil { // Load has rejected it; a Config built by hand may not
		return slog.LevelInfo
	}
	return l
}

// NewLogger returns the logger the configuration asks for, writing to w:
// JSON or text lines at LogLevel, with the source line when debug is on
// (as Sockudo adds it in debug mode).
func (c *Config) NewLogger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel(), AddSource: c.Debug}
	if strings.EqualFold(strings.TrimSpace(c.Logging.OutputFormat), "json") {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

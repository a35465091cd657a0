package main

import (
	"errors"
	"log/slog"
	"testing"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/cmd/sockudo/internal/config"
)

// The default limits are valid server options, and a bad one in the
// config is refused by name at start.
func TestLimitsReachServerOptions(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	cfg := config.Default()
	if _, err := sockudo.New(serverOptions(&cfg, log)...); err != nil {
		t.Fatalf("default config: %v", err)
	}
	cfg.ChannelLimits.MaxChannelsPerConnection = 0
	if _, err := sockudo.New(serverOptions(&cfg, log)...); !errors.Is(err, sockudo.ErrInvalidOption) {
		t.Fatalf("channel_limits.max_channels_per_connection 0: %v, want ErrInvalidOption", err)
	}
}

package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/cmd/sockudo/internal/backends"
	"github.com/sockudo-go/sockudo/cmd/sockudo/internal/config"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "sockudo:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("sockudo", flag.ContinueOnError)
	configPath := fs.String("config", "", "path to a Sockudo config.json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, unknown, err := config.Load(*configPath, os.LookupEnv)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if cfg.Debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	for _, k := range unknown {
		log.Warn("config key not supported, ignored", "key", k)
	}
	warnIgnored(log, &cfg, os.Environ())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b, err := backends.Open(ctx, &cfg, log)
	if err != nil {
		return err
	}
	defer b.Close()
	srv, err := sockudo.New(append(serverOptions(&cfg, log), b.Options()...)...)
	if err != nil {
		return err
	}
	return serve(ctx, &cfg, srv, log)
}

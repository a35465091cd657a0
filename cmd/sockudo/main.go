package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/cmd/sockudo/internal/backends"
	"github.com/sockudo-go/sockudo/cmd/sockudo/internal/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sockudo:", err)
		os.Exit(1)
	}
}

// usage is printed by --help, after the flags.
const usage = `Usage: sockudo [--config config.json] [--check-config] [--version]

Serves the Pusher protocol (Sockudo's drop-in) on HOST:PORT, 0.0.0.0:6001
by default. Configuration comes from defaults, then the --config file,
then Sockudo's environment variables; see "Standalone server" in README.md
for every key and variable with its default.

Flags:
`

// run is the whole program: it parses args, loads the configuration
// (reading the environment with lookup) and serves until ctx is done.
// --help and --version print to stdout and return nil.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) error {
	fs := flag.NewFlagSet("sockudo", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // usage is printed below, to the right stream
	configPath := fs.String("config", "", "path to a Sockudo `config.json`")
	checkConfig := fs.Bool("check-config", false, "load and validate the configuration, print it as JSON with secrets redacted, and exit")
	version := fs.Bool("version", false, "print the version and exit")
	printUsage := func(w io.Writer) {
		fmt.Fprint(w, usage)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout)
			return nil
		}
		printUsage(stderr)
		return err
	}
	if fs.NArg() > 0 {
		printUsage(stderr)
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *version {
		fmt.Fprintln(stdout, versionString())
		return nil
	}
	cfg, unknown, err := config.Load(*configPath, lookup)
	if err != nil {
		return err
	}
	if *checkConfig {
		return check(&cfg, unknown, stdout, stderr)
	}
	log := cfg.NewLogger(stderr)
	log.Info("starting", "version", versionString())
	for _, k := range unknown {
		log.Warn("config key not supported, ignored", "key", k)
	}
	warnIgnored(log, &cfg, os.Environ())

	b, err := backends.Open(ctx, &cfg, log)
	if err != nil {
		return err
	}
	defer b.Close()
	srv, err := sockudo.New(append(serverOptions(&cfg, log), b.Options()...)...)
	if err != nil {
		return err
	}
	logSummary(ctx, &cfg, b, log)
	return serve(ctx, &cfg, srv, log)
}

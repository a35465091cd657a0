package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == clientFlag {
		os.Exit(clientMain(os.Args[2:], os.Stdin, os.Stdout))
	}
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

func realMain(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "sockudo-load:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "sockudo-load:", err)
		return 1
	}
	return 0
}

// Scenario names for -run.
const (
	scenarioIdle    = "idle"
	scenarioLatency = "latency"
	scenarioConnect = "connect"
)

// config is the parsed command line.
type config struct {
	scenarios   []string
	conns       int
	latency     []latencySpec
	duration    time.Duration
	connect     int
	dialers     int
	rounds      int
	floorQueue  int
	timeout     time.Duration
	cpuProfile  string
	heapProfile string
	// Soak scenario.
	soakPool     int
	soakRate     int
	soakChannels int
	soakLife     time.Duration
	soakSample   time.Duration
	soakRSSSlack int // MiB
}

// latencySpec is one latency scenario: subs subscribers, rate publishes/s.
type latencySpec struct{ subs, rate int }

func (s latencySpec) String() string { return strconv.Itoa(s.subs) + "x" + strconv.Itoa(s.rate) }

// Bounds on flag values, so that a run stays bounded.
const (
	maxConns    = 1_000_000
	maxRate     = 10_000
	maxDuration = 10 * time.Minute
	maxTimeout  = time.Hour
)

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("sockudo-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	run := fs.String("run", "idle,latency,connect", "scenarios to run, in order")
	fs.IntVar(&cfg.conns, "conns", 10000, "idle sockets")
	lat := fs.String("latency", "250x12,2000x20", "latency scenarios as SUBSxRATE, comma separated")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "publishing time of each latency scenario, churn time of the soak")
	fs.IntVar(&cfg.connect, "connect", 2000, "sockets opened by the connect scenario")
	fs.IntVar(&cfg.dialers, "dialers", 50, "concurrent dialers")
	fs.IntVar(&cfg.rounds, "rounds", 3, "rounds of the connect scenario per target")
	fs.IntVar(&cfg.floorQueue, "floor-queue", 64, "capacity of the floor's per-socket channel")
	fs.DurationVar(&cfg.timeout, "timeout", 10*time.Minute, "bound on the whole run (plus -duration when soak runs)")
	fs.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile of the server process to `file`")
	fs.StringVar(&cfg.heapProfile, "heapprofile", "", "write heap profiles `prefix`.sockudo and prefix.floor with the idle sockets open")
	fs.IntVar(&cfg.soakPool, "soak-pool", 200, "soak: clients churning at once")
	fs.IntVar(&cfg.soakRate, "soak-rate", 50, "soak: HTTP API publishes per second over all channels")
	fs.IntVar(&cfg.soakChannels, "soak-channels", 4, "soak: channels of each kind (public, private, presence)")
	fs.DurationVar(&cfg.soakLife, "soak-life", 3*time.Second, "soak: longest session; each lasts a random time from a quarter of it")
	fs.DurationVar(&cfg.soakSample, "soak-sample", 5*time.Second, "soak: interval between samples of the server process")
	fs.IntVar(&cfg.soakRSSSlack, "soak-rss-slack", soakRSSSlack, "soak: RSS `MiB` allowed over the baseline at the end (or half the baseline, if more)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: sockudo-load [flags]\n\nMeasures sockudo against the floor broadcaster on loopback; see go doc ./cmd/sockudo-load.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, name := range strings.Split(*run, ",") {
		name = strings.TrimSpace(name)
		switch name {
		case scenarioIdle, scenarioLatency, scenarioConnect, scenarioSoak:
			if slices.Contains(cfg.scenarios, name) {
				return config{}, fmt.Errorf("-run: %q is listed twice", name)
			}
			cfg.scenarios = append(cfg.scenarios, name)
		default:
			return config{}, fmt.Errorf("-run: unknown scenario %q (want idle, latency, connect or soak)", name)
		}
	}
	var err error
	if cfg.latency, err = parseLatency(*lat); err != nil {
		return config{}, fmt.Errorf("-latency: %w", err)
	}
	switch {
	case cfg.conns < 1 || cfg.conns > maxConns:
		return config{}, fmt.Errorf("-conns: %d is not in [1, %d]", cfg.conns, maxConns)
	case cfg.connect < 1 || cfg.connect > maxConns:
		return config{}, fmt.Errorf("-connect: %d is not in [1, %d]", cfg.connect, maxConns)
	case cfg.dialers < 1 || cfg.dialers > 10_000:
		return config{}, fmt.Errorf("-dialers: %d is not in [1, 10000]", cfg.dialers)
	case cfg.rounds < 1 || cfg.rounds > 100:
		return config{}, fmt.Errorf("-rounds: %d is not in [1, 100]", cfg.rounds)
	case cfg.floorQueue < 1 || cfg.floorQueue > 1_000_000:
		return config{}, fmt.Errorf("-floor-queue: %d is not in [1, 1000000]", cfg.floorQueue)
	case cfg.duration < 100*time.Millisecond || cfg.duration > maxDuration:
		return config{}, fmt.Errorf("-duration: %s is not in [100ms, %s]", cfg.duration, maxDuration)
	case cfg.timeout <= 0 || cfg.timeout > maxTimeout:
		return config{}, fmt.Errorf("-timeout: %s is not in (0, %s]", cfg.timeout, maxTimeout)
	case cfg.soakPool < 1 || cfg.soakPool > maxConns:
		return config{}, fmt.Errorf("-soak-pool: %d is not in [1, %d]", cfg.soakPool, maxConns)
	case cfg.soakRate < 1 || cfg.soakRate > maxRate:
		return config{}, fmt.Errorf("-soak-rate: %d is not in [1, %d]", cfg.soakRate, maxRate)
	case cfg.soakChannels < 1 || cfg.soakChannels > 100:
		return config{}, fmt.Errorf("-soak-channels: %d is not in [1, 100]", cfg.soakChannels)
	case cfg.soakLife < 100*time.Millisecond || cfg.soakLife > time.Hour:
		return config{}, fmt.Errorf("-soak-life: %s is not in [100ms, 1h]", cfg.soakLife)
	case cfg.soakRSSSlack < 0 || cfg.soakRSSSlack > 1<<20:
		return config{}, fmt.Errorf("-soak-rss-slack: %d is not in [0, %d]", cfg.soakRSSSlack, 1<<20)
	case cfg.soakSample < 100*time.Millisecond || cfg.soakSample > time.Hour:
		return config{}, fmt.Errorf("-soak-sample: %s is not in [100ms, 1h]", cfg.soakSample)
	}
	if slices.Contains(cfg.scenarios, scenarioSoak) {
		timeoutSet := false
		fs.Visit(func(f *flag.Flag) { timeoutSet = timeoutSet || f.Name == "timeout" })
		switch {
		case !timeoutSet:
			cfg.timeout += cfg.duration
		case cfg.timeout < cfg.duration+soakMargin:
			// The drain and the wait for the server to empty follow the churn.
			return config{}, fmt.Errorf("-timeout: %s leaves less than %s after the soak's -duration %s", cfg.timeout, soakMargin, cfg.duration)
		}
	}
	for _, l := range cfg.latency {
		if int64(l.rate)*int64(cfg.duration) < int64(time.Second) {
			return config{}, fmt.Errorf("-latency %s with -duration %s publishes nothing", l, cfg.duration)
		}
	}
	return cfg, nil
}

// parseLatency parses "250x12,2000x20".
func parseLatency(s string) ([]latencySpec, error) {
	var out []latencySpec
	for _, item := range strings.Split(s, ",") {
		subs, rate, ok := strings.Cut(strings.TrimSpace(item), "x")
		n, err1 := strconv.Atoi(subs)
		r, err2 := strconv.Atoi(rate)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%q is not SUBSxRATE, such as 250x12", item)
		}
		if n < 1 || n > maxConns || r < 1 || r > maxRate {
			return nil, fmt.Errorf("%q: subscribers must be in [1, %d] and rate in [1, %d]", item, maxConns, maxRate)
		}
		out = append(out, latencySpec{subs: n, rate: r})
	}
	return out, nil
}

// maxOpen is the most sockets one process holds at once: the server
// process holds both targets' subscribers during a latency scenario.
func (c config) maxOpen() int {
	n := 0
	for _, sc := range c.scenarios {
		switch sc {
		case scenarioIdle:
			n = max(n, c.conns)
		case scenarioConnect:
			n = max(n, c.connect)
		case scenarioSoak:
			n = max(n, c.soakPool)
		case scenarioLatency:
			for _, l := range c.latency {
				n = max(n, 2*l.subs)
			}
		}
	}
	return n
}

// loadAverage returns the 1, 5 and 15 minute load averages where
// /proc/loadavg exists, or "".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// run starts both servers, runs the scenarios and prints the table.
func run(ctx context.Context, cfg config, stdout, stderr io.Writer) (err error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	self, err := os.Executable()
	if err != nil {
		self = os.Args[0]
	}
	// Sockets, plus listeners, pipes, profiles and the runtime's own.
	fds, err := raiseFDLimit(uint64(cfg.maxOpen()) + 256)
	if err != nil {
		return err
	}
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	targets, err := startTargets(cfg.floorQueue)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, t := range targets {
			if cerr := t.close(sctx); cerr != nil && err == nil {
				err = fmt.Errorf("close %s: %w", t.name, cerr)
			}
		}
	}()

	load0 := loadAverage()
	epoch := time.Now().UnixNano()
	l := &loader{cfg: cfg, self: self, epoch: epoch, clk: newClock(epoch), log: &lockedWriter{w: stderr}}
	var rows []row
	var summary strings.Builder
	for _, sc := range cfg.scenarios {
		var r []row
		switch sc {
		case scenarioIdle:
			r, err = l.idle(ctx, targets)
		case scenarioLatency:
			for _, spec := range cfg.latency {
				var lr []row
				if lr, err = l.latency(ctx, targets, spec); err != nil {
					break
				}
				r = append(r, lr...)
			}
		case scenarioConnect:
			r, err = l.connect(ctx, targets)
		case scenarioSoak:
			r, err = l.soak(ctx, targets[0], &summary)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", sc, err)
		}
		rows = append(rows, r...)
	}
	fmt.Fprintf(stdout, "# sockudo-load: %s %s/%s, %d CPUs (GOMAXPROCS %d) shared by the client process and the servers; fd limit %d\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), fds)
	if load0 != "" {
		// Other work on the machine skews both targets; this shows it.
		fmt.Fprintf(stdout, "# load average before: %s, after: %s\n", load0, loadAverage())
	}
	if _, err := io.WriteString(stdout, summary.String()); err != nil {
		return err
	}
	if err := printTable(stdout, rows); err != nil {
		return err
	}
	return soakVerdict(rows)
}

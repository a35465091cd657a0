package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"time"
)

// serverWait bounds a wait for the servers to see the clients' sockets
// open, subscribed or closed.
const serverWait = 30 * time.Second

// loader runs the scenarios from the server process.
type loader struct {
	cfg   config
	self  string // this executable, re-run as the client process
	epoch int64
	clk   clock
	log   io.Writer // progress; also the client processes' standard error
	// beforeFinal, when set, runs before the soak's final sample: tests
	// leak resources there.
	beforeFinal func()
}

// lockedWriter serialises writes to w: progress lines and the copies of
// the client processes' standard error share it.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (lw *lockedWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.w.Write(p)
}

func (l *loader) logf(format string, args ...any) {
	fmt.Fprintf(l.log, "sockudo-load: "+format+"\n", args...)
}

// child is a running client process.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  *bufio.Scanner
	cancel context.CancelFunc
	done   bool
}

// startClient runs the client process for spec. It lives at most until
// ctx ends.
func (l *loader) startClient(ctx context.Context, spec clientSpec) (*child, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(l.cfg.timeout)
	}
	spec.Epoch = l.epoch
	spec.Dialers = l.cfg.dialers
	spec.Limit = time.Until(deadline)
	if spec.Limit <= 0 {
		return nil, context.DeadlineExceeded
	}
	arg, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	cmd := exec.CommandContext(ctx, l.self, clientFlag, string(arg))
	cmd.Stderr = l.log
	cmd.WaitDelay = 5 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("start client process: %w", err)
	}
	return &child{cmd: cmd, stdin: stdin, lines: bufio.NewScanner(stdout), cancel: cancel}, nil
}

// expect reads the client's next report and checks its phase.
func (c *child) expect(phase string) (clientReport, error) {
	if !c.lines.Scan() {
		err := c.finish()
		if err == nil {
			err = c.lines.Err()
		}
		return clientReport{}, fmt.Errorf("client process ended before %q: %v", phase, err)
	}
	var r clientReport
	if err := json.Unmarshal(c.lines.Bytes(), &r); err != nil {
		return r, fmt.Errorf("client process wrote %q: %w", c.lines.Text(), err)
	}
	switch r.Phase {
	case phase:
		return r, nil
	case phaseError:
		return r, fmt.Errorf("client process: %s", r.Err)
	default:
		return r, fmt.Errorf("client process reported %q, want %q", r.Phase, phase)
	}
}

func (c *child) send(cmd string) error {
	_, err := io.WriteString(c.stdin, cmd+"\n")
	return err
}

// finish closes the client's input and waits for it to exit.
func (c *child) finish() error {
	if c.done {
		return nil
	}
	c.done = true
	_ = c.stdin.Close()
	err := c.cmd.Wait()
	c.cancel()
	return err
}

// closeClient asks the client to close its sockets, waits for it to exit
// and for the server to see every socket gone.
func closeClient(ctx context.Context, c *child, t *target) error {
	err := c.send(cmdClose)
	if err == nil {
		_, err = c.expect(phaseClosed)
	}
	if ferr := c.finish(); err == nil && ferr != nil {
		err = fmt.Errorf("client process: %w", ferr)
	}
	if werr := waitFor(ctx, t.name+" to see every socket closed", func() bool { return t.conns() == 0 }); err == nil {
		err = werr
	}
	return err
}

// openClients starts a client process that opens n subscribed sockets to
// t and waits until t counts them all as subscribers.
func (l *loader) openClients(ctx context.Context, t *target, mode string, n int) (*child, error) {
	c, err := l.startClient(ctx, clientSpec{Mode: mode, URL: t.url, Conns: n})
	if err != nil {
		return nil, err
	}
	if _, err := c.expect(phaseReady); err != nil {
		return nil, errors.Join(err, c.finish())
	}
	err = waitFor(ctx, fmt.Sprintf("%s to count %d subscribers", t.name, n), func() bool { return t.subscribers() == n })
	if err != nil {
		return nil, errors.Join(err, closeClient(ctx, c, t))
	}
	return c, nil
}

// waitFor polls cond until it holds, for at most serverWait.
func waitFor(ctx context.Context, what string, cond func() bool) error {
	deadline := time.Now().Add(serverWait)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", serverWait, what)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		}
	}
	return nil
}

// settle waits (at most 5 s) for the goroutine count to stop changing,
// so that writers that finish their last frame have exited.
func settle(ctx context.Context) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	last, same := -1, 0
	for deadline := time.Now().Add(5 * time.Second); same < 5 && time.Now().Before(deadline); {
		if n := runtime.NumGoroutine(); n == last {
			same++
		} else {
			last, same = n, 0
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// memSample is the process's memory after a full collection.
type memSample struct {
	heap, stack uint64
	goroutines  int
}

func sampleMem() memSample {
	// Two cycles: the first can leave sync.Pool victims and finalizers.
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memSample{heap: ms.HeapInuse, stack: ms.StackInuse, goroutines: runtime.NumGoroutine()}
}

func mallocs() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}

// idleResult is the server-side cost of one idle subscribed socket.
type idleResult struct {
	heap, stack, goroutines float64
}

func (l *loader) idle(ctx context.Context, targets []*target) ([]row, error) {
	n := l.cfg.conns
	res := map[string]idleResult{}
	for _, t := range targets {
		l.logf("idle: %s: opening %d subscribed sockets", t.name, n)
		before := sampleMem()
		c, err := l.openClients(ctx, t, modeIdle, n)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.name, err)
		}
		settle(ctx)
		after := sampleMem()
		if l.cfg.heapProfile != "" {
			if err := writeHeapProfile(l.cfg.heapProfile + "." + t.name); err != nil {
				return nil, errors.Join(err, closeClient(ctx, c, t))
			}
		}
		if err := closeClient(ctx, c, t); err != nil {
			return nil, fmt.Errorf("%s: %w", t.name, err)
		}
		r := idleResult{
			heap:       (float64(after.heap) - float64(before.heap)) / float64(n),
			stack:      (float64(after.stack) - float64(before.stack)) / float64(n),
			goroutines: float64(after.goroutines-before.goroutines) / float64(n),
		}
		res[t.name] = r
		l.logf("idle: %s: %.0f B heap + %.0f B stack, %.2f goroutines per socket", t.name, r.heap, r.stack, r.goroutines)
	}
	s, f := res["sockudo"], res["floor"]
	sc := "idle/n=" + strconv.Itoa(n)
	return []row{
		{scenario: sc, metric: "mem_bytes/conn", sockudo: s.heap + s.stack, floor: f.heap + f.stack, ratio: true,
			target: "sockudo<=20000", verdict: atMost(s.heap+s.stack, 20000)},
		{scenario: sc, metric: "heap_bytes/conn", sockudo: s.heap, floor: f.heap, ratio: true},
		{scenario: sc, metric: "stack_bytes/conn", sockudo: s.stack, floor: f.stack, ratio: true},
		{scenario: sc, metric: "goroutines/conn", sockudo: s.goroutines, floor: f.goroutines, ratio: true},
	}, nil
}

func writeHeapProfile(name string) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// latencyResult holds one target's figures of a latency scenario.
type latencyResult struct {
	p50, p99, max   time.Duration
	lost            int64
	allocs          float64 // server process allocations per delivery
	cpu             float64 // server process CPU microseconds per delivery
	expected, recvd int64
}

// latencyBlock is how long publishing stays on one target before it
// moves to the other.
const latencyBlock = time.Second

// latency runs one latency scenario. Both targets keep their subscribers
// for the whole scenario while publishing alternates between them in
// blocks of latencyBlock (A B B A A B ...), on one steady schedule of
// rate publishes per second, so that both see the same machine load.
// Server allocations and CPU are counted per block, up to one publish
// period after the block's last publish.
func (l *loader) latency(ctx context.Context, targets []*target, spec latencySpec) (rows []row, err error) {
	kids := make([]*child, 0, len(targets))
	defer func() {
		for i, c := range kids {
			if cerr := closeClient(ctx, c, targets[i]); err == nil && cerr != nil {
				err = fmt.Errorf("%s %s: %w", spec, targets[i].name, cerr)
			}
		}
	}()
	for _, t := range targets {
		l.logf("latency %s: %s: opening %d subscribers", spec, t.name, spec.subs)
		c, err := l.openClients(ctx, t, modeLatency, spec.subs)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", spec, t.name, err)
		}
		kids = append(kids, c)
	}
	settle(ctx)
	runtime.GC()

	total := int(int64(spec.rate) * int64(l.cfg.duration) / int64(time.Second))
	perBlock := max(1, int(int64(spec.rate)*int64(latencyBlock)/int64(time.Second)))
	period := time.Second / time.Duration(spec.rate)
	published := make([]int, len(targets))
	allocs := make([]uint64, len(targets))
	cpu := make([]time.Duration, len(targets))
	l.logf("latency %s: publishing %d events to each target, %d/s, alternating every %s", spec, total, spec.rate, latencyBlock)
	start := time.Now()
	slot := 0
	// due sleeps until the current slot of the schedule: pacing, not
	// synchronisation.
	due := func() {
		if d := time.Until(start.Add(time.Duration(slot) * period)); d > 0 {
			time.Sleep(d)
		}
	}
	buf := make([]byte, 0, 256)
	for block := 0; ; block++ {
		progressed := false
		for k := range targets {
			i := k
			if block%2 == 1 {
				i = len(targets) - 1 - k
			}
			n := min(perBlock, total-published[i])
			if n <= 0 {
				continue
			}
			progressed = true
			due()
			a0, c0 := mallocs(), cpuOrZero()
			for range n {
				due()
				buf = appendTick(buf[:0], int64(published[i]), l.clk.now())
				if err := targets[i].publish(ctx, string(buf)); err != nil {
					return nil, fmt.Errorf("%s %s: publish %d: %w", spec, targets[i].name, published[i], err)
				}
				published[i]++
				slot++
			}
			due() // one period for the last deliveries of the block
			allocs[i] += mallocs() - a0
			cpu[i] += cpuOrZero() - c0
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if !progressed {
			break
		}
	}

	for i, c := range kids {
		if err := c.send(cmdDrain + " " + strconv.Itoa(published[i])); err != nil {
			return nil, fmt.Errorf("%s %s: %w", spec, targets[i].name, err)
		}
	}
	res := map[string]latencyResult{}
	_, cpuOK := cpuTime()
	for i, c := range kids {
		rep, err := c.expect(phaseResult)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", spec, targets[i].name, err)
		}
		r := latencyResult{
			p50:      time.Duration(rep.P50),
			p99:      time.Duration(rep.P99),
			max:      time.Duration(rep.Max),
			expected: rep.Expected,
			recvd:    rep.Received,
			lost:     rep.Expected - rep.Received,
		}
		if rep.Received > 0 {
			r.allocs = float64(allocs[i]) / float64(rep.Received)
			if cpuOK {
				r.cpu = float64(cpu[i].Nanoseconds()) / 1e3 / float64(rep.Received)
			}
		}
		res[targets[i].name] = r
		l.logf("latency %s: %s: p50 %s p99 %s max %s, lost %d of %d", spec, targets[i].name, r.p50, r.p99, r.max, r.lost, r.expected)
	}

	s, f := res["sockudo"], res["floor"]
	sc := "latency/" + spec.String() + "/" + l.cfg.duration.String()
	limit, target := 0.0, ""
	switch spec {
	case latencySpec{250, 12}:
		limit, target = 1.0, "ratio<=1.0"
	case latencySpec{2000, 20}:
		limit, target = 1.1, "ratio<=1.1"
	}
	p99 := row{scenario: sc, metric: "p99_ms", sockudo: ms(s.p99), floor: ms(f.p99), ratio: true, target: target}
	if limit > 0 {
		p99.verdict = atMost(ratio(p99.sockudo, p99.floor), limit)
	}
	return []row{
		{scenario: sc, metric: "p50_ms", sockudo: ms(s.p50), floor: ms(f.p50), ratio: true},
		p99,
		{scenario: sc, metric: "max_ms", sockudo: ms(s.max), floor: ms(f.max), ratio: true},
		{scenario: sc, metric: "deliveries", sockudo: float64(s.recvd), floor: float64(f.recvd)},
		{scenario: sc, metric: "lost", sockudo: float64(s.lost), floor: float64(f.lost),
			target: "0", verdict: atMost(float64(s.lost+f.lost), 0)},
		{scenario: sc, metric: "allocs/delivery", sockudo: s.allocs, floor: f.allocs, ratio: true,
			target: "sockudo<=1", verdict: atMost(s.allocs, 1)},
		{scenario: sc, metric: "cpu_us/delivery", sockudo: s.cpu, floor: f.cpu, ratio: true},
	}, nil
}

// cpuOrZero is cpuTime, or 0 where it is not available.
func cpuOrZero() time.Duration {
	d, _ := cpuTime()
	return d
}

// connect opens -connect sockets -rounds times per target, alternating
// the order of the targets (A B B A ...), and reports the total rate.
func (l *loader) connect(ctx context.Context, targets []*target) ([]row, error) {
	n := l.cfg.connect
	type total struct {
		conns   int
		seconds float64
		cpu     time.Duration
	}
	totals := make([]total, len(targets))
	for round := range l.cfg.rounds {
		for k := range targets {
			i := k
			if round%2 == 1 {
				i = len(targets) - 1 - k
			}
			t := targets[i]
			runtime.GC()
			rep, cpu, err := l.connectOnce(ctx, t, n)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", t.name, err)
			}
			l.logf("connect: %s: round %d: %d connections in %.3fs", t.name, round+1, rep.Conns, rep.Seconds)
			totals[i].conns += rep.Conns
			totals[i].seconds += rep.Seconds
			totals[i].cpu += cpu
		}
	}
	res := map[string]total{}
	for i, t := range targets {
		res[t.name] = totals[i]
	}
	rate := func(t total) float64 { return float64(t.conns) / t.seconds }
	perConn := func(t total) float64 { return float64(t.cpu.Nanoseconds()) / 1e3 / float64(t.conns) }
	s, f := res["sockudo"], res["floor"]
	sc := "connect/n=" + strconv.Itoa(n) + "/k=" + strconv.Itoa(l.cfg.dialers)
	return []row{
		{scenario: sc, metric: "conns/s", sockudo: rate(s), floor: rate(f), ratio: true,
			target: "ratio>=0.9", verdict: atLeast(ratio(rate(s), rate(f)), 0.9)},
		{scenario: sc, metric: "cpu_us/conn", sockudo: perConn(s), floor: perConn(f), ratio: true},
	}, nil
}

// connectOnce runs one client process that opens n sockets to t, and
// returns its report and the server process's CPU time meanwhile.
func (l *loader) connectOnce(ctx context.Context, t *target, n int) (clientReport, time.Duration, error) {
	c, err := l.startClient(ctx, clientSpec{Mode: modeConnect, URL: t.url, Conns: n})
	if err != nil {
		return clientReport{}, 0, err
	}
	if _, err := c.expect(phaseReady); err != nil {
		return clientReport{}, 0, errors.Join(err, c.finish())
	}
	cpu0 := cpuOrZero()
	if err := c.send(cmdGo); err != nil {
		return clientReport{}, 0, errors.Join(err, c.finish())
	}
	rep, err := c.expect(phaseResult)
	cpu := cpuOrZero() - cpu0
	if err != nil {
		return clientReport{}, 0, errors.Join(err, c.finish())
	}
	if err := closeClient(ctx, c, t); err != nil {
		return clientReport{}, 0, err
	}
	if rep.Conns != n || rep.Seconds <= 0 {
		return clientReport{}, 0, fmt.Errorf("client process opened %d of %d sockets in %gs", rep.Conns, n, rep.Seconds)
	}
	return rep, cpu, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

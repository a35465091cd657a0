package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// scenarioSoak churns sockets for -duration and checks that the server's
// resources return to where they started.
const scenarioSoak = "soak"

// soakMargin is the least time -timeout must leave after the soak's
// churn: for the drain, the client's exit and the server's settling.
const soakMargin = time.Minute

// Soak verdict slack over the baseline, once every client has gone.
const (
	// soakGoroutineSlack and soakFDSlack leave room for what the
	// runtime and net/http start once and keep (a timer or a poller
	// goroutine, the epoll descriptor), not for anything per connection.
	soakGoroutineSlack = 5
	soakFDSlack        = 3
	// soakRSSSlack is the default of -soak-rss-slack, the RSS allowed
	// over the baseline: the larger of it and half the baseline. Even after debug.FreeOSMemory the
	// process keeps pages that are not leaks: the text and data of the
	// code first run during the churn (WebSocket, HTTP API, presence),
	// runtime metadata sized for the peak heap, and spans kept by the few
	// objects that outlive the churn. The heap row is the finer check.
	// (Under the race detector, its shadow memory grows with the peak and
	// stays: tests raise the slack there.)
	soakRSSSlack = 32
	// soakHeapSlack is the live heap allowed over the baseline: maps
	// keep their buckets after deletes, and pools and caches keep some
	// objects; nothing may grow with the number of connections.
	soakHeapSlack = 8 << 20
)

// procSample is the server process's resources and the server's gauges.
type procSample struct {
	rss        int64 // bytes; -1 where /proc/self/status is missing
	fds        int   // open descriptors; -1 where /proc/self/fd is missing
	goroutines int
	heap       int64 // HeapInuse
	conns      int
	channels   int
	users      int
}

// sampleProc samples the process and t. With collect, it first runs
// full collections and returns free memory to the OS, as for the
// baseline and the final figures.
func sampleProc(t *target, collect bool) procSample {
	if collect {
		runtime.GC()
		runtime.GC()
		debug.FreeOSMemory()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s := procSample{rss: readRSS(), fds: countFDs(), goroutines: runtime.NumGoroutine(), heap: int64(ms.HeapInuse)}
	st := t.stats()
	s.conns = st.Connections
	for _, a := range st.Apps {
		s.channels += a.Channels
		s.users += a.Users
	}
	return s
}

// readRSS returns VmRSS from /proc/self/status in bytes, or -1.
func readRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(b)) {
		v, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return -1
		}
		return kb << 10
	}
	return -1
}

// countFDs returns the number of open descriptors, or -1. The directory
// read holds one descriptor of its own, which is not counted.
func countFDs() int {
	d, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(d) - 1
}

// maxSample keeps the larger of each figure.
func maxSample(a, b procSample) procSample {
	return procSample{
		rss: max(a.rss, b.rss), fds: max(a.fds, b.fds), goroutines: max(a.goroutines, b.goroutines),
		heap: max(a.heap, b.heap), conns: max(a.conns, b.conns), channels: max(a.channels, b.channels), users: max(a.users, b.users),
	}
}

func mib(v int64) float64 {
	if v < 0 {
		return math.NaN()
	}
	return float64(v) / (1 << 20)
}

// soakLimits are the final figures the verdict allows.
type soakLimits struct {
	rss, heap       int64
	goroutines, fds int
}

func soakLimitsFor(base procSample, rssSlackMiB int) soakLimits {
	return soakLimits{
		rss:        base.rss + max(int64(rssSlackMiB)<<20, base.rss/2),
		heap:       base.heap + soakHeapSlack,
		goroutines: base.goroutines + soakGoroutineSlack,
		fds:        base.fds + soakFDSlack,
	}
}

// errSoakFailed is returned by run when a soak verdict fails, after the
// table is printed.
var errSoakFailed = errors.New("soak: the server's resources did not return to the baseline, or messages were lost")

// soakVerdict returns errSoakFailed when a soak row missed its target,
// so that the tool exits non-zero; the other scenarios' targets are
// figures to read, not failures.
func soakVerdict(rows []row) error {
	for _, r := range rows {
		if strings.HasPrefix(r.scenario, scenarioSoak+"/") && r.verdict == verdictMiss {
			return errSoakFailed
		}
	}
	return nil
}

// soak runs the churn of -soak-pool clients against t (sockudo) for
// -duration while sampling the server process every -soak-sample, then
// waits for the server to empty and compares the final figures with the
// baseline taken before any client.
func (l *loader) soak(ctx context.Context, t *target, summary io.Writer) ([]row, error) {
	cfg := l.cfg
	settle(ctx)
	base := sampleProc(t, true)
	l.logf("soak: baseline: rss %.1f MiB, heap %.1f MiB, %d goroutines, %d fds", mib(base.rss), mib(base.heap), base.goroutines, base.fds)
	spec := &soakSpec{
		Duration: cfg.duration, Life: cfg.soakLife, Rate: cfg.soakRate, Channels: cfg.soakChannels,
		API: t.api, AppID: appID, Key: appKey, Secret: appSecret, Seed: uint64(l.epoch),
	}
	c, err := l.startClient(ctx, clientSpec{Mode: modeSoak, URL: t.url, Conns: cfg.soakPool, Soak: spec})
	if err != nil {
		return nil, err
	}
	type result struct {
		rep clientReport
		err error
	}
	results := make(chan result, 1)
	go func() {
		rep, err := c.expect(phaseResult)
		results <- result{rep, err}
	}()
	start := time.Now()
	peak := base
	tick := time.NewTicker(cfg.soakSample)
	defer tick.Stop()
	var res result
wait:
	for {
		select {
		case <-tick.C:
			s := sampleProc(t, false)
			peak = maxSample(peak, s)
			l.logf("soak: %3.0fs: rss %.1f MiB, heap %.1f MiB, %d goroutines, %d fds; %d sockets, %d channels, %d users",
				time.Since(start).Seconds(), mib(s.rss), mib(s.heap), s.goroutines, s.fds, s.conns, s.channels, s.users)
		case res = <-results:
			break wait
		case <-ctx.Done():
			// The child ends with ctx; its report (or error) follows.
			res = <-results
			break wait
		}
	}
	churned := time.Since(start)
	if ferr := c.finish(); res.err == nil && ferr != nil {
		res.err = fmt.Errorf("client process: %w", ferr)
	}
	if res.err != nil {
		return nil, res.err
	}
	if res.rep.Soak == nil {
		return nil, errors.New("client process reported no soak figures")
	}
	n := *res.rep.Soak
	// The server may still be tearing down the last sockets; a timeout
	// here is a finding, reported by the rows below, not an error.
	empty := func() bool {
		s := sampleProc(t, false)
		return s.conns == 0 && s.channels == 0 && s.users == 0
	}
	settleStart := time.Now()
	if err := waitFor(ctx, "sockudo to count no socket, channel or user", empty); err != nil {
		l.logf("soak: %v", err)
	}
	if l.beforeFinal != nil {
		l.beforeFinal()
	}
	settle(ctx)
	final := sampleProc(t, true)
	lim := soakLimitsFor(base, cfg.soakRSSSlack)
	l.logf("soak: final after %.1fs: rss %.1f MiB, heap %.1f MiB, %d goroutines, %d fds; %d sockets, %d channels, %d users",
		time.Since(settleStart).Seconds(), mib(final.rss), mib(final.heap), final.goroutines, final.fds, final.conns, final.channels, final.users)

	sc := "soak/n=" + strconv.Itoa(cfg.soakPool) + "/" + cfg.duration.String()
	nan := math.NaN()
	info := func(metric string, v float64) row { return row{scenario: sc, metric: metric, sockudo: v, floor: nan} }
	limited := func(metric string, v, limit float64, target string) row {
		r := info(metric, v)
		r.target, r.verdict = target, atMost(v, limit)
		return r
	}
	rows := []row{
		info("rss_mib_baseline", mib(base.rss)),
		info("rss_mib_peak", mib(peak.rss)),
		limited("rss_mib_final", mib(final.rss), mib(lim.rss), "<="+formatValue(mib(lim.rss))),
		info("heap_mib_baseline", mib(base.heap)),
		info("heap_mib_peak", mib(peak.heap)),
		limited("heap_mib_final", mib(final.heap), mib(lim.heap), "<="+formatValue(mib(lim.heap))),
		info("goroutines_baseline", float64(base.goroutines)),
		info("goroutines_peak", float64(peak.goroutines)),
		limited("goroutines_final", float64(final.goroutines), float64(lim.goroutines), "<="+strconv.Itoa(lim.goroutines)),
	}
	if base.fds >= 0 {
		rows = append(rows,
			info("fds_baseline", float64(base.fds)),
			info("fds_peak", float64(peak.fds)),
			limited("fds_final", float64(final.fds), float64(lim.fds), "<="+strconv.Itoa(lim.fds)))
	}
	rows = append(rows,
		info("sockets_peak", float64(peak.conns)),
		limited("sockets_final", float64(final.conns), 0, "0"),
		limited("channels_final", float64(final.channels), 0, "0"),
		limited("users_final", float64(final.users), 0, "0"),
		info("connects", float64(n.Connects)),
		info("abrupt_disconnects", float64(n.Abrupt)),
		info("clean_disconnects", float64(n.Clean)),
		info("subscriptions", float64(n.Subscribed)),
		info("signins", float64(n.SignedIn)),
		info("publishes", float64(n.Publishes)),
		info("received", float64(n.Received)),
		limited("lost", float64(n.Lost), 0, "0"),
		limited("duplicates", float64(n.Duplicates), 0, "0"),
		limited("errors", float64(n.ConnectErrors+n.SubscribeErrors+n.PublishErrors+n.ServerCloses+n.ServerErrors), 0, "0"),
	)

	// The human-readable summary, as comments above the table.
	fmt.Fprintf(summary, "# soak: %s of churn (%s with the drain) by %d clients, sessions of %s to %s, %d publishes/s over %d channels\n",
		cfg.duration, churned.Round(time.Second), cfg.soakPool, cfg.soakLife/4, cfg.soakLife, cfg.soakRate, 3*cfg.soakChannels)
	fmt.Fprintf(summary, "# soak: %-12s %10s %10s %10s %10s\n", "", "baseline", "peak", "final", "limit")
	fmt.Fprintf(summary, "# soak: %-12s %10.1f %10.1f %10.1f %10.1f\n", "rss MiB", mib(base.rss), mib(peak.rss), mib(final.rss), mib(lim.rss))
	fmt.Fprintf(summary, "# soak: %-12s %10.1f %10.1f %10.1f %10.1f\n", "heap MiB", mib(base.heap), mib(peak.heap), mib(final.heap), mib(lim.heap))
	fmt.Fprintf(summary, "# soak: %-12s %10d %10d %10d %10d\n", "goroutines", base.goroutines, peak.goroutines, final.goroutines, lim.goroutines)
	fmt.Fprintf(summary, "# soak: %-12s %10d %10d %10d %10d\n", "fds", base.fds, peak.fds, final.fds, lim.fds)
	fmt.Fprintf(summary, "# soak: %-12s %10d %10d %10d %10d\n", "sockets", base.conns, peak.conns, final.conns, 0)
	fmt.Fprintf(summary, "# soak: %d connects (%d abrupt disconnects, %d of them before the subscribes were answered; %d clean; %d unsubscribes), %d subscriptions\n",
		n.Connects, n.Abrupt, n.Hasty, n.Clean, n.Unsubscribes, n.Subscribed)
	fmt.Fprintf(summary, "# soak: %d sign-ins sent, %d confirmed\n", n.Signins, n.SignedIn)
	fmt.Fprintf(summary, "# soak: %d publishes, %d messages received, %d lost, %d duplicates, %d sessions drained at the end\n",
		n.Publishes, n.Received, n.Lost, n.Duplicates, n.Drained)
	fmt.Fprintf(summary, "# soak: errors: %d connect, %d subscribe, %d publish, %d pusher:error, %d closed by the server\n",
		n.ConnectErrors, n.SubscribeErrors, n.PublishErrors, n.ServerErrors, n.ServerCloses)
	return rows, nil
}

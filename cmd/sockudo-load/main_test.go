package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary serve as the client process, as the real
// binary does: run re-executes os.Executable() with clientFlag.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == clientFlag {
		os.Exit(clientMain(os.Args[2:], os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

// tableRow is a parsed output row.
type tableRow struct {
	sockudo, floor float64
	ratio          string
	target, result string
}

// parseTable parses the output of run, keyed by "scenario metric".
func parseTable(t *testing.T, out string) map[string]tableRow {
	t.Helper()
	rows := map[string]tableRow{}
	sawHeader := false
	for line := range strings.Lines(out) {
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 7 {
			t.Fatalf("row %q has %d fields, want 7", line, len(f))
		}
		if f[0] == "SCENARIO" {
			sawHeader = true
			continue
		}
		var r tableRow
		var err error
		if r.sockudo, err = strconv.ParseFloat(f[2], 64); err != nil {
			t.Fatalf("row %q: sockudo value: %v", line, err)
		}
		if f[3] == verdictNone { // a row of sockudo alone
			r.floor = math.NaN()
		} else if r.floor, err = strconv.ParseFloat(f[3], 64); err != nil {
			t.Fatalf("row %q: floor value: %v", line, err)
		}
		if f[4] != verdictNone {
			if _, err := strconv.ParseFloat(f[4], 64); err != nil {
				t.Fatalf("row %q: ratio: %v", line, err)
			}
		}
		r.ratio, r.target, r.result = f[4], f[5], f[6]
		switch r.result {
		case verdictOK, verdictMiss, verdictNone:
		default:
			t.Fatalf("row %q: result %q", line, r.result)
		}
		rows[f[0]+" "+f[1]] = r
	}
	if !sawHeader {
		t.Fatalf("no header in output:\n%s", out)
	}
	return rows
}

// TestRunTiny runs every scenario at a tiny size through the real client
// process, so the tool cannot rot.
func TestRunTiny(t *testing.T) {
	cfg, err := parseFlags([]string{
		"-conns", "50", "-latency", "20x10", "-duration", "1s",
		"-connect", "50", "-dialers", "8", "-rounds", "1", "-timeout", "60s",
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var out, log bytes.Buffer
	if err := run(context.Background(), cfg, &out, &log); err != nil {
		t.Fatalf("run: %v\nlog:\n%s", err, log.String())
	}
	t.Logf("output:\n%s", out.String())
	rows := parseTable(t, out.String())

	want := []string{
		"idle/n=50 mem_bytes/conn", "idle/n=50 heap_bytes/conn", "idle/n=50 stack_bytes/conn", "idle/n=50 goroutines/conn",
		"latency/20x10/1s p50_ms", "latency/20x10/1s p99_ms", "latency/20x10/1s max_ms", "latency/20x10/1s deliveries",
		"latency/20x10/1s lost", "latency/20x10/1s allocs/delivery", "latency/20x10/1s cpu_us/delivery",
		"connect/n=50/k=8 conns/s", "connect/n=50/k=8 cpu_us/conn",
	}
	for _, k := range want {
		if _, ok := rows[k]; !ok {
			t.Errorf("no row %q", k)
		}
	}
	if len(rows) != len(want) {
		t.Errorf("got %d rows, want %d", len(rows), len(want))
	}
	if r := rows["latency/20x10/1s lost"]; r.sockudo != 0 || r.floor != 0 || r.result != verdictOK {
		t.Errorf("lost messages: %+v", r)
	}
	if r := rows["latency/20x10/1s deliveries"]; r.sockudo != 20*10 || r.floor != 20*10 {
		t.Errorf("deliveries: %+v, want 200 each", r)
	}
	for _, k := range []string{"latency/20x10/1s p50_ms", "latency/20x10/1s max_ms", "connect/n=50/k=8 conns/s"} {
		if r := rows[k]; r.sockudo <= 0 || r.floor <= 0 {
			t.Errorf("%s: %+v, want positive figures", k, r)
		}
	}
	// An idle floor socket has its reader and its writer.
	if r := rows["idle/n=50 goroutines/conn"]; r.floor < 1.5 || r.sockudo <= 0 {
		t.Errorf("goroutines/conn: %+v", r)
	}
	if !strings.Contains(log.String(), "lost 0 of 200") {
		t.Errorf("log does not report the latency runs:\n%s", log.String())
	}
}

func TestParseFlags(t *testing.T) {
	cfg, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.conns != 10000 || cfg.connect != 2000 || cfg.duration != 10*time.Second ||
		len(cfg.latency) != 2 || cfg.latency[0] != (latencySpec{250, 12}) || cfg.latency[1] != (latencySpec{2000, 20}) ||
		strings.Join(cfg.scenarios, ",") != "idle,latency,connect" {
		t.Errorf("defaults: %+v", cfg)
	}
	if got := cfg.maxOpen(); got != 10000 {
		t.Errorf("maxOpen = %d, want 10000", got)
	}
	cfg, err = parseFlags([]string{"-run", "latency", "-latency", "7000x1"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.maxOpen(); got != 14000 {
		t.Errorf("maxOpen = %d, want 14000 (both targets' subscribers)", got)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-run", "idle,bogus"}, `-run: unknown scenario "bogus"`},
		{[]string{"-run", "idle,idle"}, "listed twice"},
		{[]string{"-latency", "250"}, "not SUBSxRATE"},
		{[]string{"-latency", "0x5"}, "subscribers must be"},
		{[]string{"-latency", "10x99999"}, "rate in"},
		{[]string{"-conns", "0"}, "-conns"},
		{[]string{"-connect", "-1"}, "-connect"},
		{[]string{"-dialers", "0"}, "-dialers"},
		{[]string{"-rounds", "0"}, "-rounds"},
		{[]string{"-floor-queue", "0"}, "-floor-queue"},
		{[]string{"-duration", "1ms"}, "-duration"},
		{[]string{"-timeout", "0s"}, "-timeout"},
		{[]string{"-latency", "1x1", "-duration", "500ms"}, "publishes nothing"},
		{[]string{"extra"}, "unexpected arguments"},
	} {
		if _, err := parseFlags(tc.args, io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseFlags(%q) = %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}

func TestRealMainExitCodes(t *testing.T) {
	if code := realMain([]string{"-h"}, io.Discard, io.Discard); code != 0 {
		t.Errorf("-h: exit %d, want 0", code)
	}
	var stderr bytes.Buffer
	if code := realMain([]string{"-conns", "x"}, io.Discard, &stderr); code != 2 {
		t.Errorf("bad flag: exit %d, want 2", code)
	}
	if !strings.Contains(stderr.String(), "-conns") {
		t.Errorf("bad flag: stderr %q does not name it", stderr.String())
	}
}

func TestTickRoundTrip(t *testing.T) {
	data := string(appendTick(nil, 42, 1234567890123))
	var v struct {
		Seq, Sent int64
		Pad       string
	}
	if err := json.Unmarshal([]byte(data), &v); err != nil || v.Seq != 42 || v.Sent != 1234567890123 || len(v.Pad) != 100 {
		t.Fatalf("appendTick = %s (%+v, %v)", data, v, err)
	}
	quoted, _ := json.Marshal(data)
	// The frame shapes of both servers: data as a JSON string.
	frames := []string{
		`{"event":"tick","channel":"bench","data":` + string(quoted) + `}`,
		`{"event":"tick","data":` + string(quoted) + `,"channel":"bench"}`,
	}
	for _, f := range frames {
		seq, sent, ok := parseTick([]byte(f))
		if !ok || seq != 42 || sent != 1234567890123 {
			t.Errorf("parseTick(%s) = %d, %d, %v", f, seq, sent, ok)
		}
	}
	for _, f := range []string{
		`{"event":"pusher:ping","data":"{}"}`,
		`{"event":"tick","data":"{\"seq\":1}"}`,
		`{"event":"tick","data":"{\"seq\":\"x\",\"sent\":5}"}`,
	} {
		if _, _, ok := parseTick([]byte(f)); ok {
			t.Errorf("parseTick(%s) succeeded", f)
		}
	}
}

func TestPercentile(t *testing.T) {
	var v []int64
	for i := int64(1); i <= 200; i++ {
		v = append(v, i)
	}
	for _, tc := range []struct {
		p    float64
		want int64
	}{{50, 100}, {99, 198}, {100, 200}, {0, 1}} {
		if got := percentile(v, tc.p); got != tc.want {
			t.Errorf("percentile(1..200, %v) = %d, want %d", tc.p, got, tc.want)
		}
	}
	if got := percentile(nil, 99); got != 0 {
		t.Errorf("percentile(nil) = %d", got)
	}
}

func TestSinkCountsInOrderOnly(t *testing.T) {
	var s sink
	for _, seq := range []int64{0, 1, 1, 3, 2, 4} {
		s.record(seq, 10)
	}
	// 0, 1, 3 and 4 arrive in order; the duplicate 1 and the late 2 do not
	// count, so one message of five is lost.
	if got := s.received.Load(); got != 4 {
		t.Errorf("received = %d, want 4", got)
	}
}

func TestClientRejectsBadSpec(t *testing.T) {
	for _, args := range [][]string{nil, {"{"}, {`{"mode":"idle"}`}, {`{"mode":"nope","url":"ws://x","conns":1,"dialers":1,"limit":1000000000}`}} {
		var out bytes.Buffer
		if code := clientMain(args, strings.NewReader(""), &out); code != 1 {
			t.Errorf("clientMain(%q) = %d, want 1", args, code)
		}
		var r clientReport
		if err := json.Unmarshal(out.Bytes(), &r); err != nil || r.Phase != phaseError || r.Err == "" {
			t.Errorf("clientMain(%q) wrote %q", args, out.String())
		}
	}
}

func TestFormatValue(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{{25007, "25007"}, {1234.4, "1234"}, {12.345, "12.35"}, {0.0451, "0.045"}, {0, "0"}, {3, "3"}} {
		if got := formatValue(tc.v); got != tc.want {
			t.Errorf("formatValue(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
	if got := formatValue(ratio(1, 0)); got != verdictNone {
		t.Errorf("formatValue(NaN) = %q", got)
	}
}

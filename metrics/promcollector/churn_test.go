package promcollector_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/internal/auth"
	"github.com/sockudo-go/sockudo/internal/testenv"
	"github.com/sockudo-go/sockudo/metrics/promcollector"
)

const (
	appID, appKey, appSecret = "app-id", "app-key", "app-secret"
	waitFor                  = 5 * time.Second
)

// loopClient is a WebSocket client that counts the messages and payload
// bytes it writes and reads, which is what the server must count too.
type loopClient struct {
	t                 *testing.T
	ws                *websocket.Conn
	frames            chan frame
	socketID          string
	sentFrames, sentB int // written only by the test goroutine
	readFrames, readB atomic.Int64
	closed            chan struct{}
}

type frame struct {
	Event   string          `json:"event"`
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
}

func dial(t *testing.T, base, key string) *loopClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitFor)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, base+"/app/"+key+"?protocol=7&client=js&version=8.4.0", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c := &loopClient{t: t, ws: ws, frames: make(chan frame, 256), closed: make(chan struct{})}
	t.Cleanup(func() { _ = ws.CloseNow() })
	go func() {
		defer close(c.closed)
		for {
			_, b, err := ws.Read(context.Background())
			if err != nil {
				return
			}
			c.readFrames.Add(1)
			c.readB.Add(int64(len(b)))
			var f frame
			_ = json.Unmarshal(b, &f)
			c.frames <- f
		}
	}()
	return c
}

func (c *loopClient) send(raw string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.t.Context(), waitFor)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, []byte(raw)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
	c.sentFrames++
	c.sentB += len(raw)
}

func (c *loopClient) sendJSON(v any) {
	c.t.Helper()
	b, _ := json.Marshal(v)
	c.send(string(b))
}

// expect skips frames until one of event (on channel, if not empty).
func (c *loopClient) expect(event, channel string) frame {
	c.t.Helper()
	timeout := time.After(waitFor)
	for {
		select {
		case f := <-c.frames:
			if f.Event == event && (channel == "" || f.Channel == channel) {
				return f
			}
		case <-timeout:
			c.t.Fatalf("no %s on %q within %s", event, channel, waitFor)
		}
	}
}

// drain pings and waits for the pong, collecting what came before it:
// the server queues a socket's frames in order, so everything queued to
// it before the ping was handled has then been read.
func (c *loopClient) drain() []frame {
	c.t.Helper()
	c.send(`{"event":"pusher:ping","data":{}}`)
	var got []frame
	timeout := time.After(waitFor)
	for {
		select {
		case f := <-c.frames:
			if f.Event == "pusher:pong" {
				return got
			}
			got = append(got, f)
		case <-timeout:
			c.t.Fatalf("no pusher:pong within %s", waitFor)
		}
	}
}

func (c *loopClient) subscribe(channel, channelData string) {
	c.t.Helper()
	d := map[string]string{"channel": channel}
	if strings.HasPrefix(channel, "private-") || strings.HasPrefix(channel, "presence-") {
		d["auth"] = auth.Token(appKey, appSecret, auth.ChannelString(c.socketID, channel, channelData))
	}
	if channelData != "" {
		d["channel_data"] = channelData
	}
	c.sendJSON(map[string]any{"event": "pusher:subscribe", "data": d})
	c.expect("pusher_internal:subscription_succeeded", channel)
}

func (c *loopClient) handshake() {
	c.t.Helper()
	f := c.expect("pusher:connection_established", "")
	var s string
	_ = json.Unmarshal(f.Data, &s)
	var d struct {
		SocketID string `json:"socket_id"`
	}
	if err := json.Unmarshal([]byte(s), &d); err != nil || d.SocketID == "" {
		c.t.Fatalf("bad handshake %s", f.Data)
	}
	c.socketID = d.SocketID
}

// apiCall makes a signed (or, with badSig, wrongly signed) HTTP API call
// and returns its status and the body lengths both ways.
func apiCall(t *testing.T, base, method, path, body string, badSig bool) (status, in, out int) {
	t.Helper()
	q := url.Values{"auth_key": {appKey}, "auth_timestamp": {strconv.FormatInt(time.Now().Unix(), 10)}, "auth_version": {"1.0"}}
	if body != "" {
		sum := md5.Sum([]byte(body))
		q.Set("body_md5", hex.EncodeToString(sum[:]))
	}
	sig := auth.Sign(appSecret, auth.RequestString(method, path, q))
	if badSig {
		sig = strings.Repeat("0", len(sig))
	}
	q.Set("auth_signature", sig)
	req, err := http.NewRequestWithContext(t.Context(), method, base+path+"?"+q.Encode(), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, len(body), len(b)
}

// scrape GETs /metrics and parses it as Prometheus text.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	res, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %d %s", res.StatusCode, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("scrape does not parse: %v", err)
	}
	return fams
}

// startServer runs a server with the collector (prefix, port 9601) and
// its metrics on a second loopback listener.
func startServer(t *testing.T, prefix string, opts ...sockudo.Option) (srv *sockudo.Server, base, metricsURL string) {
	t.Helper()
	app := appmanager.App{ID: appID, Key: appKey, Secret: appSecret, Enabled: true,
		EnableClientMessages: true, MaxClientEventsPerSecond: 2}
	opts = append([]sockudo.Option{sockudo.WithApps(app), sockudo.WithLogger(slog.New(slog.DiscardHandler))}, opts...)
	srv, err := sockudo.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		_ = srv.Shutdown(ctx)
		hs.Close()
	})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(promcollector.NewCollector(srv, prefix, promcollector.WithPort(9601)))
	ms := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(ms.Close)
	return srv, hs.URL, ms.URL
}

// key names one series: family (without prefix) and labels but port.
func seriesKey(name string, labels ...string) string {
	return name + "{" + strings.Join(labels, ",") + "}"
}

// flatten turns a scrape into series keys and values, checking that every
// series has the port label and stripping it; histograms give their count.
func flatten(t *testing.T, fams map[string]*dto.MetricFamily, prefix string) map[string]float64 {
	t.Helper()
	out := make(map[string]float64)
	for name, f := range fams {
		short, ok := strings.CutPrefix(name, prefix)
		if !ok {
			t.Errorf("family %s lacks the prefix %q", name, prefix)
			continue
		}
		for _, m := range f.GetMetric() {
			var labels []string
			port := ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "port" {
					port = l.GetValue()
					continue
				}
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			if port != "9601" {
				t.Errorf("%s%v has port %q, want 9601", name, labels, port)
			}
			sort.Strings(labels)
			var v float64
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				v = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				v = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				v = float64(m.GetHistogram().GetSampleCount())
			default:
				t.Errorf("%s has unexpected type %s", name, f.GetType())
			}
			out[seriesKey(short, labels...)] = v
		}
	}
	return out
}

// TestMetricsAfterChurn scripts connections, subscriptions, client events,
// API calls, rate limits, errors and abrupt closes over loopback, then
// checks every series of a /metrics scrape against what the script did
// and against the server's Stats.
func TestMetricsAfterChurn(t *testing.T) {
	const prefix = "soketi_"
	srv, base, murl := startServer(t, prefix,
		sockudo.WithAPIRateLimit(sockudo.RateLimit{Max: 5, Window: time.Hour}),
		sockudo.WithConnectionRateLimit(sockudo.RateLimit{Max: 1000, Window: time.Hour}))
	wsBase := "ws" + strings.TrimPrefix(base, "http")

	const n = 6
	cs := make([]*loopClient, n)
	for i := range cs {
		cs[i] = dial(t, wsBase, appKey)
		cs[i].handshake()
	}
	subs := map[string]int{}   // channel_type -> subscriptions
	unsubs := map[string]int{} // channel_type -> unsubscriptions
	for _, c := range cs {
		c.subscribe("public-room", "")
		subs["public"]++
	}
	for _, c := range cs[:2] {
		c.subscribe("private-chat", "")
		subs["private"]++
	}
	for i, c := range cs[:3] {
		c.subscribe("presence-lobby", `{"user_id":"u`+strconv.Itoa(i)+`"}`)
		subs["presence"]++
	}
	cs[3].subscribe("cache-news", "")
	subs["cache"]++
	cs[4].subscribe("private-encrypted-vault", "")
	subs["private_encrypted"]++
	cs[5].subscribe("public-solo", "")
	subs["public"]++
	cs[5].sendJSON(map[string]any{"event": "pusher:unsubscribe", "data": map[string]string{"channel": "public-solo"}})
	unsubs["public"]++

	// A bad channel signature and a frame that is not JSON.
	cs[2].sendJSON(map[string]any{"event": "pusher:subscribe", "data": map[string]string{"channel": "private-x", "auth": appKey + ":bad"}})
	cs[2].expect("pusher:subscription_error", "private-x")
	cs[3].send("not json")
	cs[3].expect("pusher:error", "")
	subscribeFrames := 6 + 2 + 3 + 1 + 1 + 1 + 1

	// Five client events at once against a limit of 2 per second.
	const clientEvents = 5
	for range clientEvents {
		cs[0].sendJSON(map[string]any{"event": "client-typing", "channel": "private-chat", "data": "{}"})
	}

	// An unknown key: refused before the app is known.
	bad := dial(t, wsBase, "no-such-key")
	bad.expect("pusher:error", "")

	// HTTP API: three publishes and a listing (4 signed calls), one bad
	// signature, then a sixth call over the per-IP limit of 5.
	var apiIn, apiOut int
	for i := range 3 {
		body := `{"name":"news","channels":["public-room","cache-news"],"data":"{\"n\":` + strconv.Itoa(i) + `}"}`
		st, in, out := apiCall(t, base, "POST", "/apps/"+appID+"/events", body, false)
		if st != http.StatusOK {
			t.Fatalf("publish: status %d", st)
		}
		apiIn, apiOut = apiIn+in, apiOut+out
	}
	st, in, out := apiCall(t, base, "GET", "/apps/"+appID+"/channels", "", false)
	if st != http.StatusOK {
		t.Fatalf("channels: status %d", st)
	}
	apiIn, apiOut = apiIn+in, apiOut+out
	if st, _, _ := apiCall(t, base, "POST", "/apps/"+appID+"/events", `{"name":"x","channels":["a"],"data":"1"}`, true); st != http.StatusUnauthorized {
		t.Fatalf("bad signature: status %d, want 401", st)
	}
	if st, _, _ := apiCall(t, base, "GET", "/apps/"+appID+"/channels", "", false); st != http.StatusTooManyRequests {
		t.Fatalf("call over the limit: status %d, want 429", st)
	}

	// Everything queued so far reaches its client; count what the limit
	// let through (cs[1] receives it) and refused (cs[0] is told).
	seen := make([][]frame, n)
	for i, c := range cs {
		seen[i] = c.drain()
	}
	delivered, refused := 0, 0
	for _, f := range seen[1] {
		if f.Event == "client-typing" {
			delivered++
		}
	}
	for _, f := range seen[0] {
		if f.Event == "pusher:error" && strings.Contains(string(f.Data), "4301") {
			refused++
		}
	}
	if delivered+refused != clientEvents || refused == 0 {
		t.Fatalf("client events: %d delivered, %d refused, want %d in all and some refused", delivered, refused, clientEvents)
	}

	// Churn: two abrupt closes and a clean one.
	for _, i := range []int{2, 4} {
		_ = cs[i].ws.CloseNow()
	}
	_ = cs[5].ws.Close(websocket.StatusNormalClosure, "")
	unsubs["public"] += 3 // public-room of 2, 4, 5
	unsubs["presence"]++  // presence-lobby of 2
	unsubs["private_encrypted"]++
	testenv.Eventually(t, waitFor, "three disconnects", func() bool { return srv.Stats().Connections == n-3 })
	for _, i := range []int{2, 4, 5} {
		<-cs[i].closed
	}
	live := []*loopClient{cs[0], cs[1], cs[3]}
	for _, c := range live {
		c.drain() // member_removed and the like
	}

	var sentFrames, sentB, readFrames, readB int
	for _, c := range cs {
		sentFrames, sentB = sentFrames+c.sentFrames, sentB+c.sentB
		readFrames, readB = readFrames+int(c.readFrames.Load()), readB+int(c.readB.Load())
	}

	// The writer counts a batch once it is written, which may be just
	// after the client read its last frame.
	testenv.Eventually(t, waitFor, "the writers' counts", func() bool {
		return srv.Stats().Apps[appID].MessagesSent == uint64(readFrames)
	})
	got := flatten(t, scrape(t, murl), prefix)
	st0 := srv.Stats()
	a := st0.Apps[appID]

	app := "app_id=" + appID
	global := "app_id=global"
	want := map[string]float64{
		seriesKey("connected", app):                  float64(len(live)),
		seriesKey("signed_in_users", app):            0,
		seriesKey("new_connections_total", app):      n,
		seriesKey("new_disconnections_total", app):   3,
		seriesKey("socket_received_bytes", app):      float64(sentB),
		seriesKey("socket_transmitted_bytes", app):   float64(readB),
		seriesKey("ws_messages_received_total", app): float64(sentFrames),
		seriesKey("ws_messages_sent_total", app):     float64(readFrames),
		seriesKey("http_calls_received_total", app):  4,
		seriesKey("http_received_bytes", app):        float64(apiIn),
		seriesKey("http_transmitted_bytes", app):     float64(apiOut),
		seriesKey("events_published_total", app):     3,
		// Broadcast deliveries: 3 publishes to public-room (6 sockets)
		// and cache-news (1), and the client events let through.
		seriesKey("messages_delivered_total", app):    float64(3*(n+1) + delivered),
		seriesKey("messages_dropped_total", app):      0,
		seriesKey("slow_consumers_closed_total", app): 0,
		seriesKey("rate_limiter_errors_total"):        0,
	}
	occupied := map[string]float64{"public": 1, "private": 1, "presence": 1, "cache": 1, "private_encrypted": 0}
	for _, typ := range []string{"public", "private", "presence", "private_encrypted", "cache"} {
		ct := "channel_type=" + typ
		want[seriesKey("active_channels", app, ct)] = occupied[typ]
		want[seriesKey("channel_subscriptions_total", app, ct)] = float64(subs[typ])
		want[seriesKey("channel_unsubscriptions_total", app, ct)] = float64(unsubs[typ])
	}
	errs := map[string]float64{"authentication_failed": 1, "invalid_message_format": 1}
	for _, typ := range []string{"app_disabled", "origin_not_allowed", "over_capacity", "over_quota", "connection_refused",
		"invalid_message_format", "message_too_large", "authentication_failed", "too_many_errors"} {
		want[seriesKey("connection_errors_total", app, "error_type="+typ)] = errs[typ]
	}
	for _, typ := range []string{"app_not_found", "app_validation_failed", "unsupported_protocol"} {
		want[seriesKey("connection_errors_total", app, "error_type="+typ)] = 0 // known only before the app is
		v := 0.0
		if typ == "app_not_found" {
			v = 1
		}
		want[seriesKey("connection_errors_total", global, "error_type="+typ)] = v
	}
	limit := func(app, typ, ctx string, checks, hit int) {
		l := []string{app, "limiter_type=" + typ, "request_context=" + ctx}
		want[seriesKey("rate_limit_checks_total", l...)] = float64(checks)
		want[seriesKey("rate_limit_triggered_total", l...)] = float64(hit)
	}
	limit(app, "messages", "websocket", sentFrames, 0) // the default inbound budget sees every frame
	limit(app, "client_events", "websocket", clientEvents, refused)
	limit(app, "subscribe", "websocket", subscribeFrames, 0)
	limit(global, "api_rate_limit", "http_api", 6, 1)
	limit(global, "websocket_rate_limit", "websocket_upgrade", n+1, 0)
	for _, h := range []string{"horizontal_adapter_resolved_promises", "horizontal_adapter_uncomplete_promises",
		"horizontal_adapter_sent_requests", "horizontal_adapter_received_requests", "horizontal_adapter_received_responses",
		"horizontal_adapter_resolve_time"} {
		want[seriesKey(h, app)] = 0
	}

	for k, w := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("scrape lacks %s", k)
		} else if g != w {
			t.Errorf("%s = %v, want %v", k, g, w)
		}
	}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range got {
			if !yield(k) {
				return
			}
		}
	}) {
		if _, ok := want[k]; !ok {
			t.Errorf("scrape has unchecked series %s = %v", k, got[k])
		}
	}

	// The gauges are the server's true state.
	if a.Connections != len(live) || st0.Connections != len(live) {
		t.Errorf("Stats connections %d (app %d), want %d", st0.Connections, a.Connections, len(live))
	}
	sum := 0
	for typ, v := range a.ChannelsByType {
		sum += v
		if float64(v) != occupied[typ] {
			t.Errorf("Stats channels of type %s %d, want %v", typ, v, occupied[typ])
		}
	}
	if sum != a.Channels {
		t.Errorf("channels by type add up to %d, Stats.Channels is %d", sum, a.Channels)
	}
	if live := a.Subscriptions["public"] - a.Unsubscriptions["public"]; live != 3 {
		t.Errorf("public subscriptions less unsubscriptions %d, want the 3 sockets left on public-room", live)
	}
}

// TestDashboardMetricsExist checks that every metric Sockudo's Grafana
// dashboard queries is in a scrape, with the default prefix.
func TestDashboardMetricsExist(t *testing.T) {
	_, base, murl := startServer(t, promcollector.DefaultPrefix)
	c := dial(t, "ws"+strings.TrimPrefix(base, "http"), appKey) // an app shows up with its first socket
	c.handshake()
	fams := scrape(t, murl)
	series := map[string]bool{}
	for name, f := range fams {
		series[name] = true
		if f.GetType() == dto.MetricType_HISTOGRAM { // queried as its _bucket series
			series[name+"_bucket"] = true
		}
	}
	file, err := os.Open("testdata/dashboard_metrics.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	var missing []string
	names := 0
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		names++
		if !series[promcollector.DefaultPrefix+line] {
			missing = append(missing, promcollector.DefaultPrefix+line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if names != 22 {
		t.Fatalf("the fixture lists %d names, want Sockudo's 22", names)
	}
	if len(missing) > 0 {
		t.Fatalf("the scrape lacks %d of the dashboard's metrics: %s", len(missing), strings.Join(missing, ", "))
	}
}

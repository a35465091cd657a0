package promcollector

import (
	"cmp"
	"maps"
	"slices"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sockudo-go/sockudo"
)

// StatsSource is what the collector reads; *sockudo.Server implements it.
type StatsSource interface {
	Stats() sockudo.Stats
}

// DefaultPrefix is Sockudo's metric name prefix.
const DefaultPrefix = "sockudo_"

// Global is the app_id label value of figures that belong to no app:
// connections refused before their app was known and the per-IP rate
// limits, as Sockudo labels its per-IP limits. They are left out when an
// app has that id.
const Global = "global"

// Option configures a Collector.
type Option func(*Collector)

// WithPort adds the label port="<port>" to every metric, as Sockudo does
// with the port of its metrics listener, so that series of several
// servers on one host stay apart. Without it there is no port label.
func WithPort(port int) Option {
	return func(c *Collector) { c.port = port }
}

// Collector is a prometheus.Collector for a server's Stats. Its families
// are Sockudo's, with the same names, types and labels, so Sockudo's
// (and soketi's, with the prefix "soketi_") Grafana dashboards work on it.
type Collector struct {
	src  StatsSource
	port int

	app     []appMetric
	labeled []labeledMetric
	horiz   []*prometheus.Desc // horizontal adapter counters
	resolve *prometheus.Desc   // horizontal adapter resolve time histogram

	limiterError *prometheus.Desc
}

// appMetric is a family with the app_id label alone.
type appMetric struct {
	name, help string
	counter    bool
	value      func(sockudo.AppStats) float64
	desc       *prometheus.Desc
}

// series is one labelled value of a family beyond app_id.
type series struct {
	labels []string
	value  float64
}

// labeledMetric is a family with labels beyond app_id; global gives its
// series under app_id "global", if it has any.
type labeledMetric struct {
	name, help string
	labels     []string
	counter    bool
	app        func(sockudo.AppStats) []series
	global     func(sockudo.Stats) []series
	desc       *prometheus.Desc
}

func counter(name, help string, v func(sockudo.AppStats) uint64) appMetric {
	return appMetric{name: name, help: help, counter: true, value: func(a sockudo.AppStats) float64 { return float64(v(a)) }}
}

func gauge(name, help string, v func(sockudo.AppStats) int) appMetric {
	return appMetric{name: name, help: help, value: func(a sockudo.AppStats) float64 { return float64(v(a)) }}
}

func appMetrics() []appMetric {
	return []appMetric{
		gauge("connected", "The number of currently connected sockets.", func(a sockudo.AppStats) int { return a.Connections }),
		gauge("signed_in_users", "Users signed in on at least one connection.", func(a sockudo.AppStats) int { return a.Users }),
		counter("new_connections_total", "Total amount of WebSocket connections accepted.", func(a sockudo.AppStats) uint64 { return a.Connected }),
		counter("new_disconnections_total", "Total amount of WebSocket disconnections.", func(a sockudo.AppStats) uint64 { return a.Disconnected }),
		counter("socket_received_bytes", "Total amount of WebSocket payload bytes received from clients.", func(a sockudo.AppStats) uint64 { return a.BytesReceived }),
		counter("socket_transmitted_bytes", "Total amount of WebSocket payload bytes sent to clients.", func(a sockudo.AppStats) uint64 { return a.BytesSent }),
		counter("ws_messages_received_total", "Total amount of WebSocket messages received from clients and handled.", func(a sockudo.AppStats) uint64 { return a.MessagesReceived }),
		counter("ws_messages_sent_total", "Total amount of WebSocket messages sent to clients.", func(a sockudo.AppStats) uint64 { return a.MessagesSent }),
		counter("http_calls_received_total", "Total amount of HTTP API calls received (signature checked).", func(a sockudo.AppStats) uint64 { return a.APICalls }),
		counter("http_received_bytes", "Total amount of HTTP API request body bytes received.", func(a sockudo.AppStats) uint64 { return a.APIBytesReceived }),
		counter("http_transmitted_bytes", "Total amount of HTTP API response body bytes sent.", func(a sockudo.AppStats) uint64 { return a.APIBytesSent }),
		counter("events_published_total", "Events published through the HTTP or Go API.", func(a sockudo.AppStats) uint64 { return a.EventsPublished }),
		counter("messages_delivered_total", "Messages queued to sockets by broadcasts (published and client events).", func(a sockudo.AppStats) uint64 { return a.MessagesDelivered }),
		counter("messages_dropped_total", "Messages refused by full outbound queues.", func(a sockudo.AppStats) uint64 { return a.MessagesDropped }),
		counter("slow_consumers_closed_total", "Connections closed with 4100 because their outbound queue or inbound budget was exceeded.", func(a sockudo.AppStats) uint64 { return a.SlowConsumersClosed }),
	}
}

// bySeries turns a map into series labelled by its sorted keys.
func bySeries[V int | uint64](m map[string]V) []series {
	out := make([]series, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, series{labels: []string{k}, value: float64(m[k])})
	}
	return out
}

func byLimiter(m map[sockudo.Limiter]uint64) []series {
	keys := slices.SortedFunc(maps.Keys(m), func(a, b sockudo.Limiter) int {
		return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.Context, b.Context))
	})
	out := make([]series, 0, len(keys))
	for _, k := range keys {
		out = append(out, series{labels: []string{k.Type, k.Context}, value: float64(m[k])})
	}
	return out
}

func labeledMetrics() []labeledMetric {
	limiter := []string{"limiter_type", "request_context"}
	return []labeledMetric{
		{name: "active_channels", help: "Number of currently active (occupied) channels.", labels: []string{"channel_type"},
			app: func(a sockudo.AppStats) []series { return bySeries(a.ChannelsByType) }},
		{name: "channel_subscriptions_total", help: "Total number of channel subscriptions.", labels: []string{"channel_type"}, counter: true,
			app: func(a sockudo.AppStats) []series { return bySeries(a.Subscriptions) }},
		{name: "channel_unsubscriptions_total", help: "Total number of channel unsubscriptions, disconnects included.", labels: []string{"channel_type"}, counter: true,
			app: func(a sockudo.AppStats) []series { return bySeries(a.Unsubscriptions) }},
		{name: "connection_errors_total", help: "Total amount of connection errors by type.", labels: []string{"error_type"}, counter: true,
			app:    func(a sockudo.AppStats) []series { return bySeries(a.ConnectionErrors) },
			global: func(s sockudo.Stats) []series { return bySeries(s.ConnectionErrors) }},
		{name: "rate_limit_checks_total", help: "Total number of rate limit checks performed.", labels: limiter, counter: true,
			app:    func(a sockudo.AppStats) []series { return byLimiter(a.RateLimitChecks) },
			global: func(s sockudo.Stats) []series { return byLimiter(s.RateLimitChecks) }},
		{name: "rate_limit_triggered_total", help: "Total number of times a rate limit was triggered.", labels: limiter, counter: true,
			app:    func(a sockudo.AppStats) []series { return byLimiter(a.RateLimitTriggered) },
			global: func(s sockudo.Stats) []series { return byLimiter(s.RateLimitTriggered) }},
	}
}

// The horizontal adapter's counters: always zero, since this server runs
// as one node, but present so that dashboards find them.
var horizontal = []struct{ name, help string }{
	{"horizontal_adapter_resolved_promises", "The total amount of promises that were fulfilled by other nodes (always 0: one node)."},
	{"horizontal_adapter_uncomplete_promises", "The total amount of promises that were not fulfilled entirely by other nodes (always 0: one node)."},
	{"horizontal_adapter_sent_requests", "The total amount of sent requests to other nodes (always 0: one node)."},
	{"horizontal_adapter_received_requests", "The total amount of received requests from other nodes (always 0: one node)."},
	{"horizontal_adapter_received_responses", "The total amount of received responses from other nodes (always 0: one node)."},
}

// NewCollector returns a collector whose metric names start with prefix
// (Sockudo's is DefaultPrefix, soketi's "soketi_"), labelled by app_id.
func NewCollector(src StatsSource, prefix string, opts ...Option) *Collector {
	c := &Collector{src: src}
	for _, o := range opts {
		o(c)
	}
	var constLabels prometheus.Labels
	if c.port > 0 {
		constLabels = prometheus.Labels{"port": strconv.Itoa(c.port)}
	}
	app := []string{"app_id"}
	c.app = appMetrics()
	for i := range c.app {
		m := &c.app[i]
		m.desc = prometheus.NewDesc(prefix+m.name, m.help, app, constLabels)
	}
	c.labeled = labeledMetrics()
	for i := range c.labeled {
		m := &c.labeled[i]
		m.desc = prometheus.NewDesc(prefix+m.name, m.help, append([]string{"app_id"}, m.labels...), constLabels)
	}
	for _, h := range horizontal {
		c.horiz = append(c.horiz, prometheus.NewDesc(prefix+h.name, h.help, app, constLabels))
	}
	c.resolve = prometheus.NewDesc(prefix+"horizontal_adapter_resolve_time",
		"The resolve time of requests to other nodes (always empty: one node).", app, constLabels)
	c.limiterError = prometheus.NewDesc(prefix+"rate_limiter_errors_total",
		"Rate limit decisions the limiter backend failed to make, answered by the failure policy.", nil, constLabels)
	return c
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.app {
		ch <- m.desc
	}
	for _, m := range c.labeled {
		ch <- m.desc
	}
	for _, d := range c.horiz {
		ch <- d
	}
	ch <- c.resolve
	ch <- c.limiterError
}

func kind(counter bool) prometheus.ValueType {
	if counter {
		return prometheus.CounterValue
	}
	return prometheus.GaugeValue
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	st := c.src.Stats()
	ch <- prometheus.MustNewConstMetric(c.limiterError, prometheus.CounterValue, float64(st.RateLimiterErrors))
	emit := func(m *labeledMetric, id string, ss []series) {
		for _, s := range ss {
			ch <- prometheus.MustNewConstMetric(m.desc, kind(m.counter), s.value, append([]string{id}, s.labels...)...)
		}
	}
	// An app whose id is "global" would clash, and a clash fails the
	// whole scrape: its own figures win.
	if _, clash := st.Apps[Global]; !clash {
		for i := range c.labeled {
			if m := &c.labeled[i]; m.global != nil {
				emit(m, Global, m.global(st))
			}
		}
	}
	emptyBuckets := make(map[float64]uint64, len(prometheus.DefBuckets))
	for _, b := range prometheus.DefBuckets {
		emptyBuckets[b] = 0
	}
	for _, id := range slices.Sorted(maps.Keys(st.Apps)) {
		a := st.Apps[id]
		for _, m := range c.app {
			ch <- prometheus.MustNewConstMetric(m.desc, kind(m.counter), m.value(a), id)
		}
		for i := range c.labeled {
			emit(&c.labeled[i], id, c.labeled[i].app(a))
		}
		for _, d := range c.horiz {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, 0, id)
		}
		ch <- prometheus.MustNewConstHistogram(c.resolve, 0, 0, emptyBuckets, id)
	}
}

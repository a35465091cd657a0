package promcollector

import (
	"sort"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sockudo-go/sockudo"
)

// StatsSource is what the collector reads; *sockudo.Server implements it.
type StatsSource interface {
	Stats() sockudo.Stats
}

// Collector is a prometheus.Collector for a server's Stats.
type Collector struct {
	src          StatsSource
	descs        map[string]*prometheus.Desc
	limiterError *prometheus.Desc
}

type metric struct {
	name, help string
	counter    bool
	value      func(sockudo.AppStats) float64
}

var metrics = []metric{
	{"connected", "Open WebSocket connections.", false, func(a sockudo.AppStats) float64 { return float64(a.Connections) }},
	{"active_channels", "Occupied channels.", false, func(a sockudo.AppStats) float64 { return float64(a.Channels) }},
	{"signed_in_users", "Users signed in on at least one connection.", false, func(a sockudo.AppStats) float64 { return float64(a.Users) }},
	{"new_connections_total", "WebSocket connections opened.", true, func(a sockudo.AppStats) float64 { return float64(a.Connected) }},
	{"new_disconnections_total", "WebSocket connections closed.", true, func(a sockudo.AppStats) float64 { return float64(a.Disconnected) }},
	{"ws_messages_received_total", "Messages received from clients.", true, func(a sockudo.AppStats) float64 { return float64(a.MessagesReceived) }},
	{"ws_messages_sent_total", "Messages queued to clients by broadcasts.", true, func(a sockudo.AppStats) float64 { return float64(a.MessagesDelivered) }},
	{"events_published_total", "Events published through the HTTP or Go API.", true, func(a sockudo.AppStats) float64 { return float64(a.EventsPublished) }},
	{"messages_dropped_total", "Messages refused by full outbound queues.", true, func(a sockudo.AppStats) float64 { return float64(a.MessagesDropped) }},
	{"slow_consumers_closed_total", "Connections closed with 4100 because their outbound queue was full.", true, func(a sockudo.AppStats) float64 { return float64(a.SlowConsumersClosed) }},
}

// NewCollector returns a collector whose metric names start with prefix
// (Sockudo uses "sockudo_"), labelled by app_id.
func NewCollector(src StatsSource, prefix string) *Collector {
	c := &Collector{src: src, descs: make(map[string]*prometheus.Desc, len(metrics)),
		limiterError: prometheus.NewDesc(prefix+"rate_limiter_errors_total",
			"Rate limit decisions the limiter backend failed to make, answered by the failure policy.", nil, nil)}
	for _, m := range metrics {
		c.descs[m.name] = prometheus.NewDesc(prefix+m.name, m.help, []string{"app_id"}, nil)
	}
	return c
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range metrics {
		ch <- c.descs[m.name]
	}
	ch <- c.limiterError
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	st := c.src.Stats()
	ch <- prometheus.MustNewConstMetric(c.limiterError, prometheus.CounterValue, float64(st.RateLimiterErrors))
	ids := make([]string, 0, len(st.Apps))
	for id := range st.Apps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		a := st.Apps[id]
		for _, m := range metrics {
			kind := prometheus.GaugeValue
			if m.counter {
				kind = prometheus.CounterValue
			}
			ch <- prometheus.MustNewConstMetric(c.descs[m.name], kind, m.value(a), id)
		}
	}
}

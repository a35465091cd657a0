package promcollector_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/metrics/promcollector"
)

type fixedStats sockudo.Stats

func (f fixedStats) Stats() sockudo.Stats { return sockudo.Stats(f) }

func TestCollector(t *testing.T) {
	ws := sockudo.Limiter{Type: "client_events", Context: "websocket"}
	src := fixedStats{Connections: 3,
		ConnectionErrors: map[string]uint64{"app_not_found": 4},
		Apps: map[string]sockudo.AppStats{
			"a": {Connections: 2, Channels: 1, Connected: 5, Disconnected: 3, MessagesSent: 10,
				ChannelsByType:     map[string]int{"public": 1, "presence": 0},
				RateLimitTriggered: map[sockudo.Limiter]uint64{ws: 2}},
			"b": {Connections: 1},
		}}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(promcollector.NewCollector(src, "soketi_", promcollector.WithPort(9601)))
	want := `
# HELP soketi_connected The number of currently connected sockets.
# TYPE soketi_connected gauge
soketi_connected{app_id="a",port="9601"} 2
soketi_connected{app_id="b",port="9601"} 1
# HELP soketi_new_connections_total Total amount of WebSocket connections accepted.
# TYPE soketi_new_connections_total counter
soketi_new_connections_total{app_id="a",port="9601"} 5
soketi_new_connections_total{app_id="b",port="9601"} 0
# HELP soketi_ws_messages_sent_total Total amount of WebSocket messages sent to clients.
# TYPE soketi_ws_messages_sent_total counter
soketi_ws_messages_sent_total{app_id="a",port="9601"} 10
soketi_ws_messages_sent_total{app_id="b",port="9601"} 0
# HELP soketi_active_channels Number of currently active (occupied) channels.
# TYPE soketi_active_channels gauge
soketi_active_channels{app_id="a",channel_type="presence",port="9601"} 0
soketi_active_channels{app_id="a",channel_type="public",port="9601"} 1
# HELP soketi_connection_errors_total Total amount of connection errors by type.
# TYPE soketi_connection_errors_total counter
soketi_connection_errors_total{app_id="global",error_type="app_not_found",port="9601"} 4
# HELP soketi_rate_limit_triggered_total Total number of times a rate limit was triggered.
# TYPE soketi_rate_limit_triggered_total counter
soketi_rate_limit_triggered_total{app_id="a",limiter_type="client_events",port="9601",request_context="websocket"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"soketi_connected", "soketi_new_connections_total", "soketi_ws_messages_sent_total",
		"soketi_active_channels", "soketi_connection_errors_total", "soketi_rate_limit_triggered_total"); err != nil {
		t.Fatal(err)
	}
}

// An app named like the global series keeps its own; the scrape does not
// fail on a duplicate.
func TestCollectorGlobalClash(t *testing.T) {
	src := fixedStats{ConnectionErrors: map[string]uint64{"app_not_found": 4},
		Apps: map[string]sockudo.AppStats{"global": {ConnectionErrors: map[string]uint64{"app_not_found": 1}}}}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(promcollector.NewCollector(src, "sockudo_"))
	want := `
# HELP sockudo_connection_errors_total Total amount of connection errors by type.
# TYPE sockudo_connection_errors_total counter
sockudo_connection_errors_total{app_id="global",error_type="app_not_found"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "sockudo_connection_errors_total"); err != nil {
		t.Fatal(err)
	}
}

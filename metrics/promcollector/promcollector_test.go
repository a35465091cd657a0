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
	src := fixedStats{Connections: 3, Apps: map[string]sockudo.AppStats{
		"a": {Connections: 2, Channels: 1, Connected: 5, Disconnected: 3, MessagesDelivered: 10},
		"b": {Connections: 1},
	}}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(promcollector.NewCollector(src, "sockudo_"))
	want := `
# HELP sockudo_connected Open WebSocket connections.
# TYPE sockudo_connected gauge
sockudo_connected{app_id="a"} 2
sockudo_connected{app_id="b"} 1
# HELP sockudo_new_connections_total WebSocket connections opened.
# TYPE sockudo_new_connections_total counter
sockudo_new_connections_total{app_id="a"} 5
sockudo_new_connections_total{app_id="b"} 0
# HELP sockudo_ws_messages_sent_total Messages queued to clients by broadcasts.
# TYPE sockudo_ws_messages_sent_total counter
sockudo_ws_messages_sent_total{app_id="a"} 10
sockudo_ws_messages_sent_total{app_id="b"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"sockudo_connected", "sockudo_new_connections_total", "sockudo_ws_messages_sent_total"); err != nil {
		t.Fatal(err)
	}
}

package config

import (
	"fmt"
	"regexp"
)

// metricName is what Prometheus accepts as a metric name.
var metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)

// Validate checks the section when metrics are enabled: the prefix must
// start valid metric names (it may be empty).
func (m *Metrics) Validate() error {
	if !m.Enabled || m.Prometheus.Prefix == "" || metricName.MatchString(m.Prometheus.Prefix) {
		return nil
	}
	return fmt.Errorf("metrics.prometheus.prefix (METRICS_PROMETHEUS_PREFIX) %q is not a valid metric name prefix: use letters, digits, _ and :, not starting with a digit", m.Prometheus.Prefix)
}

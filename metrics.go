package sockudo

import "sync/atomic"

// ruleCounter counts the decisions of a per-IP rate limit rule.
type ruleCounter struct{ checks, limited atomic.Uint64 }

func (c *ruleCounter) observe(limited bool) {
	c.checks.Add(1)
	if limited {
		c.limited.Add(1)
	}
}

// The per-IP rules by Sockudo's names: its rate limit config sections and
// the request contexts they apply to.
var (
	apiLimiter = Limiter{Type: "api_rate_limit", Context: "http_api"}
	wsLimiter  = Limiter{Type: "websocket_rate_limit", Context: "websocket_upgrade"}
)

// ruleStats returns the per-IP rules' checks and refusals.
func (s *Server) ruleStats() (checks, triggered map[Limiter]uint64) {
	return map[Limiter]uint64{apiLimiter: s.apiCount.checks.Load(), wsLimiter: s.wsCount.checks.Load()},
		map[Limiter]uint64{apiLimiter: s.apiCount.limited.Load(), wsLimiter: s.wsCount.limited.Load()}
}

package sockudo

import (
	"net/http"

	"github.com/sockudo-go/sockudo/internal/ratelimithttp"
	"github.com/sockudo-go/sockudo/ratelimit"
)

// allowConnection applies the per-IP connection rate limit, answering 429
// before the upgrade when it is exceeded.
func (s *Server) allowConnection(w http.ResponseWriter, r *http.Request) bool {
	if s.wsRule == nil {
		return true
	}
	return s.wsRule.Check(w, r)
}

// rule builds the per-IP rule of a RateLimit option, or nil.
func (s *Server) rule(l *RateLimit, prefix string, count *ruleCounter) *ratelimithttp.Rule {
	if l == nil {
		return nil
	}
	if l.KeyPrefix != "" {
		prefix = l.KeyPrefix
	}
	return &ratelimithttp.Rule{
		Limiter:      s.limiter,
		Limit:        ratelimit.Limit{Max: l.Max, Window: l.Window},
		KeyPrefix:    prefix,
		TrustHops:    l.TrustHops,
		RealIPHeader: l.RealIPHeader,
		Observe:      count.observe,
	}
}

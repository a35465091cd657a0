package ratelimithttp_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/sockudo-go/sockudo/internal/ratelimithttp"
	"github.com/sockudo-go/sockudo/ratelimit"
	"github.com/sockudo-go/sockudo/ratelimit/memory"
)

func ExampleMiddleware() {
	l, _ := memory.New(nil)
	api := ratelimithttp.Rule{
		Limiter:   ratelimit.NewGuard(l, nil),
		Limit:     ratelimit.Limit{Max: 1, Window: time.Minute},
		KeyPrefix: "api:",
	}
	h := ratelimithttp.Middleware(api, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "{}")
	}))
	for range 2 {
		r := httptest.NewRequest(http.MethodGet, "/apps/app-id/channels", nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Header().Get("X-RateLimit-Remaining"), w.Header().Get("Retry-After"), w.Body)
	}
	// Output:
	// 200 0  {}
	// 429 0 60 {"error":"rate limit exceeded, retry later","code":"rate_limited","status":429}
}

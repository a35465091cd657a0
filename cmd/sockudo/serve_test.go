package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sockudo-go/sockudo"
)

// TestRootHealthAlias checks that the binary answers health checks at the
// root, under the path prefix, while the library answers only /up.
func TestRootHealthAlias(t *testing.T) {
	for _, given := range []string{"", "/", "/pusher"} {
		srv, err := sockudo.New(sockudo.WithPathPrefix(given))
		if err != nil {
			t.Fatal(err)
		}
		h := handler(given, srv)
		prefix := strings.TrimSuffix(given, "/") // "/" is no prefix
		for _, tc := range []struct {
			handler http.Handler
			path    string
			status  int
			health  string
		}{
			{h, prefix + "/", http.StatusOK, "OK"},
			{h, prefix + "/up", http.StatusOK, "OK"},
			{h, prefix + "/nothing", http.StatusNotFound, ""},
			{srv, prefix + "/", http.StatusNotFound, ""},
			{srv, prefix + "/up", http.StatusOK, "OK"},
		} {
			rec := httptest.NewRecorder()
			tc.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
			body, _ := io.ReadAll(rec.Body)
			if rec.Code != tc.status || rec.Header().Get("X-Health-Check") != tc.health {
				t.Errorf("prefix %q: %T GET %s = %d %q (X-Health-Check %q), want %d %q",
					prefix, tc.handler, tc.path, rec.Code, body, rec.Header().Get("X-Health-Check"), tc.status, tc.health)
			}
		}
	}
}

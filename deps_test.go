package sockudo_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCoreDependencies keeps driver dependencies out of the core: the root
// package and everything it imports may use only the standard library,
// coder/websocket, golang-lru/v2 and x/time.
func TestCoreDependencies(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs the go command")
	}
	out, err := exec.Command("go", "list", "-deps", "github.com/sockudo-go/sockudo").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	allowed := []string{"github.com/sockudo-go/sockudo", "github.com/coder/websocket", "github.com/hashicorp/golang-lru/v2", "golang.org/x/time"}
	for _, pkg := range strings.Fields(string(out)) {
		first, _, _ := strings.Cut(pkg, "/")
		if !strings.Contains(first, ".") {
			continue // standard library
		}
		ok := false
		for _, a := range allowed {
			if pkg == a || strings.HasPrefix(pkg, a+"/") {
				ok = true
				break
			}
		}
		if !ok {
			t.Errorf("the core imports %s", pkg)
		}
	}
}

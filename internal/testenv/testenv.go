package testenv

import (
	"os"
	"testing"
)

// RequireServicesVar turns skips for missing services into failures.
const RequireServicesVar = "SOCKUDO_TEST_REQUIRE_SERVICES"

// Lookup returns the value of the environment variable name, skipping (or,
// under SOCKUDO_TEST_REQUIRE_SERVICES=1, failing) the test when it is unset.
func Lookup(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v != "" {
		return v
	}
	if os.Getenv(RequireServicesVar) == "1" {
		t.Fatalf("%s is not set and %s=1: this test needs its service", name, RequireServicesVar)
	}
	t.Skipf("%s is not set; skipping a test that needs a real service", name)
	return ""
}

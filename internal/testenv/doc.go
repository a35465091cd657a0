// Package testenv gates integration tests on the SOCKUDO_TEST_* environment
// variables. It is imported by _test files only.
//
// A test that needs a real service calls Lookup with the variable that names
// it. When the variable is unset the test is skipped, unless
// SOCKUDO_TEST_REQUIRE_SERVICES=1, in which case it fails: CI sets that so it
// can never pass by skipping.
package testenv

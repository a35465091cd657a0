//go:build !race

package main

// testRSSSlack is the soak's RSS slack in tests: the tool's default.
const testRSSSlack = soakRSSSlack

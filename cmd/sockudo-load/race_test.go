//go:build race

package main

// testRSSSlack is the soak's RSS slack in tests: the race detector's
// shadow memory grows with the peak and is not returned.
const testRSSSlack = 512

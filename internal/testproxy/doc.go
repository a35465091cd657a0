// Package testproxy is a loopback TCP proxy for tests that simulate a
// backend outage without stopping the shared service: Cut drops every
// connection and refuses new ones until Restore. It is imported by _test
// files only.
package testproxy

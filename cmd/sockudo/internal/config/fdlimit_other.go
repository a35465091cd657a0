//go:build !unix

package config

// fdLimit reports no limit where RLIMIT_NOFILE does not exist.
func fdLimit() (uint64, bool) { return 0, false }

//go:build unix

package config

import "syscall"

// fdLimit returns this process's RLIMIT_NOFILE soft limit.
func fdLimit() (uint64, bool) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, false
	}
	return uint64(lim.Cur), true
}

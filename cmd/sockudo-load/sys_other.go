//go:build !unix

package main

import "time"

// raiseFDLimit does nothing where RLIMIT_NOFILE does not exist.
func raiseFDLimit(need uint64) (uint64, error) { return need, nil }

// cpuTime is not available here.
func cpuTime() (time.Duration, bool) { return 0, false }

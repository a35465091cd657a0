//go:build unix

package main

import (
	"fmt"
	"syscall"
	"time"
)

// raiseFDLimit raises this process's RLIMIT_NOFILE so that it allows at
// least need descriptors, and returns the new soft limit. When the hard
// limit is lower and cannot be raised (that takes privilege), it returns
// an error saying so.
func raiseFDLimit(need uint64) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("read RLIMIT_NOFILE: %w", err)
	}
	if lim.Cur >= need {
		return lim.Cur, nil
	}
	if lim.Max >= need {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return 0, fmt.Errorf("raise RLIMIT_NOFILE to %d: %w", lim.Cur, err)
		}
		return lim.Cur, nil
	}
	want := syscall.Rlimit{Cur: need, Max: need}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		return 0, fmt.Errorf("need %d file descriptors per process but RLIMIT_NOFILE is %d (hard %d) and cannot be raised: %w; run with fewer connections or raise the hard limit", need, lim.Cur, lim.Max, err)
	}
	return need, nil
}

// cpuTime returns the user plus system CPU time this process has used.
func cpuTime() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

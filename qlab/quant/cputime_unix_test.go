//go:build unix

package quant

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user+system) this process has used. The
// benchmarks report work per CPU second besides per wall second because the
// shared development machine is often oversubscribed, which inflates wall
// time but not CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

//go:build unix

package analysis

import "syscall"

// cpuNano returns the CPU time (user + system, all threads) this process has
// used, in nanoseconds: benchmarks divide work by it because the machines
// they run on are shared, where wall time measures the neighbours too.
func cpuNano() (int64, bool) {
	var r syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &r); err != nil {
		return 0, false
	}
	return r.Utime.Nano() + r.Stime.Nano(), true
}

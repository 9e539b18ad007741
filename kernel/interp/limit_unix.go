//go:build unix

package interp

import (
	"runtime/metrics"
	"syscall"
)

// dataRoom returns how much more the process may map under its data
// segment limit (RLIMIT_DATA, which the kernel's evaluator sets from
// QLAB_MEMORY_LIMIT), or 0 when there is no limit.
func dataRoom() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_DATA, &rl); err != nil || rl.Cur == ^uint64(0) || rl.Cur == 0 {
		return 0
	}
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}}
	metrics.Read(s)
	used := s[0].Value.Uint64()
	if used >= rl.Cur {
		return 1
	}
	return rl.Cur - used
}

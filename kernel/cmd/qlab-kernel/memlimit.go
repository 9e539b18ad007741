package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// The evaluator's memory limit.
//
// A cell that allocates without end would otherwise grow the evaluator
// until the system's out-of-memory killer picks a process — perhaps not
// this one — after minutes of swapping. The evaluator instead caps its own
// data segment (RLIMIT_DATA, which on Linux counts the Go heap's mappings)
// and tells the Go runtime the same budget (debug.SetMemoryLimit), so that
// the collector works hard near the limit and an allocation past it ends
// the process at once with "fatal error: out of memory", which the
// supervisor reports on the cell before starting a new evaluator. Slices
// too large for the limit are refused up front, keeping the state (see
// kernel/interp, qlabrt.Len).

// memoryLimitEnv sets the limit: a size such as "8GiB", "1500MB" or a
// number of bytes, or "off".
const memoryLimitEnv = "QLAB_MEMORY_LIMIT"

// defaultMemoryShare is the share of physical memory the evaluator may use
// when QLAB_MEMORY_LIMIT is not set.
const defaultMemoryShare = 0.8

// memoryLimit returns the evaluator's limit in bytes, 0 for none, from the
// environment value env and the machine's physical memory total (0 when
// unknown).
func memoryLimit(env string, total uint64) (uint64, error) {
	env = strings.TrimSpace(env)
	switch strings.ToLower(env) {
	case "":
		return uint64(float64(total) * defaultMemoryShare), nil
	case "off", "0", "none":
		return 0, nil
	}
	n, err := parseSize(env)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: %v", memoryLimitEnv, env, err)
	}
	if n < 256<<20 {
		return 0, fmt.Errorf("%s=%q: below the 256 MiB the kernel needs to start", memoryLimitEnv, env)
	}
	return n, nil
}

// parseSize reads "512MiB", "8GB", "1.5GiB", "1073741824".
func parseSize(s string) (uint64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
		{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40}, {"B", 1},
	}
	mult, num := 1.0, s
	for _, u := range units {
		if strings.HasSuffix(strings.ToUpper(s), strings.ToUpper(u.suffix)) {
			mult, num = u.mult, strings.TrimSpace(s[:len(s)-len(u.suffix)])
			break
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("not a size (want e.g. 8GiB, 1500MB or off)")
	}
	return uint64(v * mult), nil
}

// memTotal returns the machine's physical memory in bytes (MemTotal of
// /proc/meminfo), 0 when unknown.
func memTotal() uint64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// evaluatorMemoryLimit is memoryLimit for this process's environment and
// machine.
func evaluatorMemoryLimit() (uint64, error) {
	return memoryLimit(os.Getenv(memoryLimitEnv), memTotal())
}

// gib writes n bytes in GiB or MiB.
func gib(n uint64) string {
	if n >= 1<<30 {
		return strconv.FormatFloat(float64(n)/(1<<30), 'f', 1, 64) + " GiB"
	}
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 0, 64) + " MiB"
}

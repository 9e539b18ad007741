//go:build !unix

package analysis

// cpuNano is unavailable here; benchmarks then report wall-time figures only.
func cpuNano() (int64, bool) { return 0, false }

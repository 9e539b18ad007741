//go:build !unix

package quant

import "time"

// processCPU is unavailable here; the CPU-time metric is then left out.
func processCPU() time.Duration { return 0 }

package analysis

import "time"

// nowNano is used only by benchmarks to split one timed loop into two
// phases; tests never read the clock.
func nowNano() int64 { return time.Now().UnixNano() }

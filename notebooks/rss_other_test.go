//go:build !unix

package notebooks_test

import "os"

// maxRSS is not measured on this system.
func maxRSS(ps *os.ProcessState) (int64, bool) { return 0, false }

//go:build !unix

package interp

// dataRoom returns 0: no data segment limit is known here.
func dataRoom() uint64 { return 0 }

//go:build !linux

package main

import (
	"log"
	"os"
	"runtime/debug"
)

// maxStack bounds a goroutine's stack (see fatal_linux.go).
const maxStack = 64 << 20

// unblockFatalErrors sends the runtime's report of a fatal error to orig.
// Only Linux makes the capture pipe non-blocking (see fatal_linux.go).
func unblockFatalErrors(orig *os.File, logger *log.Logger) {
	debug.SetMaxStack(maxStack)
	if err := debug.SetCrashOutput(orig, debug.CrashOptions{}); err != nil {
		logger.Printf("crash output: %v", err)
	}
}

// limitMemory applies the evaluator's soft memory limit (memlimit.go); only
// Linux also caps the data segment.
func limitMemory(logger *log.Logger) {
	limit, err := evaluatorMemoryLimit()
	if err != nil {
		logger.Printf("%v; no memory limit", err)
		return
	}
	if limit > 0 {
		debug.SetMemoryLimit(int64(limit / 10 * 9))
	}
}

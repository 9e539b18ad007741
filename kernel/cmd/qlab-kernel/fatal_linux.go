package main

import (
	"log"
	"os"
	"runtime/debug"

	"golang.org/x/sys/unix"
)

// maxStack bounds a goroutine's stack: a sixteenth of Go's default 1 GB.
// Interpreted recursion still goes 30,000 calls deep (yaegi uses about 2 KB
// of stack per interpreted call), and runaway recursion in a cell ends in
// about 3 s instead of about a minute.
const maxStack = 64 << 20

// unblockFatalErrors keeps a fatal runtime error (stack overflow, out of
// memory, concurrent map writes) from hanging the process. The runtime
// writes its report to descriptor 2, which is then the capture pipe; it
// stops every goroutine first, including the one draining that pipe, so a
// report longer than the pipe's buffer blocks forever. With the pipe's
// write end non-blocking the runtime's writes fail instead of blocking, and
// SetCrashOutput sends the report to orig, the kernel's real standard
// error, where the supervisor (or the frontend's log) reads it.
//
// Writes to os.Stderr by a cell that outpace the drain by more than the
// pipe's buffer (raised to 1 MiB here) now fail with EAGAIN instead of
// waiting; they are dropped, not reordered.
func unblockFatalErrors(orig *os.File, logger *log.Logger) {
	debug.SetMaxStack(maxStack)
	if _, err := unix.FcntlInt(2, unix.F_SETPIPE_SZ, 1<<20); err != nil {
		logger.Printf("enlarging the stderr capture pipe: %v", err)
	}
	if err := unix.SetNonblock(2, true); err != nil {
		logger.Printf("stderr capture pipe: %v (a fatal runtime error may hang the kernel)", err)
	}
	if err := debug.SetCrashOutput(orig, debug.CrashOptions{}); err != nil {
		logger.Printf("crash output: %v", err)
	}
}

// limitMemory applies the evaluator's memory limit (memlimit.go): the data
// segment's hard cap, and the Go runtime's soft limit a little below it so
// that the collector runs before the cap is reached.
func limitMemory(logger *log.Logger) {
	limit, err := evaluatorMemoryLimit()
	if err != nil {
		logger.Printf("%v; no memory limit", err)
		return
	}
	if limit == 0 {
		return
	}
	if err := unix.Setrlimit(unix.RLIMIT_DATA, &unix.Rlimit{Cur: limit, Max: limit}); err != nil {
		logger.Printf("memory limit %s: %v", gib(limit), err)
		return
	}
	debug.SetMemoryLimit(int64(limit / 10 * 9))
}

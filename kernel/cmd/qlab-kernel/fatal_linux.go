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

// fd2 keeps the original os.Stderr, descriptor 2, once os.Stderr is
// replaced (see unblockFatalErrors).
var fd2 *os.File

// unblockFatalErrors keeps a fatal runtime error (stack overflow, out of
// memory, concurrent map writes) from hanging the process. The runtime
// writes its report to descriptor 2, which is then the capture pipe; it
// stops every goroutine first, including the one draining that pipe, so a
// report longer than the pipe's buffer blocks forever. With the pipe's
// write end non-blocking the runtime's writes fail instead of blocking, and
// SetCrashOutput sends the report to orig, the kernel's real standard
// error, where the supervisor (or the frontend's log) reads it.
//
// Non-blocking is a property of the open file, shared by every descriptor
// dup'ed from it, so Go code writing through os.Stderr would get EAGAIN
// once it outpaced the drain by the pipe's buffer (a cell printing 8 MB
// to os.Stderr lost all but 1.2 MB). os.Stderr and the log package's
// default logger therefore get an open file of their own on the same pipe,
// made by opening /proc/self/fd/2, which Go's poller waits on: such writes
// wait for the drain as on any pipe, while the runtime's own writes to
// descriptor 2 cannot block.
func unblockFatalErrors(orig *os.File, logger *log.Logger) {
	debug.SetMaxStack(maxStack)
	if _, err := unix.FcntlInt(2, unix.F_SETPIPE_SZ, 1<<20); err != nil {
		logger.Printf("enlarging the stderr capture pipe: %v", err)
	}
	if f, err := os.OpenFile("/proc/self/fd/2", os.O_WRONLY, 0); err != nil {
		logger.Printf("stderr capture pipe: %v (a cell's long bursts on os.Stderr may be cut)", err)
	} else {
		// The *os.File of descriptor 2 must stay reachable: its finalizer
		// would close descriptor 2.
		fd2 = os.Stderr
		os.Stderr = f
		log.SetOutput(f)
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

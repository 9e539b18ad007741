package main

import (
	"os"
	"strconv"
	"syscall"
)

// openCapture opens a read end of the evaluator's descriptor 2, the pipe
// its interpreter captures standard error into. The supervisor never reads
// it while the evaluator lives; after a fatal error it holds what the
// runtime wrote there and nobody drained — the "fatal error: ..." line,
// which the runtime writes nowhere else. nil when it cannot be opened.
func openCapture(pid int) *os.File {
	f, err := os.OpenFile("/proc/"+strconv.Itoa(pid)+"/fd/2", os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil
	}
	return f
}

// evaluatorAttr makes the evaluator die with the supervisor, even when the
// supervisor is killed (a frontend's kernel manager may SIGKILL it): an
// orphaned evaluator would otherwise run on until it next reads its pipe.
func evaluatorAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

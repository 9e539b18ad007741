//go:build !linux

package main

import (
	"os"
	"syscall"
)

// openCapture needs Linux's /proc; elsewhere a death is named from the
// runtime's stack trace and the exit status only.
func openCapture(pid int) *os.File { return nil }

// evaluatorAttr: without Linux's parent-death signal, an orphaned
// evaluator ends when it finds its pipe closed.
func evaluatorAttr() *syscall.SysProcAttr { return nil }

package stdlib

// Helpers the generated tables of os and log name instead of functions
// that would end or inspect the kernel process, as yaegi's own tables do
// (after yaegi v0.16.1's stdlib/restricted.go, Apache License 2.0): a
// cell's os.Exit, log.Fatal* and Logger.Fatal* panic, which the kernel
// reports as the cell's error and survives (kernel/interp also replaces
// os.Exit by a panic naming the exit code).

import (
	"errors"
	"io"
	"log"
	"os"
	"strconv"
)

var errRestricted = errors.New("restricted: a cell cannot find the kernel's own process")

// osExit panics instead of exiting.
func osExit(code int) { panic("os.Exit(" + strconv.Itoa(code) + ")") }

// osFindProcess is os.FindProcess, except for the kernel's own process.
func osFindProcess(pid int) (*os.Process, error) {
	if pid == os.Getpid() {
		return nil, errRestricted
	}
	return os.FindProcess(pid)
}

// logFatal, logFatalf and logFatalln panic instead of exiting.
func logFatal(v ...any)            { log.Panic(v...) }
func logFatalf(f string, v ...any) { log.Panicf(f, v...) }
func logFatalln(v ...any)          { log.Panicln(v...) }

// logLogger is log.Logger whose Fatal methods panic instead of exiting.
type logLogger struct {
	l *log.Logger
}

// logNew is log.New returning a logLogger.
func logNew(out io.Writer, prefix string, flag int) *logLogger {
	return &logLogger{log.New(out, prefix, flag)}
}

func (l *logLogger) Fatal(v ...any)               { l.l.Panic(v...) }
func (l *logLogger) Fatalf(f string, v ...any)    { l.l.Panicf(f, v...) }
func (l *logLogger) Fatalln(v ...any)             { l.l.Panicln(v...) }
func (l *logLogger) Flags() int                   { return l.l.Flags() }
func (l *logLogger) Output(d int, s string) error { return l.l.Output(d, s) }
func (l *logLogger) Panic(v ...any)               { l.l.Panic(v...) }
func (l *logLogger) Panicf(f string, v ...any)    { l.l.Panicf(f, v...) }
func (l *logLogger) Panicln(v ...any)             { l.l.Panicln(v...) }
func (l *logLogger) Prefix() string               { return l.l.Prefix() }
func (l *logLogger) Print(v ...any)               { l.l.Print(v...) }
func (l *logLogger) Printf(f string, v ...any)    { l.l.Printf(f, v...) }
func (l *logLogger) Println(v ...any)             { l.l.Println(v...) }
func (l *logLogger) SetFlags(flag int)            { l.l.SetFlags(flag) }
func (l *logLogger) SetOutput(w io.Writer)        { l.l.SetOutput(w) }
func (l *logLogger) SetPrefix(prefix string)      { l.l.SetPrefix(prefix) }
func (l *logLogger) Writer() io.Writer            { return l.l.Writer() }

package interp

import (
	"fmt"
	"os"
	"reflect"
	"sync"

	"github.com/qlab-dev/qlab/kernel/cell"
	yaegi "github.com/traefik/yaegi/interp"
)

// cellStdin is os.Stdin as cells see it, and what fmt.Scan, Scanln and
// Scanf read: each read that finds nothing buffered asks the frontend for
// a line (an input_request, through kernel/cell's binding of the running
// cell), like input() in IPython. When the frontend does not accept input
// (allow_stdin false) the read fails with an error saying so, also written
// once to the cell's standard error since scanning code often drops it.
// Interrupting the cell ends a pending read. What a cell leaves unread is
// dropped when the next cell starts.
type cellStdin struct {
	in *Interpreter

	mu     sync.Mutex
	buf    []byte
	warned *cellState // the cell told that input is not available
}

func (s *cellStdin) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.buf) == 0 {
		line, err := cell.Input("")
		if err != nil {
			if ctx := cell.Context(); ctx.Err() != nil {
				err = fmt.Errorf("os.Stdin: read interrupted: %w", ctx.Err())
			} else {
				err = fmt.Errorf("os.Stdin: %w", err)
			}
			s.warn(err)
			return 0, err
		}
		s.buf = append([]byte(line), '\n')
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}

// warn writes err to the running cell's standard error, once per cell.
func (s *cellStdin) warn(err error) {
	in := s.in
	in.cellMu.Lock()
	c := in.cell
	in.cellMu.Unlock()
	if c == nil || s.warned == c {
		return
	}
	s.warned = c
	c.out.Stream("stderr", err.Error()+"\n")
}

// reset drops what the previous cell left unread.
func (s *cellStdin) reset() {
	s.mu.Lock()
	s.buf = nil
	s.mu.Unlock()
}

// The methods of *os.File that code given os.Stdin commonly calls.

// Fd is the process's standard input descriptor.
func (s *cellStdin) Fd() uintptr { return os.Stdin.Fd() }

// Name is os.Stdin's name.
func (s *cellStdin) Name() string { return os.Stdin.Name() }

// Stat is os.Stdin's Stat.
func (s *cellStdin) Stat() (os.FileInfo, error) { return os.Stdin.Stat() }

// Close does nothing: the cells' standard input stays open.
func (s *cellStdin) Close() error { return nil }

// withStdin returns exports with os.Stdin in's cellStdin (yaegi points
// fmt.Scan, Scanln and Scanf at it, its Options.Stdin, but keeps os.Stdin
// unless it is an *os.File).
func withStdin(exports yaegi.Exports, in *Interpreter) yaegi.Exports {
	if osSyms, ok := exports["os/os"]; ok {
		cp := make(map[string]reflect.Value, len(osSyms))
		for k, v := range osSyms {
			cp[k] = v
		}
		stdin := in.stdin
		cp["Stdin"] = reflect.ValueOf(&stdin).Elem()
		exports["os/os"] = cp
	}
	return exports
}

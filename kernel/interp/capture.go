package interp

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"
)

// captureActive guards the process-wide file descriptors 1 and 2: only one
// Interpreter at a time may capture them.
var captureActive atomic.Bool

// capture redirects file descriptors 1 and 2 into pipes and forwards what
// arrives to the running cell's stream, or to the original descriptors when
// no cell runs (kernel logging between cells stays visible).
type capture struct {
	origOut, origErr *os.File // dups of the descriptors 1 and 2 found at start
	streams          [2]*stream
	seq              atomic.Uint64
}

// stream is one captured descriptor.
type stream struct {
	name string   // "stdout" or "stderr"
	fd   int      // 1 or 2
	orig *os.File // where text goes when no cell runs
	r, w *os.File // the pipe; w is dup2'ed onto fd

	mu      sync.Mutex
	sink    func(name, text string) // the running cell's Output.Stream
	pending []byte                  // read but not yet forwarded
	waiters map[string]chan struct{}
	done    chan struct{} // closed when the reader exits

	lastRead atomic.Int64 // when the reader last read, in Unix nanoseconds
}

func startCapture() (*capture, error) {
	if !captureActive.CompareAndSwap(false, true) {
		return nil, errors.New("interp: file descriptors 1 and 2 are already captured by another Interpreter")
	}
	c := &capture{}
	ok := false
	defer func() {
		if !ok {
			c.restore()
			captureActive.Store(false)
		}
	}()
	for i, name := range []string{"stdout", "stderr"} {
		fd := i + 1
		dup, err := dupFD(fd)
		if err != nil {
			return nil, fmt.Errorf("interp: saving fd %d: %w", fd, err)
		}
		orig := os.NewFile(uintptr(dup), "orig-"+name)
		r, w, err := os.Pipe()
		if err != nil {
			orig.Close()
			return nil, fmt.Errorf("interp: capturing %s: %w", name, err)
		}
		if err := dup2(int(w.Fd()), fd); err != nil {
			orig.Close()
			r.Close()
			w.Close()
			return nil, fmt.Errorf("interp: redirecting fd %d: %w", fd, err)
		}
		s := &stream{name: name, fd: fd, orig: orig, r: r, w: w, waiters: map[string]chan struct{}{}, done: make(chan struct{})}
		c.streams[i] = s
		if fd == 1 {
			c.origOut = orig
		} else {
			c.origErr = orig
		}
		go s.read()
	}
	ok = true
	return c, nil
}

// setSink directs both streams to sink (nil: the original descriptors).
func (c *capture) setSink(sink func(name, text string)) {
	for _, s := range c.streams {
		s.mu.Lock()
		s.sink = sink
		s.mu.Unlock()
	}
}

// flush waits until everything written to descriptors 1 and 2 before the
// call has been forwarded, by writing a marker through each pipe and waiting
// for the reader to reach it. It gives up when the reader has made no
// progress for idle (a writer that never lets the marker through cannot
// hang the kernel, while a long burst still being forwarded is waited for).
func (c *capture) flush(idle time.Duration) {
	start := time.Now()
	// A writer that keeps the pipe full forever must not hold the cell
	// open: past this the flush gives up even while output moves.
	end := start.Add(15 * idle)
	for _, s := range c.streams {
		marker := "\x00qlab-flush-" + strconv.FormatUint(c.seq.Add(1), 10) + "\x00"
		ch := make(chan struct{})
		s.mu.Lock()
		s.waiters[marker] = ch
		s.mu.Unlock()
		// Through the descriptor, not the pipe's own *os.File, so that the
		// marker is ordered after every earlier write to the descriptor.
		// The descriptor may be non-blocking (the kernel makes descriptor
		// 2 so, for fatal errors): a full pipe is waited out while the
		// reader drains it.
		err := writeFD(s.fd, []byte(marker))
		for errors.Is(err, syscall.EAGAIN) && s.progressed(start, end, idle) {
			err = writeFD(s.fd, []byte(marker))
		}
		if err != nil {
			s.mu.Lock()
			delete(s.waiters, marker)
			s.mu.Unlock()
			continue
		}
		for done := false; !done; {
			select {
			case <-ch:
				done = true
			case <-time.After(idle / 20):
				if !s.progressed(start, end, idle) {
					return
				}
			}
		}
	}
}

// progressed waits a little and reports whether the flush should go on:
// before end, the reader has read something in the last idle (counting
// from start, when the flush began).
func (s *stream) progressed(start, end time.Time, idle time.Duration) bool {
	time.Sleep(time.Millisecond)
	last := time.Unix(0, s.lastRead.Load())
	if last.Before(start) {
		last = start
	}
	return time.Now().Before(end) && time.Since(last) < idle
}

// read forwards what arrives on the pipe until it is closed.
func (s *stream) read() {
	defer close(s.done)
	buf := make([]byte, 32<<10)
	for {
		n, err := s.r.Read(buf)
		if n > 0 {
			s.lastRead.Store(time.Now().UnixNano())
			s.mu.Lock()
			s.pending = append(s.pending, buf[:n]...)
			s.forward(false)
			s.mu.Unlock()
		}
		if err != nil {
			s.mu.Lock()
			s.forward(true)
			s.mu.Unlock()
			return
		}
	}
}

// forward sends pending text to the sink, stopping at flush markers (whose
// waiters it wakes) and holding back what may be the start of a marker or of
// a multi-byte UTF-8 character split across reads. s.mu is held.
func (s *stream) forward(final bool) {
	for {
		i := bytes.IndexByte(s.pending, 0)
		if i < 0 {
			break
		}
		s.emit(s.pending[:i])
		rest := s.pending[i:]
		j := bytes.IndexByte(rest[1:], 0)
		if j < 0 {
			if final || len(rest) > 64 {
				// Not a marker: a NUL byte written by the cell.
				s.emit(rest[:1])
				s.pending = rest[1:]
				continue
			}
			s.pending = rest
			return
		}
		tok := string(rest[:j+2])
		if ch, ok := s.waiters[tok]; ok {
			delete(s.waiters, tok)
			close(ch)
			s.pending = rest[j+2:]
			continue
		}
		s.emit(rest[:1])
		s.pending = rest[1:]
	}
	keep := 0
	if !final {
		keep = incompleteUTF8(s.pending)
	}
	s.emit(s.pending[:len(s.pending)-keep])
	s.pending = append(s.pending[:0], s.pending[len(s.pending)-keep:]...)
}

func (s *stream) emit(b []byte) {
	if len(b) == 0 {
		return
	}
	if s.sink != nil {
		s.sink(s.name, string(b))
		return
	}
	s.orig.Write(b)
}

// incompleteUTF8 returns how many bytes at the end of b are the start of a
// UTF-8 sequence whose remaining bytes have not arrived.
func incompleteUTF8(b []byte) int {
	for k := 1; k <= 3 && k <= len(b); k++ {
		c := b[len(b)-k]
		if c < 0x80 {
			return 0
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRune(b[len(b)-k:]) {
				return k
			}
			return 0
		}
	}
	return 0
}

// restore puts the original descriptors back and stops the readers.
func (c *capture) restore() {
	for _, s := range c.streams {
		if s == nil {
			continue
		}
		dup2(int(s.orig.Fd()), s.fd)
		s.w.Close()
		select {
		case <-s.done:
		case <-time.After(time.Second):
		}
		s.r.Close()
		s.orig.Close()
	}
}

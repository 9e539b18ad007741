package main

import (
	"bufio"
	binenc "encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// The supervisor and the evaluator process exchange whole ZeroMQ messages
// over one Unix socket pair: a channel byte, the frame count, then each
// frame's length and bytes (big-endian uint32s).

// Channels of the pipe between supervisor and evaluator.
const (
	chShell byte = iota
	chControl
	chStdin
	chIOPub
	nChannels
)

// maxPipeMessage bounds a message read from the pipe. The evaluator is the
// kernel's own process, but a corrupt stream must not allocate without
// bound either.
const maxPipeMessage = 1 << 30

var errPipeClosed = errors.New("qlab-kernel: evaluator pipe closed")

func writeMux(w *bufio.Writer, ch byte, frames [][]byte) error {
	var hdr [5]byte
	hdr[0] = ch
	binenc.BigEndian.PutUint32(hdr[1:], uint32(len(frames)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	for _, f := range frames {
		var n [4]byte
		binenc.BigEndian.PutUint32(n[:], uint32(len(f)))
		w.Write(n[:])
		if _, err := w.Write(f); err != nil {
			return err
		}
	}
	return w.Flush()
}

func readMux(r *bufio.Reader) (byte, [][]byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	ch, n := hdr[0], binenc.BigEndian.Uint32(hdr[1:])
	if ch >= nChannels || n > 1<<16 {
		return 0, nil, fmt.Errorf("qlab-kernel: corrupt evaluator pipe (channel %d, %d frames)", ch, n)
	}
	frames := make([][]byte, n)
	total := 0
	for i := range frames {
		var l [4]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return 0, nil, err
		}
		size := int(binenc.BigEndian.Uint32(l[:]))
		if total += size; total > maxPipeMessage {
			return 0, nil, fmt.Errorf("qlab-kernel: evaluator pipe message over %d bytes", maxPipeMessage)
		}
		frames[i] = make([]byte, size)
		if _, err := io.ReadFull(r, frames[i]); err != nil {
			return 0, nil, err
		}
	}
	return ch, frames, nil
}

// mux is one end of the pipe: writes are serialized, reads are sorted into
// a queue per channel so that a busy shell never holds up control.
type mux struct {
	wmu sync.Mutex
	w   *bufio.Writer
	c   io.Closer

	mu     sync.Mutex
	cond   *sync.Cond
	queues [nChannels][][][]byte
	err    error         // set when the pipe ends
	done   chan struct{} // closed when the pipe ends
}

func newMux(rw io.ReadWriteCloser) *mux {
	m := &mux{w: bufio.NewWriterSize(rw, 64<<10), c: rw, done: make(chan struct{})}
	m.cond = sync.NewCond(&m.mu)
	go m.read(bufio.NewReaderSize(rw, 64<<10))
	return m
}

func (m *mux) read(r *bufio.Reader) {
	for {
		ch, frames, err := readMux(r)
		m.mu.Lock()
		if err != nil {
			if m.err == nil {
				m.err = errPipeClosed
			}
			m.cond.Broadcast()
			m.mu.Unlock()
			close(m.done)
			return
		}
		m.queues[ch] = append(m.queues[ch], frames)
		m.cond.Broadcast()
		m.mu.Unlock()
	}
}

func (m *mux) recv(ch byte) ([][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for len(m.queues[ch]) == 0 && m.err == nil {
		m.cond.Wait()
	}
	if len(m.queues[ch]) == 0 {
		return nil, m.err
	}
	f := m.queues[ch][0]
	m.queues[ch][0] = nil
	m.queues[ch] = m.queues[ch][1:]
	return f, nil
}

func (m *mux) send(ch byte, frames [][]byte) error {
	m.wmu.Lock()
	defer m.wmu.Unlock()
	return writeMux(m.w, ch, frames)
}

func (m *mux) close() error {
	m.mu.Lock()
	if m.err == nil {
		m.err = errPipeClosed
	}
	m.cond.Broadcast()
	m.mu.Unlock()
	return m.c.Close()
}

// muxSocket is one channel of the pipe as a jupyter.Socket (the evaluator
// side).
type muxSocket struct {
	m  *mux
	ch byte
}

func (s muxSocket) Recv() ([][]byte, error)    { return s.m.recv(s.ch) }
func (s muxSocket) Send(frames [][]byte) error { return s.m.send(s.ch, frames) }
func (s muxSocket) Close() error               { return s.m.close() }

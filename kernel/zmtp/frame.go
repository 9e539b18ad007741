package zmtp

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Frame flag bits (RFC 23 §2.5).
const (
	flagMore    = 0x01
	flagLong    = 0x02
	flagCommand = 0x04
)

// Errors a connection ends with.
var (
	ErrTooLarge    = errors.New("zmtp: message larger than the limit")
	ErrTooManyPart = errors.New("zmtp: message has more frames than the limit")
	ErrProtocol    = errors.New("zmtp: protocol error")
	ErrEvicted     = errors.New("zmtp: connection dropped to keep received bytes within the budget")
)

// chunk is how many bytes of a frame are read (and allocated) at a time:
// a frame's buffer never runs more than this ahead of the bytes received.
const chunk = 64 << 10

// frameOverhead is what one frame costs beyond its bytes (the slice header
// and allocation rounding), charged to the budget so that a flood of empty
// frames is bounded too.
const frameOverhead = 64

// reader reads ZMTP frames with limits. charge is called with the bytes
// about to be allocated; an error from it ends the read.
type reader struct {
	r         *bufio.Reader
	maxBytes  int // bound on one message: its frames' bytes plus overhead
	maxFrames int
	charge    func(n int) error
	release   func(n int)
}

// readMessage reads one message or command: its frames, and whether it is
// a command (a command is one frame). It allocates no more than the bytes
// that arrived plus one chunk, and rejects a declared size that would take
// the message past maxBytes before allocating anything for it.
func (rd *reader) readMessage() (frames [][]byte, command bool, err error) {
	total := 0
	for {
		var hdr [9]byte
		if _, err := io.ReadFull(rd.r, hdr[:1]); err != nil {
			return nil, false, err
		}
		flags := hdr[0]
		if flags&^(flagMore|flagLong|flagCommand) != 0 {
			return nil, false, fmt.Errorf("%w: frame flags %#02x", ErrProtocol, flags)
		}
		var size uint64
		if flags&flagLong != 0 {
			if _, err := io.ReadFull(rd.r, hdr[1:9]); err != nil {
				return nil, false, err
			}
			size = binary.BigEndian.Uint64(hdr[1:9])
		} else {
			if _, err := io.ReadFull(rd.r, hdr[1:2]); err != nil {
				return nil, false, err
			}
			size = uint64(hdr[1])
		}
		isCmd := flags&flagCommand != 0
		if isCmd && (len(frames) > 0 || flags&flagMore != 0) {
			return nil, false, fmt.Errorf("%w: command frame inside a message", ErrProtocol)
		}
		if size > uint64(rd.maxBytes-total-frameOverhead) || total+frameOverhead > rd.maxBytes {
			return nil, false, fmt.Errorf("%w: frame of %d bytes after %d (limit %d)", ErrTooLarge, size, total, rd.maxBytes)
		}
		if len(frames) >= rd.maxFrames {
			return nil, false, fmt.Errorf("%w (%d)", ErrTooManyPart, rd.maxFrames)
		}
		if err := rd.charge(frameOverhead); err != nil {
			return nil, false, err
		}
		total += frameOverhead
		f, err := rd.readFrame(int(size))
		total += len(f)
		if err != nil {
			return nil, false, err
		}
		frames = append(frames, f)
		if isCmd {
			return frames, true, nil
		}
		if flags&flagMore == 0 {
			return frames, false, nil
		}
	}
}

// readFrame reads a frame body of n bytes. Its buffer starts at one chunk
// and doubles only when the bytes received fill it, so it is never more
// than twice what arrived plus a chunk; every allocation is charged first.
func (rd *reader) readFrame(n int) ([]byte, error) {
	first := min(n, chunk)
	if err := rd.charge(first); err != nil {
		return nil, err
	}
	buf := make([]byte, 0, first)
	for len(buf) < n {
		if len(buf) == cap(buf) {
			// The old buffer is garbage once copied: the budget counts the
			// live one.
			c := min(n, 2*cap(buf))
			rd.release(cap(buf))
			if err := rd.charge(c); err != nil {
				return nil, err
			}
			nb := make([]byte, len(buf), c)
			copy(nb, buf)
			buf = nb
		}
		m, err := rd.r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return buf, nil
}

// writeFrame appends one frame to w.
func writeFrame(w *bufio.Writer, body []byte, more, command bool) error {
	var flags byte
	if more {
		flags |= flagMore
	}
	if command {
		flags |= flagCommand
	}
	if len(body) > 255 {
		var hdr [9]byte
		hdr[0] = flags | flagLong
		binary.BigEndian.PutUint64(hdr[1:], uint64(len(body)))
		if _, err := w.Write(hdr[:]); err != nil {
			return err
		}
	} else if _, err := w.Write([]byte{flags, byte(len(body))}); err != nil {
		return err
	}
	_, err := w.Write(body)
	return err
}

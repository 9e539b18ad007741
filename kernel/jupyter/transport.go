package jupyter

import "errors"

// Socket is what the kernel needs of a ZeroMQ socket: whole multipart
// messages in and out. Send may be called from several goroutines at once
// (shell, control and a running cell all publish on IOPub). Close makes a
// blocked Recv return an error.
//
// The kernel does not bind sockets itself: kernel/zmtp provides the
// network transport, tests substitute in-memory sockets, and a supervised
// kernel process reaches its supervisor's sockets through a pipe.
type Socket interface {
	Recv() ([][]byte, error)
	Send(frames [][]byte) error
	Close() error
}

// Sockets are the kernel's four message sockets. The heartbeat carries no
// Jupyter messages and is the transport's business.
type Sockets struct {
	Shell, Control, Stdin, IOPub Socket
}

func (s Sockets) close() error {
	var errs []error
	for _, k := range []Socket{s.Shell, s.Control, s.Stdin, s.IOPub} {
		if k != nil {
			errs = append(errs, k.Close())
		}
	}
	return errors.Join(errs...)
}

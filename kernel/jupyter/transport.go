package jupyter

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sync"

	"github.com/go-zeromq/zmq4"
)

// socket is what the kernel needs of a ZeroMQ socket: whole multipart
// messages in and out. Tests substitute an in-memory implementation.
type socket interface {
	Recv() ([][]byte, error)
	Send(frames [][]byte) error
	Close() error
}

// zsocket adapts a zmq4.Socket; Send is serialized because several
// goroutines (shell, control, a running cell) publish on IOPub.
type zsocket struct {
	mu sync.Mutex
	s  zmq4.Socket
}

func (z *zsocket) Recv() ([][]byte, error) {
	m, err := z.s.Recv()
	if err != nil {
		return nil, err
	}
	return m.Frames, nil
}

func (z *zsocket) Send(frames [][]byte) error {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.s.SendMulti(zmq4.NewMsgFrom(frames...))
}

func (z *zsocket) Close() error { return z.s.Close() }

// sockets are the kernel's four message sockets; the heartbeat is served
// apart because it carries no Jupyter messages.
type sockets struct {
	shell, control, stdin, iopub socket
}

func (s sockets) close() error {
	var errs []error
	for _, k := range []socket{s.shell, s.control, s.stdin, s.iopub} {
		if k != nil {
			errs = append(errs, k.Close())
		}
	}
	return errors.Join(errs...)
}

// listen binds the five sockets of ci. hb is the heartbeat socket, which the
// caller echoes.
// zmq4 logs through logger; its default is a logger on os.Stderr, which
// would land in a cell's output while descriptor 2 is captured.
func listen(ctx context.Context, ci ConnectionInfo, logger *log.Logger) (socks sockets, hb zmq4.Socket, err error) {
	bind := func(s zmq4.Socket, name string, port int) error {
		if err := s.Listen(ci.Endpoint(port)); err != nil {
			return fmt.Errorf("jupyter: %s socket on %s: %w", name, ci.Endpoint(port), err)
		}
		return nil
	}
	opt := zmq4.WithLogger(logger)
	shell, control, stdin := zmq4.NewRouter(ctx, opt), zmq4.NewRouter(ctx, opt), zmq4.NewRouter(ctx, opt)
	iopub := zmq4.NewPub(ctx, opt)
	hb = zmq4.NewRep(ctx, opt)
	all := []zmq4.Socket{shell, control, stdin, iopub, hb}
	for i, b := range []struct {
		s    zmq4.Socket
		name string
		port int
	}{{shell, "shell", ci.ShellPort}, {control, "control", ci.ControlPort}, {stdin, "stdin", ci.StdinPort},
		{iopub, "iopub", ci.IOPubPort}, {hb, "heartbeat", ci.HBPort}} {
		if err := bind(b.s, b.name, b.port); err != nil {
			for _, s := range all[:i+1] {
				s.Close()
			}
			return sockets{}, nil, err
		}
	}
	return sockets{shell: &zsocket{s: shell}, control: &zsocket{s: control}, stdin: &zsocket{s: stdin},
		iopub: &zsocket{s: iopub}}, hb, nil
}

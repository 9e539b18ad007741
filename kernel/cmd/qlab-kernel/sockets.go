package main

import (
	"context"
	"fmt"
	"log"
	"sync"
	"time"

	"github.com/go-zeromq/zmq4"

	"github.com/qlab-dev/qlab/kernel/jupyter"
)

// zsocket adapts a zmq4.Socket to jupyter.Socket; Send is serialized
// because several goroutines publish on IOPub.
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

// listen binds the five sockets of ci and echoes the heartbeat until ctx
// ends. zmq4 logs through logger; its default is a logger on os.Stderr,
// which would land in a cell's output while descriptor 2 is captured.
func listen(ctx context.Context, ci jupyter.ConnectionInfo, logger *log.Logger) (jupyter.Sockets, error) {
	opt := zmq4.WithLogger(logger)
	shell, control, stdin := zmq4.NewRouter(ctx, opt), zmq4.NewRouter(ctx, opt), zmq4.NewRouter(ctx, opt)
	iopub := zmq4.NewPub(ctx, opt)
	hb := zmq4.NewRep(ctx, opt)
	all := []zmq4.Socket{shell, control, stdin, iopub, hb}
	for i, b := range []struct {
		s    zmq4.Socket
		name string
		port int
	}{{shell, "shell", ci.ShellPort}, {control, "control", ci.ControlPort}, {stdin, "stdin", ci.StdinPort},
		{iopub, "iopub", ci.IOPubPort}, {hb, "heartbeat", ci.HBPort}} {
		if err := b.s.Listen(ci.Endpoint(b.port)); err != nil {
			for _, s := range all[:i+1] {
				s.Close()
			}
			return jupyter.Sockets{}, fmt.Errorf("%s socket on %s: %w", b.name, ci.Endpoint(b.port), err)
		}
	}
	go func() {
		defer hb.Close()
		for {
			m, err := hb.Recv()
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				logger.Printf("heartbeat: %v", err)
				time.Sleep(10 * time.Millisecond)
				continue
			}
			if err := hb.Send(m); err != nil && ctx.Err() == nil {
				logger.Printf("heartbeat: %v", err)
			}
		}
	}()
	return jupyter.Sockets{Shell: &zsocket{s: shell}, Control: &zsocket{s: control}, Stdin: &zsocket{s: stdin},
		IOPub: &zsocket{s: iopub}}, nil
}

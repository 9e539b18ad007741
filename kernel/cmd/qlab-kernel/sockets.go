package main

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/qlab-dev/qlab/kernel/jupyter"
	"github.com/qlab-dev/qlab/kernel/zmtp"
)

// listen binds the five sockets of ci on kernel/zmtp and echoes the
// heartbeat until ctx ends. The sockets share one receive budget, so that
// all that peers send before their messages are authenticated stays within
// zmtp.DefaultBudget (64 MiB).
func listen(ctx context.Context, ci jupyter.ConnectionInfo, logger *log.Logger) (jupyter.Sockets, error) {
	opt := zmtp.Options{Budget: zmtp.NewBudget(0), Log: logger}
	specs := []struct {
		t    zmtp.Type
		name string
		port int
	}{{zmtp.Router, "shell", ci.ShellPort}, {zmtp.Router, "control", ci.ControlPort},
		{zmtp.Router, "stdin", ci.StdinPort}, {zmtp.Pub, "iopub", ci.IOPubPort}, {zmtp.Rep, "heartbeat", ci.HBPort}}
	var s []*zmtp.Socket
	for _, sp := range specs {
		k, err := zmtp.Listen(sp.t, ci.Endpoint(sp.port), opt)
		if err != nil {
			for _, k := range s {
				k.Close()
			}
			return jupyter.Sockets{}, fmt.Errorf("%s socket on %s: %w", sp.name, ci.Endpoint(sp.port), err)
		}
		s = append(s, k)
	}
	hb := s[4]
	go func() {
		<-ctx.Done()
		hb.Close()
	}()
	go func() {
		for {
			m, err := hb.Recv()
			if err != nil {
				if !errors.Is(err, zmtp.ErrClosed) {
					logger.Printf("heartbeat: %v", err)
				}
				return
			}
			hb.Send(m)
		}
	}()
	return jupyter.Sockets{Shell: s[0], Control: s[1], Stdin: s[2], IOPub: s[3]}, nil
}

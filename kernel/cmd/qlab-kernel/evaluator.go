package main

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/qlab-dev/qlab/kernel/interp"
	"github.com/qlab-dev/qlab/kernel/jupyter"
	"github.com/qlab-dev/qlab/qlab/display/widget"
)

// evaluatorFD is the descriptor on which the evaluator process finds its
// end of the supervisor's socket pair.
const evaluatorFD = 3

// cmdEvaluator is the process the supervisor starts (qlab-kernel evaluator
// CONNECTION_FILE): it runs cells and serves the Jupyter protocol over the
// socket pair on descriptor 3, through which the supervisor relays the
// frontend's sockets. It reads the connection file only for the key.
func cmdEvaluator(connFile string) int {
	ci, err := jupyter.ReadConnectionFile(connFile)
	if err != nil {
		fmt.Fprintf(os.Stderr, "qlab-kernel evaluator: %v\n", err)
		return 1
	}
	f := os.NewFile(evaluatorFD, "supervisor")
	conn, err := net.FileConn(f)
	f.Close()
	if err != nil {
		fmt.Fprintf(os.Stderr, "qlab-kernel evaluator: descriptor %d is not the supervisor's socket: %v\n", evaluatorFD, err)
		return 1
	}
	// Capture descriptors 1 and 2 so that what compiled code prints reaches
	// the cell; the kernel's own log goes to the original stderr, which the
	// supervisor reads.
	ev, err := interp.New(interp.Options{CaptureFD: true})
	if err != nil {
		fmt.Fprintf(os.Stderr, "qlab-kernel evaluator: %v\n", err)
		return 1
	}
	defer ev.Close()
	logw := ev.Stderr()
	logger := log.New(logw, "qlab-kernel: ", 0)
	if orig, ok := logw.(*os.File); ok {
		unblockFatalErrors(orig, logger)
	}
	limitMemory(logger)
	m := newMux(conn)
	k := jupyter.NewKernel(ev, jupyter.Config{Log: logw, ImplementationVersion: version(), Key: []byte(ci.Key)})
	// Jupyter widgets: the frontend's comms on the widget targets reach
	// the widget models, which send through the kernel's comms.
	k.RegisterCommTarget(widget.Target, widget.Handler{})
	k.RegisterCommTarget(widget.ControlTarget, widget.Handler{})
	widget.Attach(k.Comms())
	widget.SetLog(logw)
	defer widget.Attach(nil)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// The supervisor is gone: nothing can reach this process any more.
		<-m.done
		cancel()
	}()
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		for s := range sigs {
			if s == os.Interrupt {
				k.Interrupt()
				continue
			}
			cancel()
		}
	}()
	socks := jupyter.Sockets{Shell: muxSocket{m, chShell}, Control: muxSocket{m, chControl},
		Stdin: muxSocket{m, chStdin}, IOPub: muxSocket{m, chIOPub}}
	if err := k.Serve(ctx, socks); err != nil {
		logger.Print(err)
		return 1
	}
	return 0
}

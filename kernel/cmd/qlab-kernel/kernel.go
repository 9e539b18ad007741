package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/qlab-dev/qlab/kernel/interp"
	"github.com/qlab-dev/qlab/kernel/jupyter"
	"github.com/qlab-dev/qlab/qlab/display/widget"
)

func cmdKernel(connFile string) int {
	ci, err := jupyter.ReadConnectionFile(connFile)
	if err != nil {
		fmt.Fprintf(os.Stderr, "qlab-kernel: %v\n", err)
		return 1
	}
	// Capture descriptors 1 and 2 so that what compiled code prints reaches
	// the cell; the kernel's own log goes to the original stderr.
	ev, err := interp.New(interp.Options{CaptureFD: true})
	if err != nil {
		fmt.Fprintf(os.Stderr, "qlab-kernel: %v\n", err)
		return 1
	}
	defer ev.Close()
	logw := ev.Stderr()
	logger := log.New(logw, "qlab-kernel: ", 0)
	if orig, ok := logw.(*os.File); ok {
		unblockFatalErrors(orig, logger)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	socks, err := listen(ctx, ci, logger)
	if err != nil {
		logger.Print(err)
		return 1
	}
	k := jupyter.NewKernel(ev, jupyter.Config{Log: logw, ImplementationVersion: version(), Key: []byte(ci.Key)})
	// Jupyter widgets: the frontend's comms on the widget targets reach
	// the widget models, which send through the kernel's comms.
	k.RegisterCommTarget(widget.Target, widget.Handler{})
	k.RegisterCommTarget(widget.ControlTarget, widget.Handler{})
	widget.Attach(k.Comms())
	widget.SetLog(logw)
	defer widget.Attach(nil)
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
	if err := k.Serve(ctx, socks); err != nil {
		logger.Print(err)
		return 1
	}
	return 0
}

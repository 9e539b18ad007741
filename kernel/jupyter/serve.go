package jupyter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Serve serves requests on socks until a shutdown_request arrives or ctx is
// cancelled, then closes socks. It returns nil after a shutdown;
// RestartRequested then says whether the frontend asked for a restart (the
// process should exit either way: the frontend starts a new one).
func (k *Kernel) Serve(ctx context.Context, socks Sockets) error {
	if socks.Shell == nil || socks.Control == nil || socks.Stdin == nil || socks.IOPub == nil {
		return errors.New("jupyter: Serve needs all four sockets")
	}
	return k.serve(ctx, socks)
}

// serve runs the kernel on already-bound sockets until shutdown or ctx ends.
func (k *Kernel) serve(ctx context.Context, socks Sockets) error {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	k.mu.Lock()
	k.socks, k.stop = socks, stop
	k.mu.Unlock()

	k.publish(nil, Status, StatusContent{StateStarting})

	var readers, handlers sync.WaitGroup
	readers.Go(func() {
		k.readLoop(ctx, "shell", socks.Shell, func(q *queued) {
			select {
			case k.shellQ <- q:
			case <-ctx.Done():
			}
		})
	})
	readers.Go(func() {
		k.readLoop(ctx, "control", socks.Control, func(q *queued) { k.dispatch(ctx, socks.Control, q, false) })
	})
	readers.Go(func() {
		k.readLoop(ctx, "stdin", socks.Stdin, func(q *queued) {
			if q.err != nil {
				k.log.Printf("stdin: dropped message: %v", q.err)
				return
			}
			if q.msg.Header.MsgType != InputReply {
				k.log.Printf("stdin: ignored %s", q.msg.Header.MsgType)
				return
			}
			select {
			case k.stdinCh <- q.msg:
			default:
				k.log.Printf("stdin: dropped input_reply nobody waits for")
			}
		})
	})
	handlers.Go(func() {
		for {
			select {
			case q := <-k.shellQ:
				if k.abortable(q) {
					k.abort(socks.Shell, q.msg)
					continue
				}
				k.dispatch(ctx, socks.Shell, q, true)
			case <-ctx.Done():
				return
			}
		}
	})

	<-ctx.Done()
	k.Interrupt()
	// A cell that ignores its context must not keep the process alive
	// forever: give it a moment, then close the sockets regardless.
	done := make(chan struct{})
	go func() { handlers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		k.log.Printf("shutdown: a cell did not stop within 2s")
	}
	err := socks.close()
	readers.Wait()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		k.log.Printf("closing sockets: %v", err)
	}
	return nil
}

// readLoop receives messages from one socket, decodes them, and passes
// them on; bad signatures are logged and dropped.
func (k *Kernel) readLoop(ctx context.Context, name string, s Socket, handle func(*queued)) {
	for {
		frames, err := s.Recv()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			k.log.Printf("%s: receive: %v", name, err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		m, err := Decode(frames, k.signer, k.cfg.MaxMessageBytes)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				de = &DecodeError{Err: err}
			}
			if errors.Is(err, ErrBadSignature) || de.Header == nil {
				k.log.Printf("%s: dropped message: %v", name, err)
				continue
			}
			handle(&queued{err: de, arrived: time.Now()})
			continue
		}
		handle(&queued{msg: m, arrived: time.Now()})
	}
}

// reply sends content as the reply to req, on req's Socket, to req's
// identities.
func (k *Kernel) reply(sock Socket, req *Message, content any) {
	if err := k.send(sock, req.Identities, req, req.Header.MsgType.Reply(), content); err != nil {
		k.log.Printf("%s: %v", req.Header.MsgType.Reply(), err)
	}
}

func (k *Kernel) replyError(sock Socket, req *Message, ename string, err error) {
	k.reply(sock, req, errorReply{Status: StatusError, ErrorContent: ErrorContent{
		Ename: ename, Evalue: err.Error(), Traceback: []string{ename + ": " + err.Error()}}})
}

// publish sends a message on IOPub with parent's header as parent header
// (none when parent is nil).
func (k *Kernel) publish(parent *Message, t MsgType, content any) {
	k.mu.Lock()
	iopub := k.socks.IOPub
	k.mu.Unlock()
	if iopub == nil {
		return
	}
	topic := [][]byte{[]byte("kernel." + k.session + "." + string(t))}
	if err := k.send(iopub, topic, parent, t, content); err != nil {
		k.log.Printf("iopub %s: %v", t, err)
	}
}

func (k *Kernel) send(s Socket, ids [][]byte, parent *Message, t MsgType, content any) error {
	c, err := json.Marshal(content)
	if err != nil {
		return fmt.Errorf("jupyter: encoding %s content: %w", t, err)
	}
	m := &Message{
		Identities: ids,
		Header: Header{MsgID: newID(), Session: k.session, Username: "qlab", Date: now(),
			MsgType: t, Version: ProtocolVersion},
		Content: c,
	}
	if parent != nil {
		m.ParentHeader = parent.rawHeader
	}
	frames, err := Encode(m, k.signer)
	if err != nil {
		return err
	}
	return s.Send(frames)
}

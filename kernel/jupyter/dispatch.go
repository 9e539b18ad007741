package jupyter

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/qlab-dev/qlab/qlab/display"
)

// dispatch answers one request, bracketed by status busy and idle on IOPub.
func (k *Kernel) dispatch(ctx context.Context, sock Socket, q *queued, shell bool) {
	if q.err != nil {
		m := &Message{Identities: q.err.Identities, Header: *q.err.Header, rawHeader: q.err.rawHeader}
		k.log.Printf("malformed %s: %v", m.Header.MsgType, q.err)
		if m.Header.MsgType.IsRequest() {
			k.publish(m, Status, StatusContent{StateBusy})
			k.replyError(sock, m, "MalformedMessage", q.err)
			k.publish(m, Status, StatusContent{StateIdle})
		}
		return
	}
	m := q.msg
	if shell {
		k.setCommParent(m) // comm.go: what comms send now answers m
	}
	k.publish(m, Status, StatusContent{StateBusy})
	var afterIdle func()
	defer func() {
		k.publish(m, Status, StatusContent{StateIdle})
		if afterIdle != nil {
			afterIdle()
		}
	}()
	defer func() {
		if r := recover(); r != nil {
			k.log.Printf("%s: panic: %v\n%s", m.Header.MsgType, r, debug.Stack())
			if m.Header.MsgType.IsRequest() {
				k.replyError(sock, m, "InternalError", fmt.Errorf("%v", r))
			}
		}
	}()
	switch t := m.Header.MsgType; t {
	case KernelInfoRequest:
		k.reply(sock, m, k.kernelInfo())
	case ExecuteRequest:
		if !shell {
			k.log.Printf("control: execute_request ignored (cells run on shell)")
			k.replyError(sock, m, "BadRequest", errors.New("jupyter: execute_request on control"))
			return
		}
		k.execute(ctx, sock, m)
	case CompleteRequest:
		k.complete(sock, m)
	case InspectRequest:
		k.inspect(sock, m)
	case IsCompleteRequest:
		var c IsCompleteRequestContent
		if err := decodeContent(m.Content, &c, "code"); err != nil || c.Code == nil {
			k.replyError(sock, m, "BadRequest", errOr(err, "jupyter: is_complete_request code is null"))
			return
		}
		status, indent := k.ev.IsComplete(*c.Code)
		switch status {
		case "complete", "incomplete", "invalid", "unknown":
		default:
			k.log.Printf("evaluator: is_complete status %q, reporting unknown", status)
			status = "unknown"
		}
		if status != "incomplete" {
			indent = ""
		}
		k.reply(sock, m, IsCompleteReplyContent{Status: status, Indent: indent})
	case HistoryRequest:
		var c HistoryRequestContent
		if err := decodeContent(m.Content, &c, "hist_access_type"); err != nil {
			k.replyError(sock, m, "BadRequest", err)
			return
		}
		h, err := k.hist.query(c)
		if err != nil {
			k.replyError(sock, m, "BadRequest", err)
			return
		}
		k.reply(sock, m, HistoryReplyContent{Status: StatusOK, History: h})
	case CommInfoRequest, CommOpen, CommMsg, CommClose:
		k.comm(sock, m)
	case InterruptRequest:
		k.Interrupt()
		k.reply(sock, m, statusReply{StatusOK})
	case ShutdownRequest:
		var c ShutdownContent
		if err := decodeContent(m.Content, &c); err != nil {
			k.replyError(sock, m, "BadRequest", err)
			return
		}
		rep := ShutdownContent{Status: StatusOK, Restart: c.Restart}
		k.reply(sock, m, rep)
		k.publish(m, ShutdownReply, rep)
		k.mu.Lock()
		k.restart = c.Restart
		afterIdle = k.stop
		k.mu.Unlock()
	default:
		// IPython ignores unknown requests with a log line; a reply of an
		// invented type would confuse clients more than silence.
		k.log.Printf("unknown message type %q ignored", t)
	}
}

func errOr(err error, msg string) error {
	if err != nil {
		return err
	}
	return errors.New(msg)
}

func (k *Kernel) kernelInfo() KernelInfoReplyContent { return KernelInfo(k.cfg) }

// KernelInfo is the kernel_info_reply content a Kernel with cfg sends. A
// supervisor that holds the sockets answers kernel_info_request with it
// while the evaluating process starts.
func KernelInfo(cfg Config) KernelInfoReplyContent {
	cfg = cfg.withDefaults()
	return KernelInfoReplyContent{
		Status:                StatusOK,
		ProtocolVersion:       ProtocolVersion,
		Implementation:        "qlab",
		ImplementationVersion: cfg.ImplementationVersion,
		LanguageInfo: LanguageInfo{
			Name:           "go",
			Version:        strings.TrimPrefix(runtime.Version(), "go"),
			MIMEType:       "text/x-go",
			FileExtension:  ".go",
			PygmentsLexer:  "go",
			CodemirrorMode: "go",
		},
		Banner:    cfg.Banner,
		HelpLinks: cfg.HelpLinks,
	}
}

// cursor returns the request's cursor position clamped to the code, in code
// points; a missing cursor means the end of the code, as in IPython.
func cursor(code string, pos *int) int {
	n := len([]rune(code))
	if pos == nil || *pos > n {
		return n
	}
	return max(*pos, 0)
}

func (k *Kernel) complete(sock Socket, m *Message) {
	var c CompleteRequestContent
	if err := decodeContent(m.Content, &c, "code"); err != nil {
		k.replyError(sock, m, "BadRequest", err)
		return
	}
	pos := cursor(c.Code, c.CursorPos)
	matches, start, end := k.ev.Complete(c.Code, pos)
	if matches == nil {
		matches = []string{}
	}
	if start < 0 || end < start || end > len([]rune(c.Code)) {
		start, end = pos, pos
	}
	k.reply(sock, m, CompleteReplyContent{Status: StatusOK, Matches: matches, CursorStart: start,
		CursorEnd: end, Metadata: map[string]any{}})
}

func (k *Kernel) inspect(sock Socket, m *Message) {
	var c InspectRequestContent
	if err := decodeContent(m.Content, &c, "code"); err != nil {
		k.replyError(sock, m, "BadRequest", err)
		return
	}
	d, found := k.ev.Inspect(c.Code, cursor(c.Code, c.CursorPos), c.DetailLevel)
	if !found {
		d = display.Data{}
	}
	b := bundle(d)
	b.Transient = nil
	k.reply(sock, m, InspectReplyContent{Status: StatusOK, Found: found, MIMEBundle: b})
}

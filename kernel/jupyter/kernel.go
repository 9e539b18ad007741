package jupyter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/go-zeromq/zmq4"

	"github.com/qlab-dev/qlab/qlab/display"
)

// Output receives what a running cell emits, in order, while it runs.
type Output interface {
	Stream(name, text string)            // name is "stdout" or "stderr"
	Display(d display.Data, update bool) // display_data, or update_display_data when update
	ClearOutput(wait bool)
	Input(prompt string, password bool) (string, error) // input_request on stdin; error if the frontend doesn't allow stdin
}

// Evaluator runs cells. Execute must return promptly when ctx is cancelled (interrupt).
//
// Cursor positions are in Unicode code points, not bytes. A cell error is
// returned as an error that also implements
// interface{ Ename() string; Evalue() string; Traceback() []string }.
// result is the trailing expression's MIME bundle, nil when the cell ends in
// a statement.
type Evaluator interface {
	Execute(ctx context.Context, code string, out Output) (result *display.Data, err error)
	Complete(code string, cursor int) (matches []string, start, end int)
	Inspect(code string, cursor, detailLevel int) (d display.Data, found bool)
	IsComplete(code string) (status, indent string) // "complete" | "incomplete" | "invalid" | "unknown"
}

// CellError is what the kernel needs of an evaluator's error to report it
// the way IPython does (ename, evalue, traceback lines).
type CellError interface {
	error
	Ename() string
	Evalue() string
	Traceback() []string
}

// ErrStdinNotAllowed is returned by Output.Input when the execute_request
// said allow_stdin false (nbclient, papermill and most non-console clients).
var ErrStdinNotAllowed = errors.New("jupyter: the frontend does not allow input (allow_stdin is false)")

// Config sets up a Kernel. The zero value is a working configuration.
type Config struct {
	// Log receives the kernel's diagnostics (dropped or malformed messages,
	// socket errors); nil means os.Stderr.
	Log io.Writer
	// Banner is kernel_info_reply's banner; "" means a one-line description
	// of qlab with the Go version.
	Banner string
	// ImplementationVersion is kernel_info_reply's implementation_version;
	// "" means "devel".
	ImplementationVersion string
	// HelpLinks are kernel_info_reply's help_links; nil means links to the Go
	// documentation and the standard library.
	HelpLinks []HelpLink
	// MaxMessageBytes bounds an incoming message (frames after the
	// delimiter); 0 means DefaultMaxMessageBytes.
	MaxMessageBytes int
}

// Kernel serves one Evaluator over the Jupyter protocol. Create it with
// NewKernel and run it with Serve; Interrupt may be called from any
// goroutine (a SIGINT handler).
type Kernel struct {
	ev      Evaluator
	cfg     Config
	log     *log.Logger
	signer  Signer
	session string
	socks   sockets

	// Touched only by the shell goroutine: execution_count, and when a
	// failed cell with stop_on_error ended (zero when not aborting).
	count      int
	abortUntil time.Time
	hist       history

	mu         sync.Mutex
	cancelCell context.CancelFunc // cancels the running cell; nil when idle
	stop       context.CancelFunc // ends Serve
	restart    bool

	comm comms // comm.go

	shellQ  chan *queued
	stdinCh chan *Message
	inputMu sync.Mutex
}

// queued is one message read from shell, or why it could not be decoded.
type queued struct {
	msg     *Message
	err     *DecodeError
	arrived time.Time
}

// NewKernel returns a kernel serving ev.
func NewKernel(ev Evaluator, cfg Config) *Kernel {
	w := cfg.Log
	if w == nil {
		w = os.Stderr
	}
	if cfg.ImplementationVersion == "" {
		cfg.ImplementationVersion = "devel"
	}
	if cfg.Banner == "" {
		cfg.Banner = "qlab " + cfg.ImplementationVersion + " — Go " + runtime.Version() +
			" cells interpreted by yaegi, qlab and gonum compiled in"
	}
	if cfg.HelpLinks == nil {
		cfg.HelpLinks = []HelpLink{
			{Text: "Go documentation", URL: "https://go.dev/doc/"},
			{Text: "Go standard library", URL: "https://pkg.go.dev/std"},
		}
	}
	if cfg.MaxMessageBytes == 0 {
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	return &Kernel{
		ev:      ev,
		cfg:     cfg,
		log:     log.New(w, "qlab-kernel: ", log.LstdFlags|log.Lmicroseconds),
		session: newID(),
		shellQ:  make(chan *queued, 1024),
		stdinCh: make(chan *Message, 16),
	}
}

// Serve binds the sockets of ci and serves requests until a
// shutdown_request arrives or ctx is cancelled. It returns nil after a
// shutdown; RestartRequested then says whether the frontend asked for a
// restart (the process should exit either way: the frontend starts a new
// one).
func (k *Kernel) Serve(ctx context.Context, ci ConnectionInfo) error {
	if err := ci.Validate(); err != nil {
		return fmt.Errorf("jupyter: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	socks, hb, err := listen(ctx, ci, k.log)
	if err != nil {
		return err
	}
	k.signer = NewSigner([]byte(ci.Key))
	var wg sync.WaitGroup
	wg.Go(func() { k.heartbeat(ctx, hb) })
	err = k.serve(ctx, socks)
	cancel() // stops the heartbeat loop before its socket closes
	hb.Close()
	wg.Wait()
	return err
}

// RestartRequested reports whether the shutdown_request that ended Serve
// asked for a restart.
func (k *Kernel) RestartRequested() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.restart
}

// Interrupt cancels the running cell's context, as interrupt_request does.
// It does nothing when no cell runs.
func (k *Kernel) Interrupt() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cancelCell != nil {
		k.cancelCell()
	}
}

func (k *Kernel) heartbeat(ctx context.Context, hb zmq4.Socket) {
	for {
		m, err := hb.Recv()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			k.log.Printf("heartbeat: %v", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if err := hb.Send(m); err != nil && ctx.Err() == nil {
			k.log.Printf("heartbeat: %v", err)
		}
	}
}

// serve runs the kernel on already-bound sockets until shutdown or ctx ends.
func (k *Kernel) serve(ctx context.Context, socks sockets) error {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	k.mu.Lock()
	k.socks, k.stop = socks, stop
	k.mu.Unlock()

	k.publish(nil, Status, StatusContent{StateStarting})

	var readers, handlers sync.WaitGroup
	readers.Go(func() {
		k.readLoop(ctx, "shell", socks.shell, func(q *queued) {
			select {
			case k.shellQ <- q:
			case <-ctx.Done():
			}
		})
	})
	readers.Go(func() {
		k.readLoop(ctx, "control", socks.control, func(q *queued) { k.dispatch(ctx, socks.control, q, false) })
	})
	readers.Go(func() {
		k.readLoop(ctx, "stdin", socks.stdin, func(q *queued) {
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
				k.dispatch(ctx, socks.shell, q, true)
				if !k.abortUntil.IsZero() {
					k.abortQueued(ctx, socks.shell)
				}
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
func (k *Kernel) readLoop(ctx context.Context, name string, s socket, handle func(*queued)) {
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

// dispatch answers one request, bracketed by status busy and idle on IOPub.
func (k *Kernel) dispatch(ctx context.Context, sock socket, q *queued, shell bool) {
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
		k.handleComm(sock, m) // comm.go
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

func (k *Kernel) kernelInfo() KernelInfoReplyContent {
	return KernelInfoReplyContent{
		Status:                StatusOK,
		ProtocolVersion:       ProtocolVersion,
		Implementation:        "qlab",
		ImplementationVersion: k.cfg.ImplementationVersion,
		LanguageInfo: LanguageInfo{
			Name:           "go",
			Version:        strings.TrimPrefix(runtime.Version(), "go"),
			MIMEType:       "text/x-go",
			FileExtension:  ".go",
			PygmentsLexer:  "go",
			CodemirrorMode: "go",
		},
		Banner:    k.cfg.Banner,
		HelpLinks: k.cfg.HelpLinks,
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

func (k *Kernel) complete(sock socket, m *Message) {
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

func (k *Kernel) inspect(sock socket, m *Message) {
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

// execute runs an execute_request: execute_input, the cell's outputs, the
// result or error on IOPub, then the reply.
func (k *Kernel) execute(ctx context.Context, sock socket, m *Message) {
	var c ExecuteRequestContent
	if err := decodeContent(m.Content, &c, "code"); err != nil {
		k.replyError(sock, m, "BadRequest", err)
		return
	}
	// As in IPython, an empty cell is not counted or stored.
	store := !c.Silent && (c.StoreHistory == nil || *c.StoreHistory) && strings.TrimSpace(c.Code) != ""
	allowStdin := c.AllowStdin == nil || *c.AllowStdin
	stopOnError := c.StopOnError == nil || *c.StopOnError
	if store {
		k.count++
	}
	n := k.count
	if !c.Silent {
		k.publish(m, ExecuteInput, ExecuteInputContent{Code: c.Code, ExecutionCount: n})
	}

	if name, detail, ok := helpQuery(c.Code); ok {
		// IPython's "name?" help: the inspection goes to the pager
		// payload instead of running the code.
		var payload []any
		if d, found := k.ev.Inspect(name, len([]rune(name)), detail); found {
			payload = append(payload, map[string]any{"source": "page", "data": bundle(d).Data, "start": 0})
		} else if !c.Silent {
			k.publish(m, Stream, StreamContent{Name: "stdout", Text: "Object `" + name + "` not found.\n"})
		}
		if store {
			k.hist.add(n, c.Code, nil)
		}
		if payload == nil {
			payload = []any{}
		}
		k.reply(sock, m, ExecuteReplyContent{Status: StatusOK, ExecutionCount: n, Payload: payload,
			UserExprs: map[string]any{}})
		return
	}

	cctx, cancel := context.WithCancel(ctx)
	k.mu.Lock()
	k.cancelCell = cancel
	k.mu.Unlock()
	out := &cellOutput{k: k, parent: m, silent: c.Silent, allowStdin: allowStdin, ctx: cctx}
	res, err := k.run(cctx, c.Code, out)
	k.mu.Lock()
	k.cancelCell = nil
	k.mu.Unlock()
	cancel()

	if err != nil {
		ec := errorContent(err)
		if !c.Silent {
			k.publish(m, Error, ec)
		}
		if store {
			k.hist.add(n, c.Code, nil)
		}
		if stopOnError && !c.Silent {
			// Requests that arrived before the client could see this
			// error are aborted, after this one's idle status so that
			// each request's IOPub messages stay between its busy and
			// idle; requests sent after the error reply run normally.
			k.abortUntil = time.Now()
		}
		k.reply(sock, m, executeErrorReply{Status: StatusError, ExecutionCount: n, ErrorContent: ec})
		return
	}
	var text *string
	if res != nil {
		if !c.Silent {
			k.publish(m, ExecuteResult, ExecuteResultContent{ExecutionCount: n, MIMEBundle: encodable(bundle(*res))})
		}
		if s, ok := res.Data[display.MIMEPlain].(string); ok {
			text = &s
		}
	}
	if store {
		k.hist.add(n, c.Code, text)
	}
	k.reply(sock, m, ExecuteReplyContent{Status: StatusOK, ExecutionCount: n, Payload: []any{},
		UserExprs: k.userExpressions(ctx, c.UserExpressions)})
}

// helpRE matches IPython-style help requests: a (dotted) name followed or
// preceded by one or two question marks.
var helpRE = regexp.MustCompile(`^(\?{0,2})([\pL_][\pL\pN_]*(?:\.[\pL_][\pL\pN_]*)*)(\?{0,2})$`)

// helpQuery reports whether code is a help request ("fmt.Println?",
// "??x"), returning the name and the detail level (1 for "??").
func helpQuery(code string) (name string, detail int, ok bool) {
	m := helpRE.FindStringSubmatch(strings.TrimSpace(code))
	if m == nil || (m[1] == "") == (m[3] == "") {
		return "", 0, false
	}
	return m[2], len(m[1]+m[3]) - 1, true
}

// run calls the evaluator, turning a panic into an error so that one bad
// cell cannot take the kernel down.
func (k *Kernel) run(ctx context.Context, code string, out Output) (res *display.Data, err error) {
	defer func() {
		if r := recover(); r != nil {
			k.log.Printf("evaluator panicked: %v\n%s", r, debug.Stack())
			res, err = nil, fmt.Errorf("jupyter: evaluator panicked: %v", r)
		}
	}()
	return k.ev.Execute(ctx, code, out)
}

// errorContent reports err as IPython would an exception.
func errorContent(err error) ErrorContent {
	var ce CellError
	if errors.As(err, &ce) {
		tb := ce.Traceback()
		if tb == nil {
			tb = []string{}
		}
		return ErrorContent{Ename: ce.Ename(), Evalue: ce.Evalue(), Traceback: tb}
	}
	ename := "Error"
	if errors.Is(err, context.Canceled) {
		ename = "Interrupted"
	}
	return ErrorContent{Ename: ename, Evalue: err.Error(), Traceback: []string{ename + ": " + err.Error()}}
}

// userExpressions evaluates each expression after a successful cell and
// returns, per name, {status, data, metadata} or {status: error, ename, ...}.
func (k *Kernel) userExpressions(ctx context.Context, exprs map[string]string) map[string]any {
	out := make(map[string]any, len(exprs))
	for name, expr := range exprs {
		res, err := k.run(ctx, expr, discard{})
		if err != nil {
			ec := errorContent(err)
			out[name] = map[string]any{"status": StatusError, "ename": ec.Ename, "evalue": ec.Evalue,
				"traceback": ec.Traceback}
			continue
		}
		var d display.Data
		if res != nil {
			d = *res
		}
		b := bundle(d)
		out[name] = map[string]any{"status": StatusOK, "data": b.Data, "metadata": b.Metadata}
	}
	return out
}

// abortQueued answers the execute_requests queued on shell before
// k.abortUntil with status "aborted" (stop_on_error); other requests are
// served as usual.
func (k *Kernel) abortQueued(ctx context.Context, sock socket) {
	until := k.abortUntil
	k.abortUntil = time.Time{}
	for {
		select {
		case q := <-k.shellQ:
			if q.arrived.After(until) {
				k.dispatch(ctx, sock, q, true)
				if k.abortUntil.IsZero() {
					// Later requests were all sent after the error.
					return
				}
				until, k.abortUntil = k.abortUntil, time.Time{}
				continue
			}
			if q.err == nil && q.msg.Header.MsgType == ExecuteRequest {
				k.publish(q.msg, Status, StatusContent{StateBusy})
				k.reply(sock, q.msg, statusReply{StatusAborted})
				k.publish(q.msg, Status, StatusContent{StateIdle})
				continue
			}
			k.dispatch(ctx, sock, q, true)
		default:
			return
		}
	}
}

// discard is the Output of user expressions, which must not print.
type discard struct{}

func (discard) Stream(string, string)              {}
func (discard) Display(display.Data, bool)         {}
func (discard) ClearOutput(bool)                   {}
func (discard) Input(string, bool) (string, error) { return "", ErrStdinNotAllowed }

// cellOutput publishes what a cell emits with the execute_request as parent.
type cellOutput struct {
	k          *Kernel
	parent     *Message
	silent     bool
	allowStdin bool
	ctx        context.Context
}

func (o *cellOutput) Stream(name, text string) {
	if o.silent || text == "" {
		return
	}
	if name != "stderr" {
		name = "stdout"
	}
	o.k.publish(o.parent, Stream, StreamContent{Name: name, Text: text})
}

func (o *cellOutput) Display(d display.Data, update bool) {
	if o.silent {
		return
	}
	t := DisplayData
	if update {
		t = UpdateDisplayData
	}
	o.k.publish(o.parent, t, encodable(bundle(d)))
}

// encodable returns b, or when some value cannot be JSON-encoded (a NaN
// under application/json, a channel) a text/plain bundle saying so, so that
// the user sees why the output is missing instead of nothing.
func encodable(b MIMEBundle) MIMEBundle {
	if _, err := json.Marshal(b); err != nil {
		return MIMEBundle{Data: map[display.MIME]any{display.MIMEPlain: "qlab-kernel: cannot send this output: " + err.Error()},
			Metadata: map[display.MIME]any{}, Transient: b.Transient}
	}
	return b
}

func (o *cellOutput) ClearOutput(wait bool) {
	if o.silent {
		return
	}
	o.k.publish(o.parent, ClearOutput, ClearOutputContent{Wait: wait})
}

func (o *cellOutput) Input(prompt string, password bool) (string, error) {
	if !o.allowStdin {
		return "", ErrStdinNotAllowed
	}
	return o.k.input(o.ctx, o.parent, prompt, password)
}

// input sends an input_request on stdin to the client that sent parent and
// waits for its input_reply or for the cell's cancellation.
func (k *Kernel) input(ctx context.Context, parent *Message, prompt string, password bool) (string, error) {
	k.inputMu.Lock()
	defer k.inputMu.Unlock()
	for drained := false; !drained; {
		select {
		case <-k.stdinCh:
		default:
			drained = true
		}
	}
	k.mu.Lock()
	stdin := k.socks.stdin
	k.mu.Unlock()
	if err := k.send(stdin, parent.Identities, parent, InputRequest, InputRequestContent{Prompt: prompt, Password: password}); err != nil {
		return "", err
	}
	select {
	case r := <-k.stdinCh:
		var c InputReplyContent
		if err := decodeContent(r.Content, &c, "value"); err != nil {
			return "", err
		}
		return c.Value, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// reply sends content as the reply to req, on req's socket, to req's
// identities.
func (k *Kernel) reply(sock socket, req *Message, content any) {
	if err := k.send(sock, req.Identities, req, req.Header.MsgType.Reply(), content); err != nil {
		k.log.Printf("%s: %v", req.Header.MsgType.Reply(), err)
	}
}

func (k *Kernel) replyError(sock socket, req *Message, ename string, err error) {
	k.reply(sock, req, errorReply{Status: StatusError, ErrorContent: ErrorContent{
		Ename: ename, Evalue: err.Error(), Traceback: []string{ename + ": " + err.Error()}}})
}

// publish sends a message on IOPub with parent's header as parent header
// (none when parent is nil).
func (k *Kernel) publish(parent *Message, t MsgType, content any) {
	k.mu.Lock()
	iopub := k.socks.iopub
	k.mu.Unlock()
	if iopub == nil {
		return
	}
	topic := [][]byte{[]byte("kernel." + k.session + "." + string(t))}
	if err := k.send(iopub, topic, parent, t, content); err != nil {
		k.log.Printf("iopub %s: %v", t, err)
	}
}

func (k *Kernel) send(s socket, ids [][]byte, parent *Message, t MsgType, content any) error {
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

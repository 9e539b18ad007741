package jupyter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/qlab-dev/qlab/qlab/display"
)

// execute runs an execute_request: execute_input, the cell's outputs, the
// result or error on IOPub, then the reply.
func (k *Kernel) execute(ctx context.Context, sock Socket, m *Message) {
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
			// Requests that arrive before the reply goes out were sent
			// before the client could see the error: hold the reply a
			// moment to let those already on their way arrive and be
			// aborted. failedAt is taken before the reply goes out, so
			// that a request sent in answer to it is dated later.
			time.Sleep(k.cfg.StopOnErrorGrace)
			k.failedAt = time.Now()
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

// abortable reports whether q is an execute_request to abort because an
// earlier cell failed with stop_on_error: one that arrived before the
// failure was replied to (execute holds that reply back for
// StopOnErrorGrace, so that requests the client sent right behind the
// failing cell are in), or one that arrives within the grace after it and
// whose header says it was sent before the reply went out. A request the
// client sent after seeing the error runs. ipykernel gets the same effect
// from its slowness: it aborts what has reached its socket by the time it
// has formatted the traceback and replied. Called only by the shell
// goroutine.
func (k *Kernel) abortable(q *queued) bool {
	if k.failedAt.IsZero() || q.err != nil || q.msg.Header.MsgType != ExecuteRequest {
		return false
	}
	if q.arrived.Before(k.failedAt) {
		return true
	}
	if q.arrived.Before(k.failedAt.Add(k.cfg.StopOnErrorGrace)) {
		sent, err := time.Parse(time.RFC3339Nano, q.msg.Header.Date)
		if err != nil || !sent.After(k.failedAt) {
			return true
		}
	}
	k.failedAt = time.Time{}
	return false
}

// abort answers an execute_request with status "aborted", between status
// busy and idle, without running it.
func (k *Kernel) abort(sock Socket, m *Message) {
	k.publish(m, Status, StatusContent{StateBusy})
	k.reply(sock, m, statusReply{StatusAborted})
	k.publish(m, Status, StatusContent{StateIdle})
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
	stdin := k.socks.Stdin
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

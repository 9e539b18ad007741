package jupyter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qlab-dev/qlab/qlab/display"
)

// memSocket is an in-memory socket: the kernel receives what the test puts
// in in and sends to out.
type memSocket struct {
	in     chan [][]byte
	out    chan [][]byte
	closed chan struct{}
	once   sync.Once
}

func newMemSocket() *memSocket {
	return &memSocket{in: make(chan [][]byte, 64), out: make(chan [][]byte, 1024), closed: make(chan struct{})}
}

var errClosed = errors.New("memSocket: closed")

func (s *memSocket) Recv() ([][]byte, error) {
	select {
	case f := <-s.in:
		return f, nil
	case <-s.closed:
		return nil, errClosed
	}
}

func (s *memSocket) Send(frames [][]byte) error {
	select {
	case <-s.closed:
		return errClosed
	default:
	}
	cp := make([][]byte, len(frames))
	for i, f := range frames {
		cp[i] = append([]byte(nil), f...)
	}
	s.out <- cp
	return nil
}

func (s *memSocket) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}

// fakeEval runs a tiny command language so that tests can script what a
// cell does: each line is one command.
//
//	print TEXT      stdout		eprint TEXT   stderr
//	result TEXT     text/plain result		error MSG   a cell error
//	display MIME    display_data	update ID      update_display_data
//	clear           clear_output	input PROMPT   read stdin, print it
//	block           wait for the interrupt	panic          panic
//	set X / get     a variable that survives across cells
type fakeEval struct {
	mu      sync.Mutex
	v       string
	started chan string   // receives each cell's code when it starts
	gate    chan struct{} // "gate" waits for it to be closed
}

type fakeCellError struct{ msg string }

func (e *fakeCellError) Error() string       { return "panic: " + e.msg }
func (e *fakeCellError) Ename() string       { return "panic" }
func (e *fakeCellError) Evalue() string      { return e.msg }
func (e *fakeCellError) Traceback() []string { return []string{"panic: " + e.msg, "cell:1"} }

func (f *fakeEval) Execute(ctx context.Context, code string, out Output) (*display.Data, error) {
	if f.started != nil {
		f.started <- code
	}
	var res *display.Data
	for _, line := range strings.Split(code, "\n") {
		cmd, arg, _ := strings.Cut(line, " ")
		switch cmd {
		case "print":
			out.Stream("stdout", arg+"\n")
		case "eprint":
			out.Stream("stderr", arg+"\n")
		case "result":
			res = &display.Data{Data: map[display.MIME]any{display.MIMEPlain: arg}}
		case "nan":
			res = &display.Data{Data: map[display.MIME]any{display.MIMEJSON: math.NaN()}}
		case "error":
			return nil, &fakeCellError{arg}
		case "display":
			out.Display(display.Data{Data: map[display.MIME]any{display.MIME(arg): "x"}}, false)
		case "update":
			out.Display(display.Data{Data: map[display.MIME]any{display.MIMEPlain: "u"},
				Transient: map[string]any{"display_id": arg}}, true)
		case "clear":
			out.ClearOutput(arg == "wait")
		case "input":
			s, err := out.Input(arg, false)
			if err != nil {
				return nil, err
			}
			out.Stream("stdout", s)
		case "block":
			select {
			case <-ctx.Done():
				return nil, &fakeCellError{"interrupted"}
			case <-time.After(10 * time.Second):
				return nil, errors.New("block: not interrupted within 10s")
			}
		case "gate":
			<-f.gate
		case "panic":
			panic(arg)
		case "set":
			f.mu.Lock()
			f.v = arg
			f.mu.Unlock()
		case "get":
			f.mu.Lock()
			res = &display.Data{Data: map[display.MIME]any{display.MIMEPlain: f.v}}
			f.mu.Unlock()
		case "":
		default:
			return nil, fmt.Errorf("fake: unknown command %q", cmd)
		}
	}
	return res, nil
}

func (f *fakeEval) Complete(code string, cursor int) ([]string, int, int) {
	// Completes the identifier before the cursor against a fixed list.
	rs := []rune(code)
	start := cursor
	for start > 0 && (rs[start-1] == '_' || rs[start-1] >= 'a' && rs[start-1] <= 'z') {
		start--
	}
	prefix := string(rs[start:cursor])
	var m []string
	for _, w := range []string{"fmt", "func", "float64"} {
		if strings.HasPrefix(w, prefix) {
			m = append(m, w)
		}
	}
	return m, start, cursor
}

func (f *fakeEval) Inspect(code string, cursor, detail int) (display.Data, bool) {
	if !strings.Contains(code, "fmt") {
		return display.Data{}, false
	}
	return display.Data{Data: map[display.MIME]any{display.MIMEPlain: fmt.Sprintf("package fmt (cursor %d, detail %d)", cursor, detail)}}, true
}

func (f *fakeEval) IsComplete(code string) (string, string) {
	switch {
	case strings.Count(code, "{") > strings.Count(code, "}"):
		return "incomplete", "\t"
	case strings.Count(code, "{") < strings.Count(code, "}"):
		return "invalid", ""
	}
	return "complete", ""
}

// harness is a kernel on in-memory sockets plus a client that signs.
type harness struct {
	t                            *testing.T
	k                            *Kernel
	shell, control, stdin, iopub *memSocket
	signer                       Signer
	session                      string
	done                         chan error
	cancel                       context.CancelFunc
	log                          *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const testKey = "a0436f6c-1916-498b-8eb9-e81ab9368e84"

func newHarness(t *testing.T, ev Evaluator) *harness {
	t.Helper()
	return newHarnessConfig(t, ev, Config{})
}

func newHarnessConfig(t *testing.T, ev Evaluator, cfg Config) *harness {
	t.Helper()
	h := &harness{t: t, shell: newMemSocket(), control: newMemSocket(), stdin: newMemSocket(),
		iopub: newMemSocket(), signer: NewSigner([]byte(testKey)), session: newID(),
		done: make(chan error, 1), log: &syncBuffer{}}
	cfg.Log = h.log
	h.k = NewKernel(ev, cfg)
	h.k.signer = h.signer
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() {
		h.done <- h.k.serve(ctx, Sockets{Shell: h.shell, Control: h.control, Stdin: h.stdin, IOPub: h.iopub})
	}()
	st := h.next(h.iopub)
	if st.Header.MsgType != Status {
		t.Fatalf("first IOPub message %s; want status starting", st.Header.MsgType)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(5 * time.Second):
			t.Errorf("kernel did not stop within 5s")
		}
		if t.Failed() {
			t.Logf("kernel log:\n%s", h.log.String())
		}
	})
	return h
}

// send signs and sends a request from identity id; it returns its header.
func (h *harness) send(s *memSocket, id string, t MsgType, content any) Header {
	h.t.Helper()
	c, err := json.Marshal(content)
	if err != nil {
		h.t.Fatal(err)
	}
	m := &Message{Identities: [][]byte{[]byte(id)}, Header: Header{MsgID: newID(), Session: h.session,
		Username: "test", Date: now(), MsgType: t, Version: ProtocolVersion}, Content: c}
	frames, err := Encode(m, h.signer)
	if err != nil {
		h.t.Fatal(err)
	}
	s.in <- frames
	return m.Header
}

// next returns the next message the kernel sent on s, verifying its
// signature.
func (h *harness) next(s *memSocket) *Message {
	h.t.Helper()
	select {
	case f := <-s.out:
		m, err := Decode(f, h.signer, 0)
		if err != nil {
			h.t.Fatalf("kernel sent an undecodable message: %v", err)
		}
		return m
	case <-time.After(5 * time.Second):
		h.t.Fatalf("no message within 5s")
		return nil
	}
}

// none checks that the kernel sends nothing on s for a while.
func (h *harness) none(s *memSocket, d time.Duration) {
	h.t.Helper()
	select {
	case f := <-s.out:
		m, _ := Decode(f, h.signer, 0)
		h.t.Fatalf("unexpected message %+v", m)
	case <-time.After(d):
	}
}

func parentID(m *Message) string {
	var p Header
	_ = json.Unmarshal(m.ParentHeader, &p)
	return p.MsgID
}

// iopubFor collects the IOPub messages of one request, from busy to idle,
// checking their order and parent headers.
func (h *harness) iopubFor(req Header) []*Message {
	h.t.Helper()
	var got []*Message
	for {
		m := h.next(h.iopub)
		if pid := parentID(m); pid != req.MsgID {
			h.t.Fatalf("IOPub %s has parent %q; want %q (%s)", m.Header.MsgType, pid, req.MsgID, req.MsgType)
		}
		if len(got) == 0 {
			if st := state(m); st != StateBusy {
				h.t.Fatalf("first IOPub message for %s is %s %q; want status busy", req.MsgType, m.Header.MsgType, st)
			}
		}
		got = append(got, m)
		if state(m) == StateIdle {
			return got[1 : len(got)-1]
		}
	}
}

func state(m *Message) ExecutionState {
	if m.Header.MsgType != Status {
		return ""
	}
	var c StatusContent
	_ = json.Unmarshal(m.Content, &c)
	return c.ExecutionState
}

func content[T any](t *testing.T, m *Message) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(m.Content, &v); err != nil {
		t.Fatalf("%s content %s: %v", m.Header.MsgType, m.Content, err)
	}
	return v
}

func types(ms []*Message) string {
	var s []string
	for _, m := range ms {
		s = append(s, string(m.Header.MsgType))
	}
	return strings.Join(s, ",")
}

var _ io.Writer = (*syncBuffer)(nil)

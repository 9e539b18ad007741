package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/qlab-dev/qlab/kernel/jupyter"
)

// cmdKernel serves a frontend (qlab-kernel kernel CONNECTION_FILE). The
// process is a supervisor: it binds the five sockets, answers the
// heartbeat and kernel_info_request itself, and relays everything else to
// an evaluator process (cmdEvaluator) that runs the cells. When the
// evaluator dies — a fatal runtime error such as a stack overflow, running
// out of memory, concurrent map writes, or a kill — the supervisor reports
// it on the request that was running (or, when none was, on the next
// execute_request), answers the requests the evaluator never did, and
// starts a new evaluator. The frontend keeps its connection; the cells'
// state is lost.
func cmdKernel(connFile string) int {
	logger := log.New(os.Stderr, "qlab-kernel: ", log.LstdFlags|log.Lmicroseconds)
	ci, err := jupyter.ReadConnectionFile(connFile)
	if err != nil {
		logger.Print(err)
		return 1
	}
	bin, err := os.Executable()
	if err != nil {
		logger.Printf("finding this executable to start the evaluator: %v", err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	socks, err := listen(ctx, ci, logger)
	if err != nil {
		logger.Print(err)
		return 1
	}
	s := &supervisor{bin: bin, connFile: connFile, log: logger, signer: jupyter.NewSigner([]byte(ci.Key)),
		session: newMsgID(), cfg: jupyter.Config{ImplementationVersion: version()}, counts: map[string]int{}, answered: make(chan struct{}),
		sockets: [nChannels]jupyter.Socket{socks.Shell, socks.Control, socks.Stdin, socks.IOPub}}
	defer func() {
		for _, k := range s.sockets {
			k.Close()
		}
	}()
	ev, err := s.prepare()
	if err != nil {
		logger.Print(err)
		return 1
	}
	s.ev = ev
	for ch := range chIOPub {
		go s.fromClient(ch)
	}
	// The evaluator's start-up (loading the interpreter's symbol tables)
	// competes for the CPU with the first kernel_info_reply, which is what
	// a frontend waits for: let that go out first.
	select {
	case <-s.answered:
	case <-time.After(100 * time.Millisecond):
	}
	if err := s.spawn(ev); err != nil {
		logger.Print(err)
		return 1
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		for sig := range sigs {
			if sig == os.Interrupt {
				s.signal(syscall.SIGINT)
				continue
			}
			cancel()
		}
	}()
	return s.run(ctx)
}

// supervisor relays between the frontend's sockets and one evaluator
// process at a time.
type supervisor struct {
	bin, connFile string
	log           *log.Logger
	signer        jupyter.Signer
	session       string
	cfg           jupyter.Config
	sockets       [nChannels]jupyter.Socket // shell, control, stdin, iopub

	mu      sync.Mutex
	ev      *evaluator
	pending [chStdin][]request // shell and control requests relayed and not yet answered, oldest first
	counts  map[string]int     // execution_count of running execute_requests, from execute_input
	lastRun *request           // the last execute_request relayed
	notice  string             // a death to report on the next execute_request

	answered     chan struct{} // closed after the first kernel_info_reply
	answeredOnce sync.Once
}

// request is a relayed request, enough to answer it.
type request struct {
	ch     byte
	frames [][]byte // as received: identities, delimiter, signature, header, ...
	header jupyter.Header
}

// evaluator is one evaluator process.
type evaluator struct {
	cmd     *exec.Cmd // set by spawn
	m       *mux
	theirs  *os.File // the evaluator's end of the pipe, until spawn
	started time.Time
	stderr  *tail                   // the end of its standard error (the runtime's crash report lands there)
	capture atomic.Pointer[os.File] // a read end of its descriptor-2 capture pipe, read only after it died
	exited  chan struct{}           // closed when it has exited and its stderr is drained
	state   *os.ProcessState
	waitErr error
}

// start starts an evaluator process and relays what it sends.
func (s *supervisor) start() (*evaluator, error) {
	ev, err := s.prepare()
	if err != nil {
		return nil, err
	}
	return ev, s.spawn(ev)
}

// prepare sets up an evaluator's pipe; what is sent to it waits in the pipe
// until spawn starts the process.
func (s *supervisor) prepare() (*evaluator, error) {
	pair, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		return nil, fmt.Errorf("evaluator socket pair: %w", err)
	}
	// exec.Cmd passes the evaluator's end explicitly (ExtraFiles).
	syscall.CloseOnExec(pair[0])
	syscall.CloseOnExec(pair[1])
	mine, theirs := os.NewFile(uintptr(pair[0]), "evaluator"), os.NewFile(uintptr(pair[1]), "supervisor")
	ev := &evaluator{m: newMux(mine), theirs: theirs, stderr: &tail{max: 256 << 10}, exited: make(chan struct{})}
	for ch := range nChannels {
		go s.fromEvaluator(ev, ch)
	}
	return ev, nil
}

// spawn starts ev's process.
func (s *supervisor) spawn(ev *evaluator) error {
	defer ev.theirs.Close()
	stderrR, stderrW, err := os.Pipe()
	if err != nil {
		ev.m.close()
		return fmt.Errorf("evaluator stderr: %w", err)
	}
	cmd := exec.Command(s.bin, "evaluator", s.connFile)
	cmd.Stdout = os.Stdout
	cmd.Stderr = stderrW
	cmd.ExtraFiles = []*os.File{ev.theirs} // descriptor 3
	cmd.SysProcAttr = evaluatorAttr()
	if err := cmd.Start(); err != nil {
		ev.m.close()
		stderrR.Close()
		stderrW.Close()
		return fmt.Errorf("starting the evaluator: %w", err)
	}
	stderrW.Close()
	ev.cmd, ev.started = cmd, time.Now()
	go func() {
		// Relay the evaluator's log to ours, keeping its end for a crash
		// report.
		io.Copy(io.MultiWriter(os.Stderr, ev.stderr), stderrR)
		stderrR.Close()
		ev.waitErr = cmd.Wait()
		ev.state = cmd.ProcessState
		close(ev.exited)
	}()
	return nil
}

// run waits for evaluators to exit, restarting them, until ctx ends or one
// exits after a shutdown.
func (s *supervisor) run(ctx context.Context) int {
	quick := 0
	for {
		s.mu.Lock()
		ev := s.ev
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			ev.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-ev.exited:
			case <-time.After(3 * time.Second):
				ev.cmd.Process.Kill()
				<-ev.exited
			}
			return 0
		case <-ev.exited:
		}
		ev.m.close()
		if ev.state != nil && ev.state.Exited() && ev.state.ExitCode() == 0 {
			// A shutdown_request ended it; the frontend starts a new kernel
			// if it asked for a restart.
			return 0
		}
		reason := ev.reason()
		s.log.Printf("evaluator process %d died: %s; starting a new one", ev.cmd.Process.Pid, reason)
		// Requests relayed from here on go to the new evaluator; those the
		// dead one left are answered on its behalf.
		s.mu.Lock()
		pending, counts := s.pending, s.counts
		s.pending, s.counts = [chStdin][]request{}, map[string]int{}
		// Only deaths that no request caused count towards giving up: an
		// evaluator that cannot start. A cell that overflows its stack right
		// after a restart is the cell's failure, and is reported as such.
		busy := len(counts) > 0
		for _, p := range pending {
			busy = busy || len(p) > 0
		}
		if !busy && time.Since(ev.started) < 2*time.Second {
			quick++
		} else {
			quick = 0
		}
		var next *evaluator
		var err error
		if quick < 3 {
			next, err = s.start()
			if err == nil {
				s.ev = next
			}
		}
		s.mu.Unlock()
		switch {
		case quick >= 3:
			s.log.Printf("the evaluator died within 2s of starting, with no request running, 3 times in a row; giving up")
		case err != nil:
			s.log.Print(err)
		}
		s.reportDeath(reason, next != nil, pending, counts)
		if next == nil {
			return 1
		}
	}
}

// signal sends sig to the running evaluator.
func (s *supervisor) signal(sig os.Signal) {
	s.mu.Lock()
	ev := s.ev
	s.mu.Unlock()
	ev.cmd.Process.Signal(sig)
}

// fromClient relays what the frontend sends on one socket to the evaluator.
// Messages whose signature does not verify are dropped here;
// kernel_info_request is answered here, so that a frontend sees the kernel
// ready while the evaluator is still starting.
func (s *supervisor) fromClient(ch byte) {
	sock := s.sockets[ch]
	for {
		frames, err := sock.Recv()
		if err != nil {
			return
		}
		m, err := jupyter.Decode(frames, s.signer, 0)
		var de *jupyter.DecodeError
		if err != nil && (!errors.As(err, &de) || de.Header == nil) {
			s.log.Printf("%s: dropped message: %v", channelName(ch), err)
			continue
		}
		var h jupyter.Header
		if m != nil {
			h = m.Header
		} else {
			h = *de.Header
		}
		if m != nil && ch != chStdin && h.MsgType == jupyter.KernelInfoRequest {
			r := request{ch: ch, frames: frames, header: h}
			s.publish(&r, jupyter.Status, jupyter.StatusContent{ExecutionState: jupyter.StateBusy})
			s.reply(&r, jupyter.KernelInfo(s.cfg))
			s.publish(&r, jupyter.Status, jupyter.StatusContent{ExecutionState: jupyter.StateIdle})
			s.answeredOnce.Do(func() { close(s.answered) })
			continue
		}
		s.mu.Lock()
		if ch != chStdin && h.MsgType.IsRequest() {
			r := request{ch: ch, frames: frames, header: h}
			s.pending[ch] = append(s.pending[ch], r)
			if h.MsgType == jupyter.ExecuteRequest {
				s.lastRun = &r
				if s.notice != "" {
					s.stream(&r, s.notice)
					s.notice = ""
				}
			}
		}
		ev := s.ev
		// Sent under the lock so that a request is either pending on the
		// evaluator that gets it or reported with that evaluator's death.
		err = ev.m.send(ch, frames)
		s.mu.Unlock()
		if err != nil {
			s.log.Printf("%s: relaying to the evaluator: %v", channelName(ch), err)
		}
	}
}

// fromEvaluator relays what the evaluator sends on one channel to the
// frontend, and notes which requests are answered.
func (s *supervisor) fromEvaluator(ev *evaluator, ch byte) {
	for first := true; ; first = false {
		frames, err := ev.m.recv(ch)
		if err != nil {
			return
		}
		if first && ch == chIOPub {
			// The evaluator publishes "starting" once its capture of
			// descriptor 2 is in place.
			ev.capture.Store(openCapture(ev.cmd.Process.Pid))
		}
		if ch != chIOPub && ch != chStdin {
			if id := parentID(frames); id != "" {
				s.mu.Lock()
				p := s.pending[ch]
				for i := range p {
					if p[i].header.MsgID == id {
						s.pending[ch] = append(p[:i:i], p[i+1:]...)
						delete(s.counts, id)
						break
					}
				}
				s.mu.Unlock()
			}
		} else if ch == chIOPub {
			s.noteExecuteInput(frames)
		}
		if err := s.sockets[ch].Send(frames); err != nil {
			s.log.Printf("%s: %v", channelName(ch), err)
		}
	}
}

// noteExecuteInput records the execution count of an execute_input, so that
// a death can be reported with the cell's count.
func (s *supervisor) noteExecuteInput(frames [][]byte) {
	d := delimiter(frames)
	if d < 0 || len(frames) < d+6 || !bytes.Contains(frames[d+2], []byte(`"execute_input"`)) {
		return
	}
	var c jupyter.ExecuteInputContent
	if json.Unmarshal(frames[d+5], &c) != nil {
		return
	}
	if id := parentID(frames); id != "" {
		s.mu.Lock()
		s.counts[id] = c.ExecutionCount
		s.mu.Unlock()
	}
}

// reportDeath answers the requests the dead evaluator left: the one that
// was running gets an error naming reason, execute_requests queued behind it
// are aborted, other requests get an error. With nothing running, reason is
// shown on the last cell and again on the next one.
func (s *supervisor) reportDeath(reason string, restarted bool, pending [chStdin][]request, counts map[string]int) {
	what := "The kernel's evaluator process died (" + reason + ")."
	if restarted {
		what += " A new one has started: the variables, imports and definitions of earlier cells are gone."
	}
	s.mu.Lock()
	last := s.lastRun
	s.mu.Unlock()
	ec := jupyter.ErrorContent{Ename: "KernelDied", Evalue: reason, Traceback: []string{what}}
	running := false
	for ch := range chStdin {
		for i := range pending[ch] {
			r := &pending[ch][i]
			switch {
			case i == 0 && ch == chShell && r.header.MsgType == jupyter.ExecuteRequest:
				// It was running: its busy status and execute_input are out.
				running = true
				s.publish(r, jupyter.Error, ec)
				s.reply(r, map[string]any{"status": jupyter.StatusError, "execution_count": counts[r.header.MsgID],
					"ename": ec.Ename, "evalue": ec.Evalue, "traceback": ec.Traceback})
			case r.header.MsgType == jupyter.ExecuteRequest:
				s.publish(r, jupyter.Status, jupyter.StatusContent{ExecutionState: jupyter.StateBusy})
				s.reply(r, map[string]any{"status": jupyter.StatusAborted})
			default:
				if i != 0 {
					s.publish(r, jupyter.Status, jupyter.StatusContent{ExecutionState: jupyter.StateBusy})
				}
				s.reply(r, map[string]any{"status": jupyter.StatusError, "ename": ec.Ename, "evalue": ec.Evalue,
					"traceback": ec.Traceback})
			}
			s.publish(r, jupyter.Status, jupyter.StatusContent{ExecutionState: jupyter.StateIdle})
		}
	}
	if !running {
		// Nothing was running: most likely a goroutine of the last cell.
		if last != nil {
			s.stream(last, what+"\n")
		}
		s.mu.Lock()
		s.notice = what + "\n"
		s.mu.Unlock()
	}
}

// reply answers r with content on r's socket.
func (s *supervisor) reply(r *request, content any) {
	s.send(r.ch, r, r.header.MsgType.Reply(), content)
}

// publish sends a message on IOPub with r as parent.
func (s *supervisor) publish(r *request, t jupyter.MsgType, content any) {
	s.send(chIOPub, r, t, content)
}

// stream shows text on stderr in r's cell.
func (s *supervisor) stream(r *request, text string) {
	s.publish(r, jupyter.Stream, jupyter.StreamContent{Name: "stderr", Text: text})
}

func (s *supervisor) send(ch byte, parent *request, t jupyter.MsgType, content any) {
	c, err := json.Marshal(content)
	if err != nil {
		s.log.Printf("encoding %s: %v", t, err)
		return
	}
	m := &jupyter.Message{Header: jupyter.Header{MsgID: newMsgID(), Session: s.session, Username: "qlab",
		Date: time.Now().UTC().Format("2006-01-02T15:04:05.000000Z07:00"), MsgType: t, Version: jupyter.ProtocolVersion},
		Content: c}
	if parent != nil {
		d := delimiter(parent.frames)
		if ch == chIOPub {
			m.Identities = [][]byte{[]byte("kernel." + s.session + "." + string(t))}
		} else {
			m.Identities = parent.frames[:d]
		}
		m.ParentHeader = json.RawMessage(parent.frames[d+2])
	}
	frames, err := jupyter.Encode(m, s.signer)
	if err != nil {
		s.log.Printf("encoding %s: %v", t, err)
		return
	}
	if err := s.sockets[ch].Send(frames); err != nil {
		s.log.Printf("%s %s: %v", channelName(ch), t, err)
	}
}

func delimiter(frames [][]byte) int {
	for i, f := range frames {
		if string(f) == jupyter.Delimiter {
			return i
		}
	}
	return -1
}

// parentID returns the msg_id of a message's parent header.
func parentID(frames [][]byte) string {
	d := delimiter(frames)
	if d < 0 || len(frames) < d+4 {
		return ""
	}
	var p struct {
		MsgID string `json:"msg_id"`
	}
	json.Unmarshal(frames[d+3], &p)
	return p.MsgID
}

func channelName(ch byte) string {
	return [...]string{"shell", "control", "stdin", "iopub"}[ch]
}

func newMsgID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

var fatalRE = regexp.MustCompile(`(?m)^fatal error: (.+)$`)

// allocThrow reports whether a crash report's stack shows the runtime
// giving up inside its memory allocator: the copy of the report on the
// evaluator's standard error starts at the stack, without the "fatal error:
// out of memory" line, which went to the capture pipe only.
func allocThrow(report string) bool {
	i := strings.Index(report, "runtime.throw(")
	if i < 0 {
		return false
	}
	throwSection := report[i:]
	if j := strings.Index(throwSection, "\n\n"); j >= 0 {
		throwSection = throwSection[:j]
	}
	for _, f := range []string{"runtime.(*mheap).sysAlloc(", "runtime.(*mheap).grow(", "runtime.sysMap(",
		"runtime.persistentalloc", "runtime.newosproc(", "runtime.sysAllocOS("} {
		if strings.Contains(throwSection, f) {
			return true
		}
	}
	return false
}

// memoryHint explains an out-of-memory death: which limit was reached and
// how to change it.
func memoryHint(fatal string) string {
	if !strings.Contains(fatal, "out of memory") {
		return ""
	}
	limit, err := evaluatorMemoryLimit()
	if err != nil || limit == 0 {
		return " (the machine's memory is exhausted)"
	}
	return fmt.Sprintf(" (the evaluator's limit of %s was reached; %s sets it)", gib(limit), memoryLimitEnv)
}

// reason names why the evaluator died, from the runtime's report (the
// "fatal error:" line goes only to descriptor 2, the capture pipe; the
// copy on its standard error starts at the stack trace), else from its exit
// status.
func (ev *evaluator) reason() string {
	var captured []byte
	if f := ev.capture.Load(); f != nil {
		captured, _ = io.ReadAll(io.LimitReader(f, 2<<20))
		f.Close()
	}
	report := ev.stderr.String()
	for _, text := range []string{string(captured), report} {
		if m := fatalRE.FindStringSubmatch(text); m != nil {
			msg := strings.TrimSpace(m[1])
			if strings.Contains(text, "errno=12") && !strings.Contains(msg, "out of memory") {
				// A thread the runtime could not create for lack of memory.
				msg += ": out of memory"
			}
			return "fatal error: " + msg + memoryHint(msg)
		}
	}
	all := string(captured) + report
	switch {
	case strings.Contains(all, "goroutine stack exceeds") || strings.Contains(all, "runtime.newstack"):
		return "fatal error: stack overflow"
	case strings.Contains(all, "out of memory") || strings.Contains(all, "errno=12") || allocThrow(all):
		// errno 12 is ENOMEM: a thread the runtime could not create.
		return "fatal error: out of memory" + memoryHint("out of memory")
	}
	st := ev.state
	if st == nil {
		return "it could not be waited for: " + fmt.Sprint(ev.waitErr)
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		if ws.Signal() == syscall.SIGKILL {
			return "killed by SIGKILL, most likely by the system's out-of-memory killer"
		}
		return "killed by signal " + ws.Signal().String()
	}
	return "exit status " + strconv.Itoa(st.ExitCode())
}

package main

import (
	binenc "encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qlab-dev/qlab/kernel/jupyter"
)

// TestStopOnErrorQueued sends a failing cell with stop_on_error and two
// cells right behind it, before the first one's reply, 20 times: both
// queued cells must be aborted every time, however the requests interleave
// with the failing cell's end.
func TestStopOnErrorQueued(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a kernel process")
	}
	c := startKernel(t, binary(t))
	if rc, _ := c.execute("ran := 0", 20*time.Second); rc["status"] != "ok" {
		t.Fatalf("setup: %v", rc)
	}
	req := func(code string) jupyter.Header {
		return c.send(c.shell, jupyter.ExecuteRequest, map[string]any{"code": code, "silent": false,
			"store_history": true, "allow_stdin": false, "stop_on_error": true, "user_expressions": map[string]any{}})
	}
	const trials = 20
	aborted := 0
	for i := range trials {
		fail := req(`panic("e")`)
		q := []jupyter.Header{req("ran++"), req("ran++")}
		status := func(h jupyter.Header) string {
			var rc map[string]any
			_ = json.Unmarshal(c.reply(c.shell, h, 20*time.Second).Content, &rc)
			c.collect(h, 5*time.Second)
			s, _ := rc["status"].(string)
			return s
		}
		if s := status(fail); s != "error" {
			t.Fatalf("trial %d: failing cell status %q; want error", i, s)
		}
		s1, s2 := status(q[0]), status(q[1])
		if s1 == "aborted" && s2 == "aborted" {
			aborted++
		} else {
			t.Errorf("trial %d: queued cells %s, %s; want aborted, aborted", i, s1, s2)
		}
	}
	// A cell sent after the error was seen runs.
	rc, out := c.execute("ran", 20*time.Second)
	if rc["status"] != "ok" || len(out) < 2 || !strings.Contains(string(out[1].Content), `"text/plain":"0"`) {
		t.Errorf("after the trials: reply %v, outputs %v; want ok and ran = 0", rc, outputs(out))
	}
	t.Logf("aborted %d/%d", aborted, trials)
}

// TestFatalErrors: errors that end the evaluator process — a stack
// overflow, concurrent map writes (runtime fatal errors that no recover
// catches), a SIGKILL as the out-of-memory killer sends — are reported on
// the cell that caused them, naming what happened, and the kernel goes on
// with a new evaluator.
func TestFatalErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a kernel process")
	}
	c := startKernel(t, binary(t))
	for _, tc := range []struct {
		name, setup, code, want string
		kill                    bool
	}{
		{"stack overflow", "func rec(n int) int { return rec(n+1) + 1 }", "rec(0)", "stack overflow", false},
		{"concurrent map writes", "m := map[int]int{}", `for g := 0; g < 4; g++ {
	go func() {
		for i := 0; ; i++ {
			m[i%64] = i
		}
	}()
}
select {}`, "concurrent map", false},
		{"killed", "", "select {}", "SIGKILL", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if rc, _ := c.execute("kept := 1\n"+tc.setup, 20*time.Second); rc["status"] != "ok" {
				t.Fatalf("setup: %v", rc)
			}
			start := time.Now()
			h := c.send(c.shell, jupyter.ExecuteRequest, map[string]any{"code": tc.code, "stop_on_error": true})
			if tc.kill {
				time.Sleep(300 * time.Millisecond)
				pid := evaluatorPID(t, c.cmd.Process.Pid)
				if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
			}
			rep := c.reply(c.shell, h, 120*time.Second)
			took := time.Since(start)
			out, _ := c.collect(h, 5*time.Second)
			var rc map[string]any
			_ = json.Unmarshal(rep.Content, &rc)
			if rc["status"] != "error" || !strings.Contains(fmt.Sprint(rc["evalue"]), tc.want) {
				t.Errorf("reply %v; want an error naming %q", rc, tc.want)
			}
			if !strings.Contains(strings.Join(outputs(out), "\n"), tc.want) {
				t.Errorf("cell outputs %v do not name %q", outputs(out), tc.want)
			}
			t.Logf("%s reported %v after the request", tc.name, took)
			// A new evaluator: the kernel answers, and the old state is gone.
			rc, out = c.execute("1 + 1", 20*time.Second)
			if rc["status"] != "ok" || len(out) < 2 || !strings.Contains(string(out[1].Content), `"text/plain":"2"`) {
				t.Errorf("after the death: reply %v, outputs %v; want 2", rc, outputs(out))
			}
			if rc, _ := c.execute("kept", 20*time.Second); rc["status"] != "error" {
				t.Errorf("a variable of the dead evaluator survived: %v", rc)
			}
		})
	}
}

// TestFatalErrorBetweenCells: a goroutine left running by a cell makes the
// evaluator die after the cell has answered; the next cell shows what
// happened.
func TestFatalErrorBetweenCells(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a kernel process")
	}
	c := startKernel(t, binary(t))
	rc, _ := c.execute(`import "time"
m := map[int]int{}
go func() {
	time.Sleep(200 * time.Millisecond)
	for g := 0; g < 4; g++ {
		go func() {
			for i := 0; ; i++ {
				m[i%64] = i
			}
		}()
	}
}()`, 20*time.Second)
	if rc["status"] != "ok" {
		t.Fatalf("cell: %v", rc)
	}
	first := evaluatorPID(t, c.cmd.Process.Pid)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if pids := childPIDs(c.cmd.Process.Pid); len(pids) == 1 && pids[0] != first {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the evaluator was not replaced within 20s")
		}
	}
	rc, out := c.execute("1 + 1", 20*time.Second)
	if rc["status"] != "ok" || !strings.Contains(strings.Join(outputs(out), "\n"), "concurrent map") {
		t.Errorf("next cell: reply %v, outputs %v; want ok and a stderr stream naming concurrent map writes", rc, outputs(out))
	}
}

// evaluatorPID returns the supervisor's child process.
func evaluatorPID(t *testing.T, supervisor int) int {
	t.Helper()
	f := childPIDs(supervisor)
	if f == nil {
		t.Skip("no /proc children lists")
	}
	if len(f) != 1 {
		t.Fatalf("supervisor has children %v; want one evaluator", f)
	}
	return f[0]
}

// childPIDs lists a process's children from /proc (each thread lists the
// children it started); nil when /proc has no such lists.
func childPIDs(pid int) []int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	if len(tasks) == 0 {
		return nil
	}
	pids := []int{}
	for _, task := range tasks {
		b, _ := os.ReadFile(task)
		for _, f := range strings.Fields(string(b)) {
			if p, err := strconv.Atoi(f); err == nil {
				pids = append(pids, p)
			}
		}
	}
	return pids
}

// zmtpPeer connects to port and, when handshake is set, performs the
// client side of a ZMTP 3.0 NULL handshake by hand as socketType, so that
// the test can then send bytes no ZeroMQ library would.
func zmtpPeer(t *testing.T, port int, socketType string, handshake bool) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	if !handshake {
		return nc
	}
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	g := make([]byte, 64)
	g[0], g[9], g[10] = 0xff, 0x7f, 3
	copy(g[12:], "NULL")
	if _, err := nc.Write(g); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(nc, g); err != nil {
		t.Fatalf("greeting: %v", err)
	}
	ready := append([]byte("\x05READY\x0bSocket-Type"), binenc.BigEndian.AppendUint32(nil, uint32(len(socketType)))...)
	ready = append(ready, socketType...)
	nc.Write(append([]byte{0x04, byte(len(ready))}, ready...))
	var h [2]byte
	if _, err := io.ReadFull(nc, h[:]); err != nil {
		t.Fatalf("READY: %v", err)
	}
	io.ReadFull(nc, make([]byte, h[1]))
	nc.SetDeadline(time.Time{})
	return nc
}

// longHeader is a ZMTP long frame header declaring size bytes.
func longHeader(size uint64) []byte { return binenc.BigEndian.AppendUint64([]byte{0x02}, size) }

// TestHugeFrameBeforeAuth: local peers declare 1 TB frames on every port,
// before the greeting and after the handshake (a signature is only checked
// once a whole message is in), then three peers stream 40 MiB each into
// 60 MiB frames and stall. The kernel stays up, answers, and its memory stays within
// the receive budget.
func TestHugeFrameBeforeAuth(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a kernel process")
	}
	c := startKernel(t, binary(t))
	before, _ := rssMB(c.cmd.Process.Pid)
	ports := map[string]int{"shell": c.ci.ShellPort, "control": c.ci.ControlPort, "stdin": c.ci.StdinPort,
		"iopub": c.ci.IOPubPort, "heartbeat": c.ci.HBPort}
	types := map[string]string{"iopub": "SUB", "heartbeat": "REQ"}
	for name, port := range ports {
		st := types[name]
		if st == "" {
			st = "DEALER"
		}
		for _, hs := range []bool{false, true} {
			nc := zmtpPeer(t, port, st, hs)
			nc.Write(longHeader(1 << 40))
			nc.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.Copy(io.Discard, nc); err != nil {
				t.Errorf("%s (handshake %v): the kernel kept a peer that declared a 1 TB frame: %v", name, hs, err)
			}
		}
	}
	chunk := make([]byte, 1<<20)
	var peak float64
	for range 3 {
		nc := zmtpPeer(t, c.ci.ShellPort, "DEALER", true)
		nc.Write(longHeader(60 << 20))
		for range 40 {
			nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if _, err := nc.Write(chunk); err != nil {
				break // evicted: the kernel dropped the largest pending message
			}
		}
		if r, err := rssMB(c.cmd.Process.Pid); err == nil {
			peak = max(peak, r)
		}
	}
	rc, out := c.execute("1 + 1", 20*time.Second)
	if rc["status"] != "ok" || len(out) < 2 || !strings.Contains(string(out[1].Content), `"text/plain":"2"`) {
		t.Errorf("after the attack: reply %v, outputs %v; want 2", rc, outputs(out))
	}
	after, _ := rssMB(c.cmd.Process.Pid)
	t.Logf("RSS before %.0f MB, peak while peers streamed 120 MiB %.0f MB, after %.0f MB", before, peak, after)
	if peak-before > 200 {
		t.Errorf("RSS grew by %.0f MB (%.0f → %.0f); want within the 64 MiB receive budget plus garbage", peak-before, before, peak)
	}
}

// TestStalledIOPubSubscriber: a second IOPub subscriber that never reads
// while cells print 80 MB: the frontend still gets all output and every
// status idle, and the kernel's memory stays bounded by the per-subscriber
// queue.
func TestStalledIOPubSubscriber(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a kernel process")
	}
	c := startKernel(t, binary(t))
	stalled := zmtpPeer(t, c.ci.IOPubPort, "SUB", true)
	if tc, ok := stalled.(*net.TCPConn); ok {
		tc.SetReadBuffer(4 << 10)
	}
	stalled.Write([]byte{0x00, 0x01, 0x01}) // subscribe to everything, then never read
	if rc, _ := c.execute(`import ("fmt"; "strings")`+"\nline := strings.Repeat(\"x\", 9999)", 20*time.Second); rc["status"] != "ok" {
		t.Fatalf("setup: %v", rc)
	}
	before, _ := rssMB(c.cmd.Process.Pid)
	var peak float64
	for i := range 8 {
		start := time.Now()
		rc, out := c.execute("for i := 0; i < 1000; i++ {\n\tfmt.Println(line)\n}", 60*time.Second)
		if rc["status"] != "ok" {
			t.Fatalf("round %d: %v", i, rc)
		}
		n := 0
		for _, m := range out {
			if m.Header.MsgType == jupyter.Stream {
				var sc jupyter.StreamContent
				_ = json.Unmarshal(m.Content, &sc)
				n += len(sc.Text)
			}
		}
		if n != 1000*10000 {
			t.Errorf("round %d: the reading client got %d bytes of output; want %d", i, n, 1000*10000)
		}
		r, _ := rssMB(c.cmd.Process.Pid)
		peak = max(peak, r)
		t.Logf("round %d: 10 MB printed in %v, RSS %.0f MB", i, time.Since(start), r)
	}
	t.Logf("RSS before %.0f MB, peak %.0f MB", before, peak)
	if peak-before > 150 {
		t.Errorf("RSS grew by %.0f MB with a stalled subscriber; want bounded by its queue (32 MiB)", peak-before)
	}
}

// TestOutOfMemory: under QLAB_MEMORY_LIMIT, a slice larger than the limit
// is refused up front and the state stays; a cell that allocates without
// end reaches the limit, and the error on the cell names it; a new
// evaluator takes over.
func TestOutOfMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a kernel process")
	}
	t.Setenv(memoryLimitEnv, "1GiB")
	c := startKernel(t, binary(t))
	if rc, _ := c.execute("import \"bytes\"\nkept := 1", 60*time.Second); rc["status"] != "ok" {
		t.Fatalf("setup: %v", rc)
	}
	rc, _ := c.execute("big := make([]float64, 200<<20)", 60*time.Second)
	if rc["status"] != "error" || !strings.Contains(fmt.Sprint(rc["evalue"]), "refused") {
		t.Errorf("a 1.6 GB slice under a 1 GiB limit: reply %v; want refused", rc)
	}
	if rc, _ := c.execute("kept", 60*time.Second); rc["status"] != "ok" {
		t.Fatalf("the refusal lost the state: %v", rc)
	}
	start := time.Now()
	rc, out := c.execute("var keep [][]byte\nfor {\n\tkeep = append(keep, bytes.Repeat([]byte{1}, 64<<20))\n}", 160*time.Second)
	took := time.Since(start)
	ev := fmt.Sprint(rc["evalue"])
	if rc["status"] != "error" || !strings.Contains(ev, "out of memory") || !strings.Contains(ev, "1.0 GiB") ||
		!strings.Contains(ev, memoryLimitEnv) {
		t.Errorf("reply %v; want an out-of-memory error naming the 1.0 GiB limit and %s", rc, memoryLimitEnv)
	}
	if !strings.Contains(strings.Join(outputs(out), "\n"), "out of memory") {
		t.Errorf("cell outputs %v do not say out of memory", outputs(out))
	}
	t.Logf("out of memory reported %v after the request", took)
	rc, out = c.execute("1 + 1", 60*time.Second)
	if rc["status"] != "ok" || len(out) < 2 || !strings.Contains(string(out[1].Content), `"text/plain":"2"`) {
		t.Errorf("after the death: reply %v, outputs %v; want 2", rc, outputs(out))
	}
}

// TestStderrBurst: a cell writing megabytes to os.Stderr (or through the
// log package) in one go gets all of it on its stderr stream, although
// descriptor 2 is non-blocking for the runtime's fatal error reports.
func TestStderrBurst(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a kernel process")
	}
	c := startKernel(t, binary(t))
	const n = 8 << 20
	for _, tc := range []struct{ name, code, stream string }{
		{"os.Stderr", `n, err := fmt.Fprint(os.Stderr, strings.Repeat("x", 8<<20))`, "stderr"},
		{"log", `log.SetFlags(0)
log.Print(strings.Repeat("x", 8<<20))
n, err := 8<<20, error(nil)`, "stderr"},
		{"os.Stdout", `n, err := fmt.Fprint(os.Stdout, strings.Repeat("x", 8<<20))`, "stdout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code := "import (\"fmt\"; \"log\"; \"os\"; \"strings\")\n" + tc.code + "\nfmt.Sprint(n, err)"
			rc, out := c.execute(code, 60*time.Second)
			got := 0
			var result string
			for _, m := range out {
				switch m.Header.MsgType {
				case jupyter.Stream:
					var s jupyter.StreamContent
					_ = json.Unmarshal(m.Content, &s)
					if s.Name == tc.stream {
						got += strings.Count(s.Text, "x")
					}
				case jupyter.ExecuteResult:
					var r struct {
						Data map[string]string `json:"data"`
					}
					_ = json.Unmarshal(m.Content, &r)
					result = r.Data["text/plain"]
				}
			}
			if rc["status"] != "ok" || got != n || result != fmt.Sprintf(`"%d <nil>"`, n) {
				t.Errorf("reply %v, result %s: %d of %d bytes on %s", rc["status"], result, got, n, tc.stream)
			}
		})
	}
}

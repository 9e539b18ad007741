package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"

	"github.com/qlab-dev/qlab/kernel/jupyter"
)

// kernelBin is the qlab-kernel binary TestMain builds for the tests that
// need a real process; "" when the build failed (buildErr says why).
var (
	kernelBin string
	buildErr  error
	buildOnce sync.Once
	binDir    string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "qlab-kernel-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// binary builds qlab-kernel once (go build -o) and returns its path.
func binary(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		out := filepath.Join(binDir, "qlab-kernel")
		cmd := exec.Command("go", "build", "-o", out, ".")
		if b, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, b)
			return
		}
		kernelBin = out
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return kernelBin
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// client drives a qlab-kernel process over real zmq4 sockets, as a
// frontend does.
type client struct {
	tb             testing.TB
	cmd            *exec.Cmd
	stderr         *bytes.Buffer
	shell, control zmq4.Socket
	stdin          zmq4.Socket // same identity as shell, as jupyter_client does
	iopub          zmq4.Socket
	signer         jupyter.Signer
	session        string
	iopubCh        chan *jupyter.Message
	cancel         context.CancelFunc
	ci             jupyter.ConnectionInfo
}

// freePorts returns n distinct free TCP ports on 127.0.0.1.
func freePorts(tb testing.TB, n int) []int {
	tb.Helper()
	var ports []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// startKernel starts the binary on a fresh connection file and connects.
// It returns once the kernel answered kernel_info_request and IOPub is
// subscribed.
func startKernel(tb testing.TB, bin string) *client {
	tb.Helper()
	p := freePorts(tb, 5)
	key := newID()
	ci := jupyter.ConnectionInfo{Transport: "tcp", IP: "127.0.0.1", ShellPort: p[0], IOPubPort: p[1], StdinPort: p[2],
		ControlPort: p[3], HBPort: p[4], SignatureScheme: "hmac-sha256", Key: key}
	b, _ := json.Marshal(ci)
	conn := filepath.Join(tb.TempDir(), "kernel.json")
	if err := os.WriteFile(conn, b, 0o600); err != nil {
		tb.Fatal(err)
	}
	c := &client{tb: tb, stderr: &bytes.Buffer{}, signer: jupyter.NewSigner([]byte(key)), session: newID(),
		iopubCh: make(chan *jupyter.Message, 4096), ci: ci}
	c.cmd = exec.Command(bin, "kernel", conn)
	c.cmd.Stderr = c.stderr
	if err := c.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	opts := []zmq4.Option{zmq4.WithDialerRetry(10 * time.Millisecond), zmq4.WithDialerMaxRetries(1000)}
	c.shell = zmq4.NewDealer(ctx, append(opts, zmq4.WithID(zmq4.SocketIdentity(c.session)))...)
	c.control = zmq4.NewDealer(ctx, append(opts, zmq4.WithID(zmq4.SocketIdentity(c.session+"-ctl")))...)
	c.stdin = zmq4.NewDealer(ctx, append(opts, zmq4.WithID(zmq4.SocketIdentity(c.session)))...)
	c.iopub = zmq4.NewSub(ctx, opts...)
	for _, d := range []struct {
		s    zmq4.Socket
		port int
	}{{c.shell, p[0]}, {c.control, p[3]}, {c.stdin, p[2]}, {c.iopub, p[1]}} {
		if err := d.s.Dial(ci.Endpoint(d.port)); err != nil {
			c.close()
			tb.Fatalf("dial %s: %v\nkernel stderr:\n%s", ci.Endpoint(d.port), err, c.stderr)
		}
	}
	if err := c.iopub.SetOption(zmq4.OptionSubscribe, ""); err != nil {
		tb.Fatal(err)
	}
	go func() {
		for {
			m, err := c.iopub.Recv()
			if err != nil {
				return
			}
			msg, err := jupyter.Decode(m.Frames, c.signer, 0)
			if err == nil {
				c.iopubCh <- msg
			}
		}
	}()
	// PUB drops messages until the subscription reaches it: ask for
	// kernel_info until its status shows up on IOPub, as jupyter_client does.
	for deadline := time.Now().Add(20 * time.Second); ; {
		h := c.send(c.shell, jupyter.KernelInfoRequest, struct{}{})
		c.reply(c.shell, h, 20*time.Second)
		if c.waitIdle(h, 200*time.Millisecond) {
			break
		}
		if time.Now().After(deadline) {
			c.close()
			tb.Fatalf("no IOPub status within 20s\nkernel stderr:\n%s", c.stderr)
		}
	}
	tb.Cleanup(c.close)
	return c
}

func (c *client) close() {
	if c.cmd.ProcessState == nil {
		c.cmd.Process.Kill()
		c.cmd.Wait()
	}
	c.cancel()
	for _, s := range []zmq4.Socket{c.shell, c.control, c.stdin, c.iopub} {
		if s != nil {
			s.Close()
		}
	}
}

func (c *client) send(s zmq4.Socket, t jupyter.MsgType, content any) jupyter.Header {
	c.tb.Helper()
	b, err := json.Marshal(content)
	if err != nil {
		c.tb.Fatal(err)
	}
	h := jupyter.Header{MsgID: newID(), Session: c.session, Username: "test", Date: time.Now().UTC().Format(time.RFC3339Nano),
		MsgType: t, Version: jupyter.ProtocolVersion}
	frames, err := jupyter.Encode(&jupyter.Message{Header: h, Content: b}, c.signer)
	if err != nil {
		c.tb.Fatal(err)
	}
	if err := s.SendMulti(zmq4.NewMsgFrom(frames...)); err != nil {
		c.tb.Fatalf("send %s: %v", t, err)
	}
	return h
}

// reply waits for the reply to req on s, skipping replies to earlier
// requests.
func (c *client) reply(s zmq4.Socket, req jupyter.Header, timeout time.Duration) *jupyter.Message {
	c.tb.Helper()
	type result struct {
		m   *jupyter.Message
		err error
	}
	deadline := time.Now().Add(timeout)
	for {
		ch := make(chan result, 1)
		go func() {
			m, err := s.Recv()
			if err != nil {
				ch <- result{err: err}
				return
			}
			msg, err := jupyter.Decode(m.Frames, c.signer, 0)
			ch <- result{msg, err}
		}()
		select {
		case r := <-ch:
			if r.err != nil {
				c.tb.Fatalf("reply to %s: %v", req.MsgType, r.err)
			}
			var ph jupyter.Header
			_ = json.Unmarshal(r.m.ParentHeader, &ph)
			if ph.MsgID == req.MsgID {
				return r.m
			}
		case <-time.After(time.Until(deadline)):
			c.tb.Fatalf("no reply to %s within %v\nkernel stderr:\n%s", req.MsgType, timeout, c.stderr)
		}
	}
}

// waitIdle reads IOPub until req's idle status, reporting whether it came
// within timeout.
func (c *client) waitIdle(req jupyter.Header, timeout time.Duration) bool {
	_, ok := c.collect(req, timeout)
	return ok
}

// collect returns req's IOPub messages up to its idle status.
func (c *client) collect(req jupyter.Header, timeout time.Duration) ([]*jupyter.Message, bool) {
	var out []*jupyter.Message
	deadline := time.After(timeout)
	for {
		select {
		case m := <-c.iopubCh:
			var ph jupyter.Header
			_ = json.Unmarshal(m.ParentHeader, &ph)
			if ph.MsgID != req.MsgID {
				continue
			}
			if m.Header.MsgType == jupyter.Status {
				var st jupyter.StatusContent
				_ = json.Unmarshal(m.Content, &st)
				if st.ExecutionState == jupyter.StateIdle {
					return out, true
				}
				continue
			}
			out = append(out, m)
		case <-deadline:
			return out, false
		}
	}
}

// execute runs code and returns the reply content and the IOPub outputs.
func (c *client) execute(code string, timeout time.Duration) (map[string]any, []*jupyter.Message) {
	c.tb.Helper()
	h := c.send(c.shell, jupyter.ExecuteRequest, map[string]any{"code": code, "silent": false, "store_history": true,
		"allow_stdin": false, "stop_on_error": true, "user_expressions": map[string]any{}})
	rep := c.reply(c.shell, h, timeout)
	var rc map[string]any
	_ = json.Unmarshal(rep.Content, &rc)
	out, ok := c.collect(h, timeout)
	if !ok {
		c.tb.Fatalf("no idle after %q", code)
	}
	return rc, out
}

// rssMB reads the process's resident set size from /proc.
func rssMB(pid int) (float64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseFloat(f[1], 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o600) }

package main

import (
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"

	"github.com/qlab-dev/qlab/kernel/jupyter"
)

// loopCells are cells that run until interrupted: an interpreted loop, and a
// compiled call (net/http's client) that only stops because it watches the
// cell's context.
var loopCells = []struct{ name, setup, code string }{
	{"interpreted loop", "", "n := 0\nfor {\n\tn++\n}"},
	{"compiled call", `import (
	"net"
	"net/http"
	"github.com/qlab-dev/qlab/kernel/cell"
)
ln, _ := net.Listen("tcp", "127.0.0.1:0")`,
		// The listener accepts connections but never answers, so Do
		// blocks inside compiled code until the context is cancelled.
		`req, _ := http.NewRequestWithContext(cell.Context(), "GET", "http://"+ln.Addr().String(), nil)
_, err := http.DefaultClient.Do(req)
err`},
}

func TestInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("starts kernel processes")
	}
	bin := binary(t)
	for _, how := range []string{"interrupt_request", "SIGINT"} {
		for _, lc := range loopCells {
			t.Run(how+"/"+lc.name, func(t *testing.T) {
				c := startKernel(t, bin)
				if rc, out := c.execute("kept := 41\n"+lc.setup, 30*time.Second); rc["status"] != "ok" {
					t.Fatalf("setup: %v %v", rc, out)
				}
				h := c.send(c.shell, jupyter.ExecuteRequest, map[string]any{"code": lc.code, "stop_on_error": true})
				// Let the cell get going before interrupting it.
				time.Sleep(300 * time.Millisecond)
				start := time.Now()
				if how == "SIGINT" {
					if err := c.cmd.Process.Signal(syscall.SIGINT); err != nil {
						t.Fatal(err)
					}
				} else {
					ir := c.send(c.control, jupyter.InterruptRequest, struct{}{})
					if rep := c.reply(c.control, ir, 5*time.Second); rep.Header.MsgType != jupyter.InterruptReply {
						t.Fatalf("got %s; want interrupt_reply", rep.Header.MsgType)
					}
				}
				rep := c.reply(c.shell, h, 10*time.Second)
				elapsed := time.Since(start)
				var rc map[string]any
				_ = json.Unmarshal(rep.Content, &rc)
				if elapsed > time.Second {
					t.Errorf("cell stopped %v after the interrupt; want ≤ 1s", elapsed)
				}
				if lc.name == "interpreted loop" && rc["status"] != "error" {
					t.Errorf("interrupted loop reply %v; want status error", rc)
				}
				out, _ := c.collect(h, 5*time.Second)
				if lc.name == "compiled call" && rc["status"] != "error" &&
					!strings.Contains(strings.Join(outputs(out), "\n"), "context canceled") {
					t.Errorf("interrupted call: reply %v, outputs %v; want an error or a context canceled result", rc, outputs(out))
				}
				rc, out = c.execute("kept + 1", 10*time.Second)
				if rc["status"] != "ok" || len(out) < 2 || !strings.Contains(string(out[1].Content), `"text/plain":"42"`) {
					t.Errorf("after the interrupt: reply %v, outputs %v; want kept+1 = 42", rc, outputs(out))
				}
			})
		}
	}
}

func outputs(ms []*jupyter.Message) []string {
	var s []string
	for _, m := range ms {
		s = append(s, string(m.Header.MsgType)+" "+string(m.Content))
	}
	return s
}

// TestInput reads a line through cell.Input: the kernel sends an
// input_request on stdin to the client that sent the cell and the cell gets
// the input_reply's value.
func TestInput(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a kernel process")
	}
	c := startKernel(t, binary(t))
	h := c.send(c.shell, jupyter.ExecuteRequest, map[string]any{"code": "import \"github.com/qlab-dev/qlab/kernel/cell\"\n" +
		"name, err := cell.Input(\"name? \")\nif err != nil {\n\tpanic(err)\n}\nname", "allow_stdin": true})
	ir := c.reply(c.stdin, h, 20*time.Second)
	var ic jupyter.InputRequestContent
	_ = json.Unmarshal(ir.Content, &ic)
	if ir.Header.MsgType != jupyter.InputRequest || ic.Prompt != "name? " || ic.Password {
		t.Fatalf("got %s %s; want input_request with prompt \"name? \"", ir.Header.MsgType, ir.Content)
	}
	c.send(c.stdin, jupyter.InputReply, map[string]any{"value": "Ada"})
	rep := c.reply(c.shell, h, 20*time.Second)
	out, _ := c.collect(h, 5*time.Second)
	if !strings.Contains(string(rep.Content), `"status":"ok"`) || !strings.Contains(strings.Join(outputs(out), "\n"), `Ada`) {
		t.Errorf("reply %s, outputs %v; want ok and a result showing Ada", rep.Content, outputs(out))
	}
}

func TestHeartbeat(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a kernel process")
	}
	c := startKernel(t, binary(t))
	req := zmq4.NewReq(t.Context())
	defer req.Close()
	if err := req.Dial(c.ci.Endpoint(c.ci.HBPort)); err != nil {
		t.Fatal(err)
	}
	for _, ping := range []string{"ping", "\x00binary\xff"} {
		if err := req.Send(zmq4.NewMsgString(ping)); err != nil {
			t.Fatal(err)
		}
		got := make(chan string, 1)
		go func() {
			m, err := req.Recv()
			if err != nil {
				got <- "error: " + err.Error()
				return
			}
			got <- string(m.Bytes())
		}()
		select {
		case g := <-got:
			if g != ping {
				t.Errorf("heartbeat echoed %q; want %q", g, ping)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no heartbeat echo within 5s")
		}
	}
}

func TestShutdownRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a kernel process")
	}
	c := startKernel(t, binary(t))
	h := c.send(c.control, jupyter.ShutdownRequest, map[string]any{"restart": true})
	rep := c.reply(c.control, h, 5*time.Second)
	var sc jupyter.ShutdownContent
	_ = json.Unmarshal(rep.Content, &sc)
	if sc.Status != jupyter.StatusOK || !sc.Restart {
		t.Errorf("shutdown_reply %s; want ok, restart true", rep.Content)
	}
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("kernel exited with %v; want 0\n%s", err, c.stderr)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("kernel still running 5s after shutdown_request")
	}
}

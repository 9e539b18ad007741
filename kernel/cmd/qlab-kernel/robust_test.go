package main

import (
	"encoding/json"
	"strings"
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

// TestStackOverflow runs unbounded recursion, which the Go runtime ends
// with a fatal error: the kernel process must not hang. It dies with the
// runtime's report on its standard error.
func TestStackOverflow(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a kernel process")
	}
	c := startKernel(t, binary(t))
	if rc, _ := c.execute("func rec(n int) int { return rec(n+1) + 1 }", 20*time.Second); rc["status"] != "ok" {
		t.Fatalf("setup: %v", rc)
	}
	start := time.Now()
	c.send(c.shell, jupyter.ExecuteRequest, map[string]any{"code": "rec(0)", "stop_on_error": true})
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		t.Logf("kernel exited %v after %v", err, time.Since(start))
	case <-time.After(60 * time.Second):
		t.Fatalf("kernel neither answered nor exited within 60s")
	}
	// The runtime's "fatal error: stack overflow" line goes only to
	// descriptor 2 (the capture pipe); the copy on the kernel's standard
	// error starts at the traceback, whose top is runtime.newstack.
	if e := c.stderr.String(); !strings.Contains(e, "stack overflow") && !strings.Contains(e, "runtime.newstack") {
		t.Errorf("kernel stderr does not name the stack overflow:\n%s", c.stderr)
	}
}

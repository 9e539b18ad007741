package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/qlab-dev/qlab/kernel/jupyter"
)

// TestStdinScanOverSockets (issue 10, item 6): fmt.Scanln and a
// bufio.Reader over os.Stdin in a cell send an input_request to the client
// when allow_stdin is true and read its input_reply; without allow_stdin
// the read fails with an error saying so.
func TestStdinScanOverSockets(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a kernel process")
	}
	c := startKernel(t, binary(t))
	c.execute("import (\n\"bufio\"\n\"fmt\"\n\"os\"\n)", 20*time.Second)
	for _, tc := range []struct{ name, code, reply, want string }{
		{"fmt.Scanln", "var s string\nfmt.Scanln(&s)\ns + \"!\"", "Ada", `Ada!`},
		{"bufio.Reader", "line, _ := bufio.NewReader(os.Stdin).ReadString('\\n')\nlen(line)", "four", "5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := c.send(c.shell, jupyter.ExecuteRequest, map[string]any{"code": tc.code, "allow_stdin": true})
			ir := c.reply(c.stdin, h, 20*time.Second)
			if ir.Header.MsgType != jupyter.InputRequest {
				t.Fatalf("got %s; want input_request", ir.Header.MsgType)
			}
			c.send(c.stdin, jupyter.InputReply, map[string]any{"value": tc.reply})
			rep := c.reply(c.shell, h, 20*time.Second)
			out, _ := c.collect(h, 5*time.Second)
			if !strings.Contains(string(rep.Content), `"status":"ok"`) || !strings.Contains(strings.Join(outputs(out), "\n"), tc.want) {
				t.Errorf("reply %s, outputs %v; want ok and %s", rep.Content, outputs(out), tc.want)
			}
		})
	}
	t.Run("not allowed", func(t *testing.T) {
		_, out := c.execute("var s2 string\n_, err := fmt.Scanln(&s2)\nerr", 20*time.Second)
		var all []string
		for _, m := range out {
			var v map[string]any
			_ = json.Unmarshal(m.Content, &v)
			b, _ := json.Marshal(v)
			all = append(all, string(b))
		}
		if !strings.Contains(strings.Join(all, "\n"), "allow_stdin is false") {
			t.Errorf("outputs %v; want an error saying allow_stdin is false", all)
		}
	})
}

package jupyter

import (
	"encoding/json"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestKernelInfo(t *testing.T) {
	h := newHarness(t, &fakeEval{})
	for _, tc := range []struct {
		name string
		sock *memSocket
	}{{"shell", h.shell}, {"control", h.control}} {
		t.Run(tc.name, func(t *testing.T) {
			req := h.send(tc.sock, "client-"+tc.name, KernelInfoRequest, struct{}{})
			rep := h.next(tc.sock)
			if got, want := string(rep.Identities[0]), "client-"+tc.name; got != want || len(rep.Identities) != 1 {
				t.Errorf("reply identities %q; want [%q]", rep.Identities, want)
			}
			if rep.Header.MsgType != KernelInfoReply || parentID(rep) != req.MsgID {
				t.Errorf("got %s parent %s; want kernel_info_reply parent %s", rep.Header.MsgType, parentID(rep), req.MsgID)
			}
			if rep.Header.Version != "5.3" || rep.Header.Session == "" || rep.Header.Date == "" {
				t.Errorf("header %+v lacks version 5.3, session or date", rep.Header)
			}
			c := content[KernelInfoReplyContent](t, rep)
			li := c.LanguageInfo
			if c.Status != StatusOK || c.ProtocolVersion != "5.3" || c.Implementation != "qlab" || c.Banner == "" ||
				li.Name != "go" || li.Version != strings.TrimPrefix(runtime.Version(), "go") || li.MIMEType != "text/x-go" ||
				li.FileExtension != ".go" || li.PygmentsLexer != "go" || li.CodemirrorMode != "go" || len(c.HelpLinks) == 0 {
				t.Errorf("kernel_info_reply %+v", c)
			}
			if msgs := h.iopubFor(req); len(msgs) != 0 {
				t.Errorf("IOPub between busy and idle: %s; want nothing", types(msgs))
			}
		})
	}
}

func TestExecute(t *testing.T) {
	tests := []struct {
		code      string
		iopub     string // message types between busy and idle
		status    ReplyStatus
		check     func(t *testing.T, out []*Message)
		wantCount int
	}{
		{code: "print hello, world", iopub: "execute_input,stream", status: StatusOK, wantCount: 1,
			check: func(t *testing.T, out []*Message) {
				c := content[StreamContent](t, out[1])
				if c.Name != "stdout" || c.Text != "hello, world\n" {
					t.Errorf("stream %+v; want stdout hello, world", c)
				}
			}},
		{code: "eprint oops", iopub: "execute_input,stream", status: StatusOK, wantCount: 2,
			check: func(t *testing.T, out []*Message) {
				if c := content[StreamContent](t, out[1]); c.Name != "stderr" {
					t.Errorf("stream name %q; want stderr", c.Name)
				}
			}},
		{code: "result 42", iopub: "execute_input,execute_result", status: StatusOK, wantCount: 3,
			check: func(t *testing.T, out []*Message) {
				c := content[ExecuteResultContent](t, out[1])
				if c.ExecutionCount != 3 || c.Data["text/plain"] != "42" || c.Metadata == nil {
					t.Errorf("execute_result %+v; want count 3, text/plain 42, metadata {}", c)
				}
				if in := content[ExecuteInputContent](t, out[0]); in.Code != "result 42" || in.ExecutionCount != 3 {
					t.Errorf("execute_input %+v", in)
				}
			}},
		{code: "print a\nerror boom", iopub: "execute_input,stream,error", status: StatusError, wantCount: 4,
			check: func(t *testing.T, out []*Message) {
				c := content[ErrorContent](t, out[2])
				if c.Ename != "panic" || c.Evalue != "boom" || len(c.Traceback) != 2 {
					t.Errorf("error %+v; want panic/boom with a 2-line traceback", c)
				}
			}},
		{code: "display image/png\nupdate d1\nclear wait", iopub: "execute_input,display_data,update_display_data,clear_output",
			status: StatusOK, wantCount: 5, check: func(t *testing.T, out []*Message) {
				var raw map[string]json.RawMessage
				_ = json.Unmarshal(out[1].Content, &raw)
				if _, ok := raw["metadata"]; !ok {
					t.Errorf("display_data without metadata: %s", out[1].Content)
				}
				u := content[MIMEBundle](t, out[2])
				if u.Transient["display_id"] != "d1" {
					t.Errorf("update_display_data transient %v; want display_id d1", u.Transient)
				}
				if c := content[ClearOutputContent](t, out[3]); !c.Wait {
					t.Errorf("clear_output wait false; want true")
				}
			}},
		{code: "panic evaluator bug", iopub: "execute_input,error", status: StatusError, wantCount: 6},
	}
	h := newHarness(t, &fakeEval{})
	for _, tc := range tests {
		t.Run(strings.ReplaceAll(tc.code, "\n", ";"), func(t *testing.T) {
			req := h.send(h.shell, "c1", ExecuteRequest, map[string]any{"code": tc.code, "silent": false})
			rep := h.next(h.shell)
			out := h.iopubFor(req)
			if got := types(out); got != tc.iopub {
				t.Fatalf("IOPub %s; want %s", got, tc.iopub)
			}
			var c struct {
				Status         ReplyStatus `json:"status"`
				ExecutionCount int         `json:"execution_count"`
				Ename          string      `json:"ename"`
			}
			if err := json.Unmarshal(rep.Content, &c); err != nil {
				t.Fatal(err)
			}
			if rep.Header.MsgType != ExecuteReply || parentID(rep) != req.MsgID || c.Status != tc.status ||
				c.ExecutionCount != tc.wantCount {
				t.Errorf("reply %s %s; want execute_reply status %s count %d", rep.Header.MsgType, rep.Content, tc.status, tc.wantCount)
			}
			if tc.status == StatusError && c.Ename == "" {
				t.Errorf("error reply without ename: %s", rep.Content)
			}
			if tc.check != nil {
				tc.check(t, out)
			}
		})
	}
}

func TestSilentAndStoreHistory(t *testing.T) {
	h := newHarness(t, &fakeEval{})
	exec := func(code string, opts map[string]any) (ExecuteReplyContent, []*Message) {
		t.Helper()
		c := map[string]any{"code": code}
		for k, v := range opts {
			c[k] = v
		}
		req := h.send(h.shell, "c", ExecuteRequest, c)
		rep := content[ExecuteReplyContent](t, h.next(h.shell))
		return rep, h.iopubFor(req)
	}
	if rep, _ := exec("result 1", nil); rep.ExecutionCount != 1 {
		t.Fatalf("first count %d; want 1", rep.ExecutionCount)
	}
	rep, out := exec("print x\nresult 2", map[string]any{"silent": true})
	if len(out) != 0 || rep.ExecutionCount != 1 || rep.Status != StatusOK {
		t.Errorf("silent: IOPub %s, count %d; want nothing and count 1", types(out), rep.ExecutionCount)
	}
	rep, out = exec("result 3", map[string]any{"store_history": false})
	if types(out) != "execute_input,execute_result" || rep.ExecutionCount != 1 {
		t.Errorf("store_history false: IOPub %s, count %d; want execute_input,execute_result and count 1", types(out), rep.ExecutionCount)
	}
	if rep, _ = exec("  \n", nil); rep.ExecutionCount != 1 || rep.Status != StatusOK {
		t.Errorf("empty cell: count %d, status %s; want 1 (not counted), ok", rep.ExecutionCount, rep.Status)
	}
	if rep, _ = exec("result 4", nil); rep.ExecutionCount != 2 {
		t.Errorf("count after a silent, a store_history=false and an empty cell %d; want 2", rep.ExecutionCount)
	}
	req := h.send(h.shell, "c", HistoryRequest, map[string]any{"hist_access_type": "tail", "n": 10, "output": false, "raw": true})
	hist := content[HistoryReplyContent](t, h.next(h.shell))
	h.iopubFor(req)
	var codes []any
	for _, e := range hist.History {
		codes = append(codes, e[2])
	}
	if want := []any{"result 1", "result 4"}; !reflect.DeepEqual(codes, want) {
		t.Errorf("history %v; want %v (silent and store_history=false cells are not stored)", codes, want)
	}
}

func TestUserExpressions(t *testing.T) {
	h := newHarness(t, &fakeEval{})
	req := h.send(h.shell, "c", ExecuteRequest, map[string]any{"code": "set 7", "user_expressions": map[string]string{
		"v": "get", "bad": "error nope", "none": "set 7"}})
	rep := content[ExecuteReplyContent](t, h.next(h.shell))
	h.iopubFor(req)
	got, _ := json.Marshal(rep.UserExprs)
	var ue map[string]map[string]any
	_ = json.Unmarshal(got, &ue)
	if v := ue["v"]; v["status"] != "ok" || v["data"].(map[string]any)["text/plain"] != "7" {
		t.Errorf("user_expressions v = %v; want ok with text/plain 7", v)
	}
	if v := ue["bad"]; v["status"] != "error" || v["ename"] != "panic" || v["evalue"] != "nope" {
		t.Errorf("user_expressions bad = %v; want error panic/nope", v)
	}
	if v := ue["none"]; v["status"] != "ok" || len(v["data"].(map[string]any)) != 0 {
		t.Errorf("user_expressions none = %v; want ok with empty data", v)
	}
}

func TestStopOnError(t *testing.T) {
	for _, tc := range []struct {
		name         string
		stop, silent bool
	}{{"stop", true, false}, {"continue", false, false}, {"silent error does not abort", true, true}} {
		stop := tc.stop && !tc.silent
		t.Run(tc.name, func(t *testing.T) {
			ev := &fakeEval{started: make(chan string, 8), gate: make(chan struct{})}
			h := newHarness(t, ev)
			first := h.send(h.shell, "c", ExecuteRequest, map[string]any{"code": "gate\nerror first", "stop_on_error": tc.stop,
				"silent": tc.silent})
			<-ev.started
			queued := []Header{
				h.send(h.shell, "c", ExecuteRequest, map[string]any{"code": "print second"}),
				h.send(h.shell, "c", CompleteRequest, map[string]any{"code": "fm", "cursor_pos": 2}),
				h.send(h.shell, "c", ExecuteRequest, map[string]any{"code": "print third"}),
			}
			for deadline := time.Now().Add(5 * time.Second); len(h.k.shellQ) < len(queued); {
				if time.Now().After(deadline) {
					t.Fatalf("requests not queued")
				}
				time.Sleep(time.Millisecond)
			}
			close(ev.gate)
			if c := content[statusReply](t, h.next(h.shell)); c.Status != StatusError {
				t.Fatalf("first reply status %s; want error", c.Status)
			}
			h.iopubFor(first)
			wantExec := StatusAborted
			if !stop {
				wantExec = StatusOK
			}
			for i, want := range []ReplyStatus{wantExec, StatusOK, wantExec} {
				rep := h.next(h.shell)
				if got := content[statusReply](t, rep).Status; got != want || parentID(rep) != queued[i].MsgID {
					t.Errorf("reply %d (%s) status %s; want %s", i, rep.Header.MsgType, got, want)
				}
				out := h.iopubFor(queued[i])
				if want == StatusAborted && len(out) != 0 {
					t.Errorf("aborted request produced IOPub %s", types(out))
				}
			}
		})
	}
}

func TestInterrupt(t *testing.T) {
	for _, how := range []string{"interrupt_request", "Kernel.Interrupt"} {
		t.Run(how, func(t *testing.T) {
			ev := &fakeEval{started: make(chan string, 8)}
			h := newHarness(t, ev)
			h.send(h.shell, "c", ExecuteRequest, map[string]any{"code": "set kept"})
			h.next(h.shell)
			<-ev.started
			req := h.send(h.shell, "c", ExecuteRequest, map[string]any{"code": "block"})
			<-ev.started
			// Control is served while the cell runs.
			h.send(h.control, "ctl", KernelInfoRequest, struct{}{})
			if rep := h.next(h.control); rep.Header.MsgType != KernelInfoReply {
				t.Fatalf("control reply %s while a cell runs; want kernel_info_reply", rep.Header.MsgType)
			}
			start := time.Now()
			if how == "interrupt_request" {
				h.send(h.control, "ctl", InterruptRequest, struct{}{})
				if rep := h.next(h.control); rep.Header.MsgType != InterruptReply || content[statusReply](t, rep).Status != StatusOK {
					t.Fatalf("got %s %s; want interrupt_reply ok", rep.Header.MsgType, rep.Content)
				}
			} else {
				h.k.Interrupt()
			}
			rep := h.next(h.shell)
			if d := time.Since(start); d > time.Second {
				t.Errorf("cell stopped %v after the interrupt; want ≤ 1s", d)
			}
			if c := content[statusReply](t, rep); c.Status != StatusError || parentID(rep) != req.MsgID {
				t.Errorf("interrupted cell reply %s; want status error", rep.Content)
			}
			req = h.send(h.shell, "c", ExecuteRequest, map[string]any{"code": "get"})
			<-ev.started
			if c := content[ExecuteReplyContent](t, h.next(h.shell)); c.Status != StatusOK {
				t.Errorf("cell after interrupt: %+v", c)
			}
			var res *Message
			for res == nil || res.Header.MsgType != ExecuteResult {
				res = h.next(h.iopub)
			}
			if c := content[ExecuteResultContent](t, res); c.Data["text/plain"] != "kept" {
				t.Errorf("state after interrupt %v; want kept", c.Data["text/plain"])
			}
		})
	}
}

func TestCompleteInspectIsComplete(t *testing.T) {
	h := newHarness(t, &fakeEval{})
	ask := func(t *testing.T, typ MsgType, c map[string]any) *Message {
		t.Helper()
		req := h.send(h.shell, "c", typ, c)
		rep := h.next(h.shell)
		if rep.Header.MsgType != typ.Reply() || parentID(rep) != req.MsgID {
			t.Fatalf("got %s; want %s", rep.Header.MsgType, typ.Reply())
		}
		h.iopubFor(req)
		return rep
	}
	t.Run("complete code points", func(t *testing.T) {
		// "é" is two bytes but one code point: the range must count runes.
		c := content[CompleteReplyContent](t, ask(t, CompleteRequest, map[string]any{"code": "é := f", "cursor_pos": 6}))
		if !reflect.DeepEqual(c.Matches, []string{"fmt", "func", "float64"}) || c.CursorStart != 5 || c.CursorEnd != 6 || c.Status != StatusOK {
			t.Errorf("complete %+v; want 3 matches in [5,6)", c)
		}
	})
	t.Run("complete default cursor", func(t *testing.T) {
		c := content[CompleteReplyContent](t, ask(t, CompleteRequest, map[string]any{"code": "x := fl"}))
		if !reflect.DeepEqual(c.Matches, []string{"float64"}) || c.CursorStart != 5 || c.CursorEnd != 7 {
			t.Errorf("complete %+v; want float64 in [5,7)", c)
		}
	})
	t.Run("complete none", func(t *testing.T) {
		c := content[CompleteReplyContent](t, ask(t, CompleteRequest, map[string]any{"code": "zz", "cursor_pos": 99}))
		if c.Matches == nil || len(c.Matches) != 0 {
			t.Errorf("matches %#v; want empty non-null list", c.Matches)
		}
	})
	t.Run("inspect", func(t *testing.T) {
		c := content[InspectReplyContent](t, ask(t, InspectRequest, map[string]any{"code": "fmt.Println", "cursor_pos": 2, "detail_level": 1}))
		if !c.Found || c.Data["text/plain"] != "package fmt (cursor 2, detail 1)" {
			t.Errorf("inspect %+v", c)
		}
		c = content[InspectReplyContent](t, ask(t, InspectRequest, map[string]any{"code": "zz", "cursor_pos": 1}))
		if c.Found || c.Status != StatusOK || c.Data == nil {
			t.Errorf("inspect not found %+v; want ok, found false, data {}", c)
		}
	})
	for _, tc := range []struct{ code, status, indent string }{
		{"x := 1", "complete", ""}, {"func f() {", "incomplete", "\t"}, {"}", "invalid", ""},
	} {
		t.Run("is_complete "+tc.code, func(t *testing.T) {
			c := content[IsCompleteReplyContent](t, ask(t, IsCompleteRequest, map[string]any{"code": tc.code}))
			if c.Status != tc.status || c.Indent != tc.indent {
				t.Errorf("got %+v; want %s %q", c, tc.status, tc.indent)
			}
		})
	}
}

func TestHistory(t *testing.T) {
	h := newHarness(t, &fakeEval{})
	for _, code := range []string{"result 1+2+3", "print a", "result 1+2+3", "result 10", "error e"} {
		req := h.send(h.shell, "c", ExecuteRequest, map[string]any{"code": code})
		h.next(h.shell)
		h.iopubFor(req)
	}
	tests := []struct {
		name string
		req  map[string]any
		want [][3]any
	}{
		{"tail", map[string]any{"hist_access_type": "tail", "n": 2}, [][3]any{{1.0, 4.0, "result 10"}, {1.0, 5.0, "error e"}}},
		{"tail output", map[string]any{"hist_access_type": "tail", "n": 3, "output": true},
			[][3]any{{1.0, 3.0, []any{"result 1+2+3", "1+2+3"}}, {1.0, 4.0, []any{"result 10", "10"}}, {1.0, 5.0, []any{"error e", nil}}}},
		{"range", map[string]any{"hist_access_type": "range", "session": 1, "start": 2, "stop": 4},
			[][3]any{{1.0, 2.0, "print a"}, {1.0, 3.0, "result 1+2+3"}}},
		{"range current session", map[string]any{"hist_access_type": "range", "session": 0, "start": 5},
			[][3]any{{1.0, 5.0, "error e"}}},
		{"range other session", map[string]any{"hist_access_type": "range", "session": 7, "start": 1}, [][3]any{}},
		{"search", map[string]any{"hist_access_type": "search", "pattern": "result 1?2*"},
			[][3]any{{1.0, 1.0, "result 1+2+3"}, {1.0, 3.0, "result 1+2+3"}}},
		{"search unique", map[string]any{"hist_access_type": "search", "pattern": "result 1*", "unique": true},
			[][3]any{{1.0, 3.0, "result 1+2+3"}, {1.0, 4.0, "result 10"}}},
		{"search n", map[string]any{"hist_access_type": "search", "pattern": "*", "n": 2},
			[][3]any{{1.0, 4.0, "result 10"}, {1.0, 5.0, "error e"}}},
		{"search class", map[string]any{"hist_access_type": "search", "pattern": "[pe]*"},
			[][3]any{{1.0, 2.0, "print a"}, {1.0, 5.0, "error e"}}},
		{"search anchored", map[string]any{"hist_access_type": "search", "pattern": "1+2"}, [][3]any{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.req["raw"] = true
			if _, ok := tc.req["output"]; !ok {
				tc.req["output"] = false
			}
			req := h.send(h.shell, "c", HistoryRequest, tc.req)
			rep := h.next(h.shell)
			h.iopubFor(req)
			var c struct {
				Status  string   `json:"status"`
				History [][3]any `json:"history"`
			}
			if err := json.Unmarshal(rep.Content, &c); err != nil {
				t.Fatal(err)
			}
			if c.Status != "ok" || !reflect.DeepEqual(c.History, tc.want) {
				t.Errorf("history %s; want %v", rep.Content, tc.want)
			}
		})
	}
}

func TestComms(t *testing.T) {
	h := newHarness(t, &fakeEval{})
	req := h.send(h.shell, "c", CommInfoRequest, map[string]any{"target_name": "jupyter.widget"})
	if c := content[CommInfoReplyContent](t, h.next(h.shell)); c.Status != StatusOK || c.Comms == nil || len(c.Comms) != 0 {
		t.Errorf("comm_info_reply %+v; want ok and {}", c)
	}
	h.iopubFor(req)
	req = h.send(h.shell, "c", CommOpen, map[string]any{"comm_id": "abc", "target_name": "jupyter.widget", "data": map[string]any{}})
	out := h.iopubFor(req)
	if types(out) != "comm_close" || content[CommContent](t, out[0]).CommID != "abc" {
		t.Errorf("IOPub after comm_open %s; want comm_close of abc", types(out))
	}
	h.none(h.shell, 50*time.Millisecond)
}

func TestInput(t *testing.T) {
	h := newHarness(t, &fakeEval{})
	req := h.send(h.shell, "user-1", ExecuteRequest, map[string]any{"code": "input name?", "allow_stdin": true})
	ir := h.next(h.stdin)
	if ir.Header.MsgType != InputRequest || string(ir.Identities[0]) != "user-1" || parentID(ir) != req.MsgID {
		t.Fatalf("got %s to %q parent %s; want input_request to user-1", ir.Header.MsgType, ir.Identities, parentID(ir))
	}
	if c := content[InputRequestContent](t, ir); c.Prompt != "name?" || c.Password {
		t.Errorf("input_request %+v", c)
	}
	h.send(h.stdin, "user-1", InputReply, map[string]any{"value": "Ada"})
	if c := content[statusReply](t, h.next(h.shell)); c.Status != StatusOK {
		t.Fatalf("reply %+v", c)
	}
	out := h.iopubFor(req)
	if types(out) != "execute_input,stream" || content[StreamContent](t, out[1]).Text != "Ada" {
		t.Errorf("IOPub %s; want the input echoed", types(out))
	}

	req = h.send(h.shell, "user-1", ExecuteRequest, map[string]any{"code": "input name?", "allow_stdin": false})
	if c := content[errorReply](t, h.next(h.shell)); c.Status != StatusError || !strings.Contains(c.Evalue, "allow_stdin") {
		t.Errorf("reply without stdin %+v; want an error naming allow_stdin", c)
	}
	h.iopubFor(req)
	h.none(h.stdin, 20*time.Millisecond)
}

func TestMalformed(t *testing.T) {
	h := newHarness(t, &fakeEval{})
	good := func() [][]byte {
		m := &Message{Identities: [][]byte{[]byte("c")}, Header: Header{MsgID: "m1", Session: "s", MsgType: ExecuteRequest,
			Version: "5.3"}, Content: json.RawMessage(`{"code":"print x"}`)}
		f, _ := Encode(m, h.signer)
		return f
	}
	signed := func(hdr, content string) [][]byte {
		return [][]byte{[]byte("c"), []byte(Delimiter), []byte(h.signer.Sign([]byte(hdr), []byte("{}"), []byte("{}"), []byte(content))),
			[]byte(hdr), []byte("{}"), []byte("{}"), []byte(content)}
	}
	dropped := []struct {
		name   string
		frames [][]byte
	}{
		{"no delimiter", [][]byte{[]byte("c"), []byte("{}")}},
		{"short", [][]byte{[]byte(Delimiter), []byte("sig")}},
		{"bad signature", func() [][]byte { f := good(); f[2] = []byte(strings.Repeat("0", 64)); return f }()},
		{"tampered content", func() [][]byte { f := good(); f[6] = []byte(`{"code":"rm"}`); return f }()},
		{"bad header JSON", signed(`{"msg_type":`, `{}`)},
		{"empty", nil},
	}
	for _, tc := range dropped {
		t.Run(tc.name, func(t *testing.T) {
			h.shell.in <- tc.frames
			h.none(h.shell, 20*time.Millisecond)
		})
	}
	answered := []struct{ name, hdr, content, evalue string }{
		{"bad content JSON", `{"msg_id":"a","msg_type":"execute_request","session":"s","version":"5.3"}`, `{"code":`, "bad JSON"},
		{"content not object", `{"msg_id":"b","msg_type":"execute_request","session":"s","version":"5.3"}`, `[1]`, "not a JSON object"},
		{"missing code", `{"msg_id":"c","msg_type":"execute_request","session":"s","version":"5.3"}`, `{"silent":false}`, `no "code" field`},
		{"wrong type", `{"msg_id":"d","msg_type":"complete_request","session":"s","version":"5.3"}`, `{"code":5}`, "bad content"},
		{"bad history access", `{"msg_id":"e","msg_type":"history_request","session":"s","version":"5.3"}`, `{"hist_access_type":"all"}`, "not range, tail or search"},
	}
	for _, tc := range answered {
		t.Run(tc.name, func(t *testing.T) {
			h.shell.in <- signed(tc.hdr, tc.content)
			rep := h.next(h.shell)
			c := content[errorReply](t, rep)
			if c.Status != StatusError || !strings.Contains(c.Evalue, tc.evalue) || !strings.HasSuffix(string(rep.Header.MsgType), "_reply") {
				t.Errorf("reply %s %+v; want error containing %q", rep.Header.MsgType, c, tc.evalue)
			}
		})
	}
	t.Run("unknown type", func(t *testing.T) {
		req := h.send(h.shell, "c", MsgType("frobnicate_request"), struct{}{})
		h.none(h.shell, 20*time.Millisecond)
		for {
			if m := h.next(h.iopub); parentID(m) == req.MsgID && state(m) == StateIdle {
				break
			}
		}
		if !strings.Contains(h.log.String(), `unknown message type "frobnicate_request"`) {
			t.Errorf("log does not mention the unknown type:\n%s", h.log.String())
		}
	})
	t.Run("still serving", func(t *testing.T) {
		h.send(h.shell, "c", KernelInfoRequest, struct{}{})
		if rep := h.next(h.shell); rep.Header.MsgType != KernelInfoReply {
			t.Errorf("got %s; want kernel_info_reply", rep.Header.MsgType)
		}
	})
	if !strings.Contains(h.log.String(), "bad signature") {
		t.Errorf("bad signature not logged:\n%s", h.log.String())
	}
}

func TestIdentitiesRouteReplies(t *testing.T) {
	h := newHarness(t, &fakeEval{})
	// A client behind a ROUTER-DEALER proxy has several identity frames.
	m := &Message{Identities: [][]byte{[]byte("proxy"), []byte("client-7")}, Header: Header{MsgID: "x", Session: "s",
		MsgType: KernelInfoRequest, Version: "5.3"}, Content: json.RawMessage(`{}`)}
	f, _ := Encode(m, h.signer)
	h.shell.in <- f
	rep := h.next(h.shell)
	if !reflect.DeepEqual(rep.Identities, m.Identities) {
		t.Errorf("reply identities %q; want %q", rep.Identities, m.Identities)
	}
	var ph map[string]any
	_ = json.Unmarshal(rep.ParentHeader, &ph)
	if ph["msg_id"] != "x" || ph["msg_type"] != "kernel_info_request" {
		t.Errorf("parent header %s; want the request header", rep.ParentHeader)
	}
}

func TestShutdown(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "restart"}[restart], func(t *testing.T) {
			h := newHarness(t, &fakeEval{})
			req := h.send(h.control, "ctl", ShutdownRequest, map[string]any{"restart": restart})
			rep := h.next(h.control)
			if c := content[ShutdownContent](t, rep); c.Status != StatusOK || c.Restart != restart {
				t.Errorf("shutdown_reply %+v; want ok restart %v", c, restart)
			}
			out := h.iopubFor(req)
			if types(out) != "shutdown_reply" {
				t.Errorf("IOPub %s; want shutdown_reply", types(out))
			}
			select {
			case err := <-h.done:
				h.done <- err
				if err != nil {
					t.Errorf("serve: %v", err)
				}
			case <-time.After(3 * time.Second):
				t.Fatalf("kernel still serving 3s after shutdown_request")
			}
			if h.k.RestartRequested() != restart {
				t.Errorf("RestartRequested %v; want %v", h.k.RestartRequested(), restart)
			}
		})
	}
}

func TestHelpQuery(t *testing.T) {
	for _, tc := range []struct {
		code, name string
		detail     int
		ok         bool
	}{
		{"fmt.Println?", "fmt.Println", 0, true},
		{"  x??\n", "x", 1, true},
		{"?strings.HasPrefix", "strings.HasPrefix", 0, true},
		{"x?y", "", 0, false},
		{"x", "", 0, false},
		{"?x?", "", 0, false},
		{"a.b()?", "", 0, false},
		{"x???", "", 0, false},
	} {
		name, detail, ok := helpQuery(tc.code)
		if name != tc.name || detail != tc.detail || ok != tc.ok {
			t.Errorf("helpQuery(%q) = %q, %d, %v; want %q, %d, %v", tc.code, name, detail, ok, tc.name, tc.detail, tc.ok)
		}
	}
	h := newHarness(t, &fakeEval{})
	req := h.send(h.shell, "c", ExecuteRequest, map[string]any{"code": "fmt.Println??"})
	rep := content[ExecuteReplyContent](t, h.next(h.shell))
	if len(rep.Payload) != 1 || rep.ExecutionCount != 1 {
		t.Fatalf("reply %+v; want one page payload", rep)
	}
	p := rep.Payload[0].(map[string]any)
	if p["source"] != "page" || p["data"].(map[string]any)["text/plain"] != "package fmt (cursor 11, detail 1)" {
		t.Errorf("payload %v; want the inspection at detail 1 as a page", p)
	}
	if out := h.iopubFor(req); types(out) != "execute_input" {
		t.Errorf("IOPub %s; want only execute_input", types(out))
	}
	req = h.send(h.shell, "c", ExecuteRequest, map[string]any{"code": "nothing?"})
	if rep := content[ExecuteReplyContent](t, h.next(h.shell)); len(rep.Payload) != 0 || rep.Status != StatusOK {
		t.Errorf("reply for an unknown name %+v; want ok without payload", rep)
	}
	if out := h.iopubFor(req); types(out) != "execute_input,stream" || !strings.Contains(string(out[1].Content), "Object `nothing` not found.") {
		t.Errorf("IOPub %s; want a not-found line", types(out))
	}
}

func TestTooLarge(t *testing.T) {
	h := newHarnessConfig(t, &fakeEval{}, Config{MaxMessageBytes: 1024})
	h.send(h.shell, "c", ExecuteRequest, map[string]any{"code": "print " + strings.Repeat("x", 2048)})
	c := content[errorReply](t, h.next(h.shell))
	if c.Status != StatusError || !strings.Contains(c.Evalue, "message too large") {
		t.Errorf("reply %+v; want an error saying the message is too large", c)
	}
	h.send(h.shell, "c", ExecuteRequest, map[string]any{"code": "print small"})
	if c := content[statusReply](t, h.next(h.shell)); c.Status != StatusOK {
		t.Errorf("next request: %+v", c)
	}
}

func TestUnencodableResult(t *testing.T) {
	h := newHarness(t, &fakeEval{})
	req := h.send(h.shell, "c", ExecuteRequest, map[string]any{"code": "nan"})
	h.next(h.shell)
	out := h.iopubFor(req)
	if types(out) != "execute_input,execute_result" {
		t.Fatalf("IOPub %s; want the result replaced, not dropped", types(out))
	}
	if c := content[ExecuteResultContent](t, out[1]); !strings.Contains(c.Data["text/plain"].(string), "cannot send this output") {
		t.Errorf("result %v; want a text/plain explanation", c.Data)
	}
}

package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/qlab-dev/qlab/kernel/jupyter"
	"github.com/qlab-dev/qlab/qlab/display/widget"
)

// comm decodes a comm message's content.
func comm(t *testing.T, m *jupyter.Message) jupyter.CommContent {
	t.Helper()
	var c jupyter.CommContent
	if err := json.Unmarshal(m.Content, &c); err != nil {
		t.Fatalf("%s content %s: %v", m.Header.MsgType, m.Content, err)
	}
	return c
}

func ofType(ms []*jupyter.Message, t jupyter.MsgType) []*jupyter.Message {
	var out []*jupyter.Message
	for _, m := range ms {
		if m.Header.MsgType == t {
			out = append(out, m)
		}
	}
	return out
}

func parentOf(m *jupyter.Message) string {
	var h jupyter.Header
	_ = json.Unmarshal(m.ParentHeader, &h)
	return h.MsgID
}

// TestWidgetsOverSockets drives the widget protocol 2.1 against the built
// kernel over its ZeroMQ sockets, as @jupyter-widgets/jupyterlab-manager 5
// does: comm_open from the kernel with the full state, a state update from
// the frontend answered by echo_update (parent: the update), the value
// read in the next cell, observers, a button click, Interact replacing its
// output, comm_info and the control comm's request_states, and bad
// messages that are logged and change nothing.
func TestWidgetsOverSockets(t *testing.T) {
	c := startKernel(t, binary(t))
	const timeout = 30 * time.Second

	rep, out := c.execute(`import (
	"fmt"
	"qlab/display/widget"
)

var seen []int
layer, err := widget.NewIntSlider("layer", 0, 5, 1, 2)
if err != nil {
	panic(err)
}
layer.Observe(func(v int) { seen = append(seen, v) })
layer`, timeout)
	if rep["status"] != "ok" {
		t.Fatalf("cell: %v", rep)
	}
	opens := ofType(out, jupyter.CommOpen)
	if len(opens) != 1 {
		t.Fatalf("IOPub %v; want one comm_open", msgTypes(out))
	}
	open := comm(t, opens[0])
	if open.TargetName != widget.Target || opens[0].Metadata["version"] != widget.ProtocolVersion {
		t.Errorf("comm_open target %q metadata %v; want %q and version %s", open.TargetName, opens[0].Metadata, widget.Target, widget.ProtocolVersion)
	}
	state, _ := open.Data["state"].(map[string]any)
	for k, want := range map[string]any{"_model_name": "IntSliderModel", "_model_module": "@jupyter-widgets/controls",
		"_model_module_version": "2.0.0", "_view_name": "IntSliderView", "value": 2.0, "min": 0.0, "max": 5.0, "description": "layer"} {
		if state[k] != want {
			t.Errorf("comm_open state[%q] = %v; want %v", k, state[k], want)
		}
	}
	id := open.CommID
	results := ofType(out, jupyter.ExecuteResult)
	if len(results) != 1 {
		t.Fatalf("IOPub %v; want one execute_result", msgTypes(out))
	}
	var res struct {
		Data map[string]any `json:"data"`
	}
	_ = json.Unmarshal(results[0].Content, &res)
	view, _ := res.Data[string(widget.ViewMIME)].(map[string]any)
	if view["model_id"] != id || view["version_major"] != 2.0 {
		t.Errorf("execute_result view %v; want model_id %s, version_major 2", view, id)
	}
	if txt, _ := res.Data["text/plain"].(string); !strings.Contains(txt, "IntSlider(layer: 2 in [0, 5])") {
		t.Errorf("text/plain %q; want the slider's text form", txt)
	}

	// The frontend moves the slider.
	h := c.send(c.shell, jupyter.CommMsg, map[string]any{"comm_id": id,
		"data": map[string]any{"method": "update", "state": map[string]any{"value": 4}, "buffer_paths": []any{}}})
	out, ok := c.collect(h, timeout)
	if !ok {
		t.Fatal("no idle after the update")
	}
	echoes := ofType(out, jupyter.CommMsg)
	if len(echoes) != 1 {
		t.Fatalf("IOPub after the update %v; want one echo_update", msgTypes(out))
	}
	echo := comm(t, echoes[0])
	if echo.CommID != id || echo.Data["method"] != "echo_update" || parentOf(echoes[0]) != h.MsgID {
		t.Errorf("got %v on %s with parent %s; want echo_update on %s with parent %s", echo.Data, echo.CommID, parentOf(echoes[0]), id, h.MsgID)
	}
	if st, _ := echo.Data["state"].(map[string]any); st["value"] != 4.0 {
		t.Errorf("echo_update state %v; want value 4", echo.Data["state"])
	}
	if got := textResult(t, c, `fmt.Sprint(layer.Value(), seen)`); got != `"4 [4]"` {
		t.Errorf("after the update the cell reads %s; want \"4 [4]\"", got)
	}

	// Bad messages: each is logged, none changes the slider or stops the
	// kernel.
	bad := []struct {
		name string
		data map[string]any
		id   string
		log  string
	}{
		{"unknown model id", map[string]any{"method": "update", "state": map[string]any{"value": 1}}, "no-such-widget", "not open"},
		{"state not an object", map[string]any{"method": "update", "state": "value=1"}, id, "without a state object"},
		{"value not a number", map[string]any{"method": "update", "state": map[string]any{"value": "three"}}, id, "want an integer"},
		{"value not integral", map[string]any{"method": "update", "state": map[string]any{"value": 1.5}}, id, "want an integer"},
		{"read-only attribute", map[string]any{"method": "update", "state": map[string]any{"max": 100}}, id, "cannot be set"},
		{"unknown method", map[string]any{"method": "explode"}, id, "unknown method"},
		{"no method", map[string]any{}, id, "unknown method"},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			h := c.send(c.shell, jupyter.CommMsg, map[string]any{"comm_id": b.id, "data": b.data})
			out, ok := c.collect(h, timeout)
			if !ok {
				t.Fatal("no idle after a bad message")
			}
			if len(out) != 0 {
				t.Errorf("IOPub after a bad message %v; want nothing but status", msgTypes(out))
			}
			if !waitLog(c, b.log) {
				t.Errorf("kernel log lacks %q:\n%s", b.log, c.stderr)
			}
		})
	}
	h = c.send(c.shell, jupyter.CommMsg, map[string]any{"data": "not an object"})
	if _, ok := c.collect(h, timeout); !ok {
		t.Fatal("no idle after a comm_msg without comm_id")
	}
	if got := textResult(t, c, `fmt.Sprint(layer.Value(), seen)`); got != `"4 [4]"` {
		t.Errorf("after the bad messages the cell reads %s; want \"4 [4]\"", got)
	}

	// A value beyond the range is clamped, echoed as sent and corrected by
	// an update.
	h = c.send(c.shell, jupyter.CommMsg, map[string]any{"comm_id": id,
		"data": map[string]any{"method": "update", "state": map[string]any{"value": 99}, "buffer_paths": []any{}}})
	out, _ = c.collect(h, timeout)
	if ms := ofType(out, jupyter.CommMsg); len(ms) != 2 || comm(t, ms[0]).Data["method"] != "echo_update" ||
		comm(t, ms[1]).Data["method"] != "update" || comm(t, ms[1]).Data["state"].(map[string]any)["value"] != 5.0 {
		t.Errorf("after value 99: %v; want echo_update then update to 5", out)
	}

	// comm_info lists the slider; request_state resends its state.
	h = c.send(c.shell, jupyter.CommInfoRequest, map[string]any{"target_name": widget.Target})
	var info jupyter.CommInfoReplyContent
	_ = json.Unmarshal(c.reply(c.shell, h, timeout).Content, &info)
	if _, ok := info.Comms[id]; !ok || info.Status != jupyter.StatusOK {
		t.Errorf("comm_info_reply %+v; want ok listing %s", info, id)
	}
	c.collect(h, timeout)
	h = c.send(c.shell, jupyter.CommMsg, map[string]any{"comm_id": id, "data": map[string]any{"method": "request_state"}})
	out, _ = c.collect(h, timeout)
	if ms := ofType(out, jupyter.CommMsg); len(ms) != 1 || comm(t, ms[0]).Data["state"].(map[string]any)["value"] != 5.0 {
		t.Errorf("request_state answered %v; want one update with value 5", msgTypes(out))
	}

	// The control comm: request_states lists every widget.
	h = c.send(c.shell, jupyter.CommOpen, map[string]any{"comm_id": "ctl-1", "target_name": widget.ControlTarget, "data": map[string]any{}})
	out, _ = c.collect(h, timeout)
	if len(out) != 0 {
		t.Errorf("control comm_open answered %v; want it accepted silently", msgTypes(out))
	}
	h = c.send(c.shell, jupyter.CommMsg, map[string]any{"comm_id": "ctl-1", "data": map[string]any{"method": "request_states"}})
	out, _ = c.collect(h, timeout)
	if ms := ofType(out, jupyter.CommMsg); len(ms) != 1 {
		t.Errorf("request_states answered %v; want one update_states", msgTypes(out))
	} else if d := comm(t, ms[0]).Data; d["method"] != "update_states" || d["states"].(map[string]any)[id] == nil {
		t.Errorf("request_states answered %v; want update_states with %s", d, id)
	}
	// The frontend cannot create widgets: its comm_open is closed again.
	h = c.send(c.shell, jupyter.CommOpen, map[string]any{"comm_id": "front-1", "target_name": widget.Target, "data": map[string]any{"state": map[string]any{}}})
	out, _ = c.collect(h, timeout)
	if ms := ofType(out, jupyter.CommClose); len(ms) != 1 || comm(t, ms[0]).CommID != "front-1" {
		t.Errorf("a frontend comm_open on %s answered %v; want comm_close", widget.Target, msgTypes(out))
	}

	// A button click runs its callback; Interact re-runs its function and
	// replaces its output in place.
	_, out = c.execute(`clicks := 0
b := widget.NewButton("go")
b.OnClick(func() { clicks++ })
bits, _ := widget.NewDropdown("bits", []string{"8", "4"}, "8")
in, err := widget.Interact(func(l int, b string) string { return fmt.Sprintf("layer %d at %s bits", l, b) }, layer, bits)
if err != nil {
	panic(err)
}
in`, timeout)
	var bID, bitsID, outID string
	for _, m := range ofType(out, jupyter.CommOpen) {
		st := comm(t, m).Data["state"].(map[string]any)
		switch st["_model_name"] {
		case "ButtonModel":
			bID = comm(t, m).CommID
		case "DropdownModel":
			bitsID = comm(t, m).CommID
		case "OutputModel":
			outID = comm(t, m).CommID
		}
	}
	first := false
	for _, m := range ofType(out, jupyter.CommMsg) {
		first = first || comm(t, m).CommID == outID && strings.Contains(string(m.Content), "layer 5 at 8 bits")
	}
	if !first {
		t.Errorf("Interact's cell sent %v; want its output updated with the first result", out)
	}
	if bID == "" || bitsID == "" || outID == "" {
		t.Fatalf("comm_opens %v; want a button, a dropdown and an output", msgTypes(out))
	}
	h = c.send(c.shell, jupyter.CommMsg, map[string]any{"comm_id": bID, "data": map[string]any{"method": "custom", "content": map[string]any{"event": "click"}}})
	c.collect(h, timeout)
	h = c.send(c.shell, jupyter.CommMsg, map[string]any{"comm_id": bitsID,
		"data": map[string]any{"method": "update", "state": map[string]any{"index": 1}, "buffer_paths": []any{}}})
	out, _ = c.collect(h, timeout)
	replaced := false
	for _, m := range ofType(out, jupyter.CommMsg) {
		cc := comm(t, m)
		if cc.CommID == outID && cc.Data["method"] == "update" {
			outs, _ := cc.Data["state"].(map[string]any)["outputs"].([]any)
			replaced = len(outs) == 1 && strings.Contains(string(m.Content), "layer 5 at 4 bits")
		}
	}
	if !replaced {
		t.Errorf("after picking 4 bits IOPub had %v; want the output replaced by \"layer 5 at 4 bits\"", out)
	}
	if got := textResult(t, c, `fmt.Sprintf("%d %d %s %d", clicks, b.Clicks(), bits.Value(), in.Runs())`); got != `"1 1 4 2"` {
		t.Errorf("cell reads %s; want \"1 1 4 2\" (clicks, dropdown, Interact runs)", got)
	}

	// The frontend closes the slider; messages to it are then errors.
	h = c.send(c.shell, jupyter.CommClose, map[string]any{"comm_id": id, "data": map[string]any{}})
	c.collect(h, timeout)
	h = c.send(c.shell, jupyter.CommMsg, map[string]any{"comm_id": id, "data": map[string]any{"method": "update", "state": map[string]any{"value": 1}}})
	if out, _ := c.collect(h, timeout); len(out) != 0 {
		t.Errorf("a message to a closed comm answered %v; want nothing", msgTypes(out))
	}
	if got := textResult(t, c, `layer.Value()`); got != "5" {
		t.Errorf("closed slider reads %s; want 5", got)
	}
}

// textResult runs code and returns its execute_result's text/plain.
func textResult(t *testing.T, c *client, code string) string {
	t.Helper()
	rep, out := c.execute(code, 30*time.Second)
	if rep["status"] != "ok" {
		t.Fatalf("%s: %v", code, rep)
	}
	for _, m := range ofType(out, jupyter.ExecuteResult) {
		var r struct {
			Data map[string]any `json:"data"`
		}
		_ = json.Unmarshal(m.Content, &r)
		s, _ := r.Data["text/plain"].(string)
		return s
	}
	t.Fatalf("%s: no execute_result in %v", code, msgTypes(out))
	return ""
}

func msgTypes(ms []*jupyter.Message) []jupyter.MsgType {
	var out []jupyter.MsgType
	for _, m := range ms {
		out = append(out, m.Header.MsgType)
	}
	return out
}

// waitLog waits briefly for the kernel's log to contain s (the log line
// may land just after the idle status).
func waitLog(c *client, s string) bool {
	for i := 0; i < 50; i++ {
		if strings.Contains(c.stderr.String(), s) {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

package widget

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/qlab-dev/qlab/qlab/display"
)

// fakeComms records what widgets send, as the kernel's comms would publish
// it.
type fakeComms struct {
	mu   sync.Mutex
	msgs []string // "open ID", "send ID method", "close ID"
	data []map[string]any
}

func (f *fakeComms) Open(id, target string, data, md map[string]any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if target != Target || md["version"] != ProtocolVersion {
		return fmt.Errorf("open on %q with %v", target, md)
	}
	f.msgs = append(f.msgs, "open "+id)
	f.data = append(f.data, data)
	return nil
}

func (f *fakeComms) Send(id string, data map[string]any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, fmt.Sprintf("send %s %v", id, data["method"]))
	f.data = append(f.data, data)
	return nil
}

func (f *fakeComms) Close(id string, data map[string]any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, "close "+id)
	f.data = append(f.data, data)
	return nil
}

func attach(t *testing.T) *fakeComms {
	t.Helper()
	f := &fakeComms{}
	old := Attach(f)
	t.Cleanup(func() { Attach(old) })
	return f
}

func TestConstructorErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"int min>max", second(NewIntSlider("l", 5, 1, 1, 3)), "min 5 > max 1"},
		{"int step", second(NewIntSlider("l", 0, 5, 0, 3)), "step 0"},
		{"int value", second(NewIntSlider("l", 0, 5, 1, 9)), "value 9 outside [0, 5]"},
		{"float NaN", second(NewFloatSlider("x", 0, 1, 0.1, nanf())), "finite"},
		{"float step", second(NewFloatSlider("x", 0, 1, 0, 0.5)), "step 0"},
		{"dropdown empty", second(NewDropdown("d", nil, "")), "no options"},
		{"dropdown dup", second(NewDropdown("d", []string{"a", "a"}, "a")), `option "a" twice`},
		{"dropdown value", second(NewDropdown("d", []string{"a", "b"}, "c")), `value "c" is not one of`},
		{"box nil child", second(NewVBox(nil)), "child 0 is nil"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
				t.Errorf("got error %v; want one containing %q", c.err, c.want)
			}
		})
	}
}

func second[T any](_ T, err error) error { return err }

func nanf() float64 {
	var z float64
	return z / z
}

// Without a kernel attached, widgets are values with a text form.
func TestHeadlessTextForm(t *testing.T) {
	Attach(nil)
	s, _ := NewIntSlider("layer", 0, 7, 1, 3)
	f, _ := NewFloatSlider("lr", 0, 1, 0.01, 0.25)
	d, _ := NewDropdown("bits", []string{"8", "4"}, "4")
	c := NewCheckbox("per channel", true)
	tx := NewText("name", "run 1")
	b := NewButton("train")
	box, _ := NewHBox(s, d)
	for _, tc := range []struct {
		w    Widget
		want string
	}{
		{s, "IntSlider(layer: 3 in [0, 7])"},
		{f, "FloatSlider(lr: 0.25 in [0, 1])"},
		{d, `Dropdown(bits: "4" of ["8" "4"])`},
		{c, "Checkbox(per channel: true)"},
		{tx, `Text(name: "run 1")`},
		{b, `Button("train")`},
		{box, `IntSlider(layer: 3 in [0, 7])  Dropdown(bits: "4" of ["8" "4"])`},
	} {
		r := tc.w.Render()
		if got := r.Text(); got != tc.want {
			t.Errorf("text form %q; want %q", got, tc.want)
		}
		if v, _ := r.Data[ViewMIME].(map[string]any); v["model_id"] != tc.w.ModelID() {
			t.Errorf("%s: view %v; want model_id %s", tc.want, v, tc.w.ModelID())
		}
		if got := display.Auto(tc.w).Text(); got != tc.want {
			t.Errorf("display.Auto text %q; want %q", got, tc.want)
		}
	}
	if err := s.SetValue(99); err != nil || s.Value() != 7 {
		t.Errorf("SetValue(99) = %v, value %d; want clamped to 7", err, s.Value())
	}
	if err := d.SetValue("2"); err == nil || d.Value() != "4" {
		t.Errorf("SetValue(\"2\") = %v, value %q; want an error and 4 kept", err, d.Value())
	}
}

func TestUpdateFromFrontend(t *testing.T) {
	f := attach(t)
	s, _ := NewIntSlider("layer", 0, 7, 1, 3)
	var seen []int
	s.Observe(func(v int) { seen = append(seen, v) })
	if len(f.msgs) != 1 || f.msgs[0] != "open "+s.ModelID() {
		t.Fatalf("messages %q; want the comm_open", f.msgs)
	}
	h := Handler{}
	for _, bad := range []map[string]any{
		{"method": "update", "state": map[string]any{"value": "x"}},
		{"method": "update", "state": map[string]any{"value": 2.5}},
		{"method": "update", "state": map[string]any{"value": 2, "min": 1}},
		{"method": "update"},
		{"method": "update", "state": map[string]any{"value": 1}, "buffer_paths": []any{[]any{"value"}}},
		{"method": "nope"},
	} {
		if err := h.CommMsg(s.ModelID(), bad); err == nil {
			t.Errorf("CommMsg(%v) = nil; want an error", bad)
		}
	}
	if err := h.CommMsg("missing", map[string]any{"method": "update", "state": map[string]any{"value": 1.0}}); !errors.Is(err, ErrUnknownModel) {
		t.Errorf("unknown id: %v; want ErrUnknownModel", err)
	}
	if s.Value() != 3 || len(seen) != 0 || len(f.msgs) != 1 {
		t.Fatalf("after bad messages: value %d, seen %v, sent %q; want 3, none, nothing", s.Value(), seen, f.msgs)
	}
	if err := h.CommMsg(s.ModelID(), map[string]any{"method": "update", "state": map[string]any{"value": 5.0}}); err != nil {
		t.Fatal(err)
	}
	if s.Value() != 5 || fmt.Sprint(seen) != "[5]" || f.msgs[1] != "send "+s.ModelID()+" echo_update" {
		t.Errorf("after update: value %d, seen %v, sent %q; want 5, [5], an echo_update", s.Value(), seen, f.msgs)
	}
	// The same value again changes nothing: no callback.
	_ = h.CommMsg(s.ModelID(), map[string]any{"method": "update", "state": map[string]any{"value": 5.0}})
	if len(seen) != 1 {
		t.Errorf("repeated value called observers again: %v", seen)
	}
	// A panicking observer is logged; the value is still set.
	s.Observe(func(int) { panic("boom") })
	if err := h.CommMsg(s.ModelID(), map[string]any{"method": "update", "state": map[string]any{"value": 6.0}}); err != nil || s.Value() != 6 {
		t.Errorf("update with a panicking observer: %v, value %d; want nil, 6", err, s.Value())
	}
	if err := Close(s); err != nil || f.msgs[len(f.msgs)-1] != "close "+s.ModelID() {
		t.Errorf("Close: %v, last message %q; want a comm_close", err, f.msgs[len(f.msgs)-1])
	}
	if err := h.CommMsg(s.ModelID(), map[string]any{"method": "request_state"}); !errors.Is(err, ErrUnknownModel) {
		t.Errorf("message after Close: %v; want ErrUnknownModel", err)
	}
}

func TestInteract(t *testing.T) {
	attach(t)
	l, _ := NewIntSlider("layer", 0, 3, 1, 1)
	c := NewCheckbox("log", false)
	for _, bad := range []struct {
		f    any
		want string
	}{
		{42, "want a function"},
		{func(int) string { return "" }, "takes 1 arguments; got 2 controls"},
		{func(string, bool) string { return "" }, "argument 0"},
		{func(int, bool) {}, "must return a value"},
		{func(int, bool) (string, string) { return "", "" }, "must return a value"},
	} {
		if _, err := Interact(bad.f, l, c); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("Interact(%T) error %v; want %q", bad.f, err, bad.want)
		}
	}
	in, err := Interact(func(layer int, log bool) (string, error) {
		if layer == 3 {
			return "", errors.New("no layer 3")
		}
		return fmt.Sprintf("layer %d log %v", layer, log), nil
	}, l, c)
	if err != nil {
		t.Fatal(err)
	}
	if in.Result() != "layer 1 log false" || in.Output().String() != `"layer 1 log false"` {
		t.Errorf("first result %v, output %q", in.Result(), in.Output().String())
	}
	_ = Handler{}.CommMsg(c.ModelID(), map[string]any{"method": "update", "state": map[string]any{"value": true}})
	if in.Result() != "layer 1 log true" || in.Runs() != 2 || in.Output().Len() != 1 {
		t.Errorf("after the checkbox: %v, %d runs, %d outputs; want the new result replacing the old", in.Result(), in.Runs(), in.Output().Len())
	}
	_ = l.SetValue(3)
	if in.Err() == nil || !strings.Contains(in.Output().String(), "no layer 3") {
		t.Errorf("function error %v shown as %q; want it in the output", in.Err(), in.Output().String())
	}
}

// An output holding a figure reads as "[figure]", not as the figure's
// struct dump.
func TestOutputTextForm(t *testing.T) {
	Attach(nil)
	o := NewOutput()
	if err := o.Show(display.PNG(tinyPNG)); err != nil {
		t.Fatal(err)
	}
	if err := o.Append("done"); err != nil {
		t.Fatal(err)
	}
	if got, want := o.String(), "[figure]\n\"done\""; got != want {
		t.Errorf("text form %q; want %q", got, want)
	}
	if err := o.Clear(); err != nil || o.Len() != 0 {
		t.Errorf("Clear: %v, %d outputs left", err, o.Len())
	}
}

// tinyPNG is a 1x1 PNG.
var tinyPNG = []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0, 0x3a, 0x7e, 0x9b, 0x55}

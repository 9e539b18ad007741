package widget

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"sort"
	"sync"

	"github.com/qlab-dev/qlab/qlab/display"
)

// Protocol constants of the Jupyter widget message protocol as ipywidgets 8
// and @jupyter-widgets/jupyterlab-manager 5 speak it.
const (
	// Target is the comm target of widget models.
	Target = "jupyter.widget"
	// ControlTarget is the comm target on which a frontend asks for every
	// widget's state at once when it (re)connects.
	ControlTarget = "jupyter.widget.control"
	// ProtocolVersion goes in comm_open's metadata; the frontend checks its
	// major version.
	ProtocolVersion = "2.1.0"
	// ViewMIME is the MIME type of a widget's display bundle.
	ViewMIME display.MIME = "application/vnd.jupyter.widget-view+json"
)

// Model modules and versions of ipywidgets 8.
const (
	controlsModule  = "@jupyter-widgets/controls"
	controlsVersion = "2.0.0"
	baseModule      = "@jupyter-widgets/base"
	baseVersion     = "2.0.0"
	outputModule    = "@jupyter-widgets/output"
	outputVersion   = "1.0.0"
)

// Comms is how widgets reach a frontend: the kernel's comm layer
// (kernel/jupyter.Comms satisfies it). Open sends comm_open on target with
// data and metadata; Send a comm_msg; Close a comm_close.
type Comms interface {
	Open(commID, target string, data, metadata map[string]any) error
	Send(commID string, data map[string]any) error
	Close(commID string, data map[string]any) error
}

// Widget is any widget of this package: it has a model id (its comm id)
// and renders as a widget view, with its text form for frontends without
// widgets.
type Widget interface {
	ModelID() string
	Render() display.Data
}

// Control is a widget with a value, which Interact passes to its function:
// Interface returns the value (int, float64, string or bool) and OnChange
// registers a function called after each change.
type Control interface {
	Widget
	Interface() any
	OnChange(f func())
}

// ErrUnknownModel is returned for a message about a widget this process
// does not have (closed, or never created).
var ErrUnknownModel = errors.New("widget: unknown model id")

var (
	regMu  sync.Mutex
	comms  Comms
	models = map[string]*model{}
	// logger reports callbacks' panics and errors of sends that have no
	// caller to return them to.
	logger = log.New(os.Stderr, "widget: ", log.LstdFlags)
)

// SetLog sends the package's diagnostics (a callback's panic, a send that
// failed with no caller to tell) to w; nil means os.Stderr. It is for the
// kernel, whose standard error may be the running cell's.
func SetLog(w io.Writer) {
	if w == nil {
		w = os.Stderr
	}
	regMu.Lock()
	logger = log.New(w, "widget: ", log.LstdFlags)
	regMu.Unlock()
}

// Attach installs the kernel's comms and returns the previous ones; nil
// detaches (widgets then live without a frontend). Widgets created while
// attached open their comm at once. It is for the kernel.
func Attach(c Comms) Comms {
	regMu.Lock()
	defer regMu.Unlock()
	old := comms
	comms = c
	return old
}

func logf(format string, args ...any) {
	regMu.Lock()
	l := logger
	regMu.Unlock()
	l.Printf(format, args...)
}

func attached() Comms {
	regMu.Lock()
	defer regMu.Unlock()
	return comms
}

// model is one widget model: its state as the frontend sees it, the
// validation of what the frontend may change, and the callbacks.
type model struct {
	id   string
	name string // "IntSlider", for the text form

	mu    sync.Mutex
	state map[string]any
	// accept validates a value the frontend sent for attr and returns it
	// in its Go form; attributes without an entry are read-only.
	accept    map[string]func(v any) (any, error)
	onChange  []func()
	onCustom  func(content map[string]any) error
	text      func() string
	open      bool
	modelName string
	module    string
	version   string
}

// newModelPending creates a model; publish registers it and opens its comm
// once the widget has set its validators and text form. state holds the
// widget's own attributes; the protocol's bookkeeping attributes are added
// here.
func newModelPending(name, module, version, view string, state map[string]any) *model {
	m := &model{id: newID(), name: name, state: state, accept: map[string]func(any) (any, error){},
		modelName: name + "Model", module: module, version: version}
	for k, v := range map[string]any{
		"_model_module": module, "_model_module_version": version, "_model_name": name + "Model",
		"_view_module": module, "_view_module_version": version, "_view_name": view,
		"_view_count": nil, "_dom_classes": []string{}, "layout": nil, "tabbable": nil, "tooltip": nil,
	} {
		if _, ok := state[k]; !ok {
			state[k] = v
		}
	}
	return m
}

// publish registers m and, when a frontend is attached, opens its comm
// with the full state (comm_open, protocol version in the metadata).
func (m *model) publish() {
	regMu.Lock()
	models[m.id] = m
	c := comms
	regMu.Unlock()
	if c == nil {
		return
	}
	m.mu.Lock()
	m.open = true
	m.mu.Unlock()
	if err := c.Open(m.id, Target, map[string]any{"state": m.snapshot(), "buffer_paths": []any{}},
		map[string]any{"version": ProtocolVersion}); err != nil {
		logf("%s %s: comm_open: %v", m.name, m.id, err)
	}
}

func newID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b)
}

// snapshot returns a copy of the state, safe to marshal while the widget
// changes.
func (m *model) snapshot() map[string]any {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]any, len(m.state))
	for k, v := range m.state {
		out[k] = v
	}
	return out
}

func (m *model) get(attr string) any {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state[attr]
}

// set changes attributes from Go: it sends them to the frontend and calls
// the change callbacks when a value changed.
func (m *model) set(attrs map[string]any) error {
	m.mu.Lock()
	changed := false
	for k, v := range attrs {
		if fmt.Sprint(m.state[k]) != fmt.Sprint(v) {
			changed = true
		}
		m.state[k] = v
	}
	open := m.open
	m.mu.Unlock()
	var err error
	if c := attached(); c != nil && open {
		err = c.Send(m.id, map[string]any{"method": "update", "state": attrs, "buffer_paths": []any{}})
	}
	if changed {
		m.notify()
	}
	return err
}

// notify calls the change callbacks; a panicking callback is logged and
// does not stop the others.
func (m *model) notify() {
	m.mu.Lock()
	fs := append([]func(){}, m.onChange...)
	m.mu.Unlock()
	for _, f := range fs {
		call(m, f)
	}
}

func call(m *model, f func()) {
	defer func() {
		if r := recover(); r != nil {
			logf("%s %s: callback panicked: %v", m.name, m.id, r)
		}
	}()
	f()
}

func (m *model) observe(f func()) {
	if f == nil {
		return
	}
	m.mu.Lock()
	m.onChange = append(m.onChange, f)
	m.mu.Unlock()
}

// render is a widget's display bundle: the view reference, and the text
// form for frontends that cannot show widgets.
func (m *model) render() display.Data {
	return display.Data{Data: map[display.MIME]any{
		ViewMIME:          map[string]any{"version_major": 2, "version_minor": 0, "model_id": m.id},
		display.MIMEPlain: m.text(),
	}}
}

// closeModel closes the widget's comm and forgets it.
func (m *model) close() error {
	regMu.Lock()
	delete(models, m.id)
	c := comms
	regMu.Unlock()
	m.mu.Lock()
	wasOpen := m.open
	m.open = false
	m.mu.Unlock()
	if c != nil && wasOpen {
		return c.Close(m.id, nil)
	}
	return nil
}

func lookup(id string) (*model, error) {
	regMu.Lock()
	defer regMu.Unlock()
	m, ok := models[id]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownModel, id)
	}
	return m, nil
}

// Handler is the kernel's entry for the frontend's comm messages on Target
// and ControlTarget; it satisfies kernel/jupyter.CommHandler.
type Handler struct{}

// CommOpen accepts the frontend's control comm. Widgets are created by
// the kernel only: a comm_open on Target from the frontend is refused.
func (Handler) CommOpen(target, commID string, data map[string]any) error {
	if target == ControlTarget {
		return nil
	}
	return fmt.Errorf("widget: the frontend cannot create widgets (comm_open on %q, id %q)", target, commID)
}

// CommMsg handles update (with its echo_update), request_state and custom
// messages on a widget's comm, and request_states on the control comm.
// Malformed messages and unknown ids are errors; the widget is unchanged.
func (Handler) CommMsg(commID string, data map[string]any) error {
	method, _ := data["method"].(string)
	if method == "request_states" {
		return sendStates(commID)
	}
	m, err := lookup(commID)
	if err != nil {
		return err
	}
	switch method {
	case "update":
		return m.update(data)
	case "request_state":
		if c := attached(); c != nil {
			return c.Send(m.id, map[string]any{"method": "update", "state": m.snapshot(), "buffer_paths": []any{}})
		}
		return nil
	case "custom":
		content, ok := data["content"].(map[string]any)
		if !ok {
			return fmt.Errorf("widget %s %s: custom message without a content object", m.name, m.id)
		}
		if m.onCustom == nil {
			return fmt.Errorf("widget %s %s: unexpected custom message %v", m.name, m.id, content)
		}
		return m.onCustom(content)
	}
	return fmt.Errorf("widget %s %s: unknown method %q", m.name, m.id, method)
}

// CommClose forgets a widget the frontend closed.
func (Handler) CommClose(commID string, data map[string]any) {
	regMu.Lock()
	m := models[commID]
	delete(models, commID)
	regMu.Unlock()
	if m != nil {
		m.mu.Lock()
		m.open = false
		m.mu.Unlock()
	}
}

// update applies the frontend's state change. Every attribute is checked
// first, so a malformed message changes nothing; the accepted state is
// echoed back (echo_update, protocol 2.1) before the callbacks run, and an
// attribute the widget adjusted (a value clamped to the range) is sent back
// as an update.
func (m *model) update(data map[string]any) error {
	state, ok := data["state"].(map[string]any)
	if !ok {
		return fmt.Errorf("widget %s %s: update without a state object (got %T)", m.name, m.id, data["state"])
	}
	if paths, ok := data["buffer_paths"].([]any); ok && len(paths) > 0 {
		return fmt.Errorf("widget %s %s: update with binary buffers; no qlab widget has binary attributes", m.name, m.id)
	}
	accepted := map[string]any{}
	keys := make([]string, 0, len(state))
	for k := range state {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f, ok := m.accept[k]
		if !ok {
			return fmt.Errorf("widget %s %s: attribute %q cannot be set from the frontend", m.name, m.id, k)
		}
		v, err := f(state[k])
		if err != nil {
			return fmt.Errorf("widget %s %s: %s: %w", m.name, m.id, k, err)
		}
		accepted[k] = v
	}
	if c := attached(); c != nil {
		if err := c.Send(m.id, map[string]any{"method": "echo_update", "state": state, "buffer_paths": []any{}}); err != nil {
			logf("%s %s: echo_update: %v", m.name, m.id, err)
		}
	}
	m.mu.Lock()
	changed, adjusted := false, map[string]any{}
	for k, v := range accepted {
		if fmt.Sprint(m.state[k]) != fmt.Sprint(v) {
			changed = true
		}
		m.state[k] = v
		if fmt.Sprint(state[k]) != fmt.Sprint(v) {
			adjusted[k] = v
		}
	}
	m.mu.Unlock()
	if len(adjusted) > 0 {
		if c := attached(); c != nil {
			if err := c.Send(m.id, map[string]any{"method": "update", "state": adjusted, "buffer_paths": []any{}}); err != nil {
				logf("%s %s: update: %v", m.name, m.id, err)
			}
		}
	}
	if changed {
		m.notify()
	}
	return nil
}

// sendStates answers the control comm's request_states with every open
// widget's state.
func sendStates(commID string) error {
	regMu.Lock()
	c := comms
	list := make([]*model, 0, len(models))
	for _, m := range models {
		list = append(list, m)
	}
	regMu.Unlock()
	if c == nil {
		return errors.New("widget: request_states with no frontend attached")
	}
	states := map[string]any{}
	for _, m := range list {
		m.mu.Lock()
		open := m.open
		m.mu.Unlock()
		if !open {
			continue
		}
		states[m.id] = map[string]any{"model_name": m.modelName, "model_module": m.module,
			"model_module_version": m.version, "state": m.snapshot()}
	}
	return c.Send(commID, map[string]any{"method": "update_states", "states": states, "buffer_paths": []any{}})
}

// Close closes w's comm: the frontend removes its views, and later
// messages about it are errors. A closed widget keeps its value.
func Close(w Widget) error {
	m, err := lookup(w.ModelID())
	if err != nil {
		return err
	}
	return m.close()
}

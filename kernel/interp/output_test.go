package interp

import (
	"errors"
	"strings"
	"sync"

	"github.com/qlab-dev/qlab/qlab/display"
)

// recorder is an in-memory jupyter.Output.
type recorder struct {
	mu       sync.Mutex
	streams  map[string]*strings.Builder
	events   []string // "stdout", "stderr", "display", "update", "clear" in order
	displays []display.Data
	updates  []bool
	input    string // answer to Input; "" with noInput false answers ""
	noInput  bool
	prompts  []string
}

func newRecorder() *recorder { return &recorder{streams: map[string]*strings.Builder{}} }

func (r *recorder) Stream(name, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.streams[name] == nil {
		r.streams[name] = &strings.Builder{}
	}
	r.streams[name].WriteString(text)
	r.events = append(r.events, name)
}

func (r *recorder) Display(d display.Data, update bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.displays = append(r.displays, d)
	r.updates = append(r.updates, update)
	r.events = append(r.events, map[bool]string{false: "display", true: "update"}[update])
}

func (r *recorder) ClearOutput(wait bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, "clear")
}

func (r *recorder) Input(prompt string, password bool) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.prompts = append(r.prompts, prompt)
	if r.noInput {
		return "", errors.New("stdin not allowed")
	}
	return r.input, nil
}

func (r *recorder) text(name string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.streams[name] == nil {
		return ""
	}
	return r.streams[name].String()
}

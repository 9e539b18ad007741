package display

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
)

// Publisher receives bundles a running cell publishes. update is true for
// update_display_data (d carries the display_id of the display to replace).
type Publisher func(d Data, update bool)

// ClearFunc receives clear_output requests; wait defers the clearing until
// the next output arrives.
type ClearFunc func(wait bool)

var (
	pubMu     sync.RWMutex
	publisher Publisher
	clearer   ClearFunc
)

// SetPublisher installs the function that publishes bundles, and returns the
// previous one. It is for the kernel: the interpreter sets it while cells run.
// nil means "outside a kernel": Display then prints text/plain to standard
// output. Safe for concurrent use.
func SetPublisher(p Publisher) Publisher {
	pubMu.Lock()
	defer pubMu.Unlock()
	old := publisher
	publisher = p
	return old
}

// SetClearer installs the function that clears the cell's output, and returns
// the previous one. It is for the kernel. Safe for concurrent use.
func SetClearer(c ClearFunc) ClearFunc {
	pubMu.Lock()
	defer pubMu.Unlock()
	old := clearer
	clearer = c
	return old
}

func currentPublisher() Publisher {
	pubMu.RLock()
	defer pubMu.RUnlock()
	return publisher
}

// InKernel reports whether a publisher is installed, that is whether bundles
// reach a notebook frontend.
func InKernel() bool { return currentPublisher() != nil }

// Publish sends d as display_data (update false) or update_display_data
// (update true). Outside a kernel it prints d's text/plain form to standard
// output, once per call.
func Publish(d Data, update bool) {
	if p := currentPublisher(); p != nil {
		p(d, update)
		return
	}
	if s := d.Text(); s != "" {
		fmt.Fprintln(os.Stdout, s)
	}
}

// Display publishes v now as display_data, rendered with Auto. A Data value is
// published as is.
func Display(v any) error {
	d, err := render(v)
	if err != nil {
		return err
	}
	Publish(d, false)
	return nil
}

// Clear clears the output of the running cell; with wait the clearing happens
// when the next output arrives (avoids flicker in animations). Outside a
// kernel it does nothing.
func Clear(wait bool) {
	pubMu.RLock()
	c := clearer
	pubMu.RUnlock()
	if c != nil {
		c(wait)
	}
}

var displaySeq atomic.Uint64

// NewDisplayID returns a display_id unique within this process.
func NewDisplayID() string {
	return "qlab-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatUint(displaySeq.Add(1), 10)
}

// Handle names one display area that can be updated in place.
// The zero value is not usable; create one with NewHandle.
type Handle struct {
	id    string
	mu    sync.Mutex
	shown bool
}

// NewHandle returns a handle with a fresh display_id. Nothing is shown until
// Display or Update is called.
func NewHandle() *Handle { return &Handle{id: NewDisplayID()} }

// ID returns the handle's display_id.
func (h *Handle) ID() string { return h.id }

// Display publishes v (rendered with Auto) as a new display_data carrying the
// handle's display_id. Later Update calls replace it in place.
func (h *Handle) Display(v any) error {
	d, err := render(v)
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.shown = true
	h.mu.Unlock()
	Publish(d.WithDisplayID(h.id), false)
	return nil
}

// Update replaces the handle's display with v as update_display_data. When
// the handle was never displayed, Update displays it first, so a caller need
// not track that.
func (h *Handle) Update(v any) error {
	d, err := render(v)
	if err != nil {
		return err
	}
	h.mu.Lock()
	first := !h.shown
	h.shown = true
	h.mu.Unlock()
	Publish(d.WithDisplayID(h.id), !first)
	return nil
}

func render(v any) (Data, error) {
	switch x := v.(type) {
	case Data:
		return x, nil
	case *Data:
		if x == nil {
			return Text("<nil>"), nil
		}
		return *x, nil
	}
	return AutoErr(v)
}

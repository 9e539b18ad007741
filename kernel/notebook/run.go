package notebook

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/qlab-dev/qlab/kernel/jupyter"
	"github.com/qlab-dev/qlab/qlab/display"
)

// RunOptions configure Run. The zero value runs every code cell with no
// time limit.
type RunOptions struct {
	// Name identifies the notebook in errors (its path); "" means
	// "notebook".
	Name string
	// Timeout bounds each cell; 0 means no limit. A cell that runs longer
	// is interrupted (its context is cancelled) and the run fails.
	Timeout time.Duration
}

// RunError is the first failing cell of a run.
type RunError struct {
	Notebook string // RunOptions.Name
	Cell     int    // index in Notebook.Cells, counting every cell type
	Ename    string // e.g. "panic", "compile error", "timeout"
	Evalue   string
	Err      error // the evaluator's error
}

func (e *RunError) Error() string {
	return fmt.Sprintf("notebook: %s: cell %d: %s: %s", e.Notebook, e.Cell, e.Ename, e.Evalue)
}

func (e *RunError) Unwrap() error { return e.Err }

// Run executes nb's code cells in order through ev, replacing their outputs
// and execution counts, and stops at the first error, which is recorded as
// the cell's error output and returned as a *RunError. Markdown and raw
// cells are left alone. Cancelling ctx interrupts the running cell.
func Run(ctx context.Context, ev jupyter.Evaluator, nb *Notebook, opts RunOptions) error {
	name := opts.Name
	if name == "" {
		name = "notebook"
	}
	r := &recorder{displays: map[string][]*Output{}}
	count := 0
	for i, c := range nb.Cells {
		if c.Type != Code {
			continue
		}
		c.Outputs, c.ExecutionCount = nil, nil
		if strings.TrimSpace(c.Source) == "" {
			continue
		}
		count++
		n := count
		c.ExecutionCount = &n
		r.cell, r.clearPending = c, false

		cctx, cancel := ctx, context.CancelFunc(func() {})
		if opts.Timeout > 0 {
			cctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		}
		res, err := safeExecute(cctx, ev, c.Source, r)
		timedOut := cctx.Err() == context.DeadlineExceeded
		cancel()
		if err != nil {
			re := &RunError{Notebook: name, Cell: i, Err: err}
			var ce jupyter.CellError
			switch {
			case timedOut:
				re.Ename, re.Evalue = "timeout", fmt.Sprintf("cell did not finish within %v", opts.Timeout)
			case errors.As(err, &ce):
				re.Ename, re.Evalue = ce.Ename(), ce.Evalue()
			default:
				re.Ename, re.Evalue = "error", err.Error()
			}
			tb := []string{re.Ename + ": " + re.Evalue}
			if ce != nil && !timedOut {
				tb = ce.Traceback()
			}
			r.add(&Output{Type: OutputError, Ename: re.Ename, Evalue: re.Evalue, Traceback: tb})
			return re
		}
		if res != nil {
			o := bundleOutput(OutputExecuteResult, *res)
			o.ExecutionCount = &n
			r.add(o)
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("notebook: %s: cell %d: %w", name, i, err)
		}
	}
	return nil
}

func safeExecute(ctx context.Context, ev jupyter.Evaluator, code string, out jupyter.Output) (res *display.Data, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("evaluator panicked: %v", r)
		}
	}()
	return ev.Execute(ctx, code, out)
}

func bundleOutput(typ string, d display.Data) *Output {
	o := &Output{Type: typ, Data: make(map[string]any, len(d.Data)), Metadata: map[string]any{}}
	for k, v := range d.Data {
		o.Data[string(k)] = v
	}
	for k, v := range d.Metadata {
		o.Metadata[string(k)] = v
	}
	return o
}

// recorder is the Output of a headless run: it turns what a cell emits into
// nbformat outputs the way nbclient does.
type recorder struct {
	cell         *Cell
	clearPending bool
	// displays maps a display_id to the outputs showing it, in any cell,
	// for update_display_data.
	displays map[string][]*Output
}

func (r *recorder) add(o *Output) {
	if r.clearPending {
		r.clear()
	}
	outs := r.cell.Outputs
	if o.Type == OutputStream && len(outs) > 0 {
		if last := outs[len(outs)-1]; last.Type == OutputStream && last.Name == o.Name {
			last.Text = collapseCR(last.Text + o.Text)
			return
		}
	}
	if o.Type == OutputStream {
		o.Text = collapseCR(o.Text)
	}
	r.cell.Outputs = append(outs, o)
}

// clear drops the cell's outputs, and their display_id registrations.
func (r *recorder) clear() {
	r.clearPending = false
	gone := map[*Output]bool{}
	for _, o := range r.cell.Outputs {
		gone[o] = true
	}
	for id, outs := range r.displays {
		kept := outs[:0]
		for _, o := range outs {
			if !gone[o] {
				kept = append(kept, o)
			}
		}
		r.displays[id] = kept
	}
	r.cell.Outputs = nil
}

// collapseCR applies carriage returns the way a terminal shows them: text
// before the last \r of a line is overwritten (progress bars), keeping a
// trailing \r so that later text in the same stream still overwrites.
func collapseCR(s string) string {
	if !strings.Contains(s, "\r") {
		return s
	}
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		body := strings.TrimSuffix(l, "\n")
		nl := len(body) != len(l)
		body = strings.TrimSuffix(body, "\r")
		if j := strings.LastIndexByte(body, '\r'); j >= 0 {
			body = body[j+1:]
		}
		if nl {
			body += "\n"
		} else if strings.HasSuffix(l, "\r") {
			body += "\r"
		}
		lines[i] = body
	}
	return strings.Join(lines, "")
}

func (r *recorder) Stream(name, text string) {
	if text == "" {
		return
	}
	r.add(&Output{Type: OutputStream, Name: name, Text: text})
}

func (r *recorder) Display(d display.Data, update bool) {
	id, _ := d.Transient["display_id"].(string)
	if update {
		// nbclient updates every output showing the display and adds none.
		for _, o := range r.displays[id] {
			n := bundleOutput(o.Type, d)
			o.Data, o.Metadata = n.Data, n.Metadata
		}
		return
	}
	o := bundleOutput(OutputDisplayData, d)
	r.add(o)
	if id != "" {
		r.displays[id] = append(r.displays[id], o)
	}
}

func (r *recorder) ClearOutput(wait bool) {
	if wait {
		r.clearPending = true
		return
	}
	r.clear()
}

func (r *recorder) Input(prompt string, password bool) (string, error) {
	return "", fmt.Errorf("notebook: cell asked for input (%q) but headless runs have no stdin", prompt)
}

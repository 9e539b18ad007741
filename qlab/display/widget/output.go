package widget

import (
	"fmt"
	"strings"

	"github.com/qlab-dev/qlab/qlab/display"
)

// Output is an output area whose content Go replaces: a figure, a table,
// any value display.Auto renders. Its content travels in the widget's state
// (the "outputs" attribute of @jupyter-widgets/output), so it reaches the
// frontend from cells and from callbacks alike.
type Output struct {
	m *model
}

// NewOutput returns an empty output area.
func NewOutput() *Output {
	st := map[string]any{"msg_id": "", "outputs": []any{}}
	o := &Output{m: newModelPending("Output", outputModule, outputVersion, "OutputView", st)}
	// The frontend writes these back when it captures a cell's messages
	// itself; they are kept as sent.
	o.m.accept["outputs"] = func(v any) (any, error) {
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("want a list of outputs, got %T", v)
		}
		return list, nil
	}
	o.m.accept["msg_id"] = func(v any) (any, error) {
		s, ok := v.(string)
		if !ok && v != nil {
			return nil, fmt.Errorf("want a string, got %T", v)
		}
		return s, nil
	}
	o.m.text = func() string {
		var parts []string
		for _, out := range o.outputs() {
			if d, ok := out.(map[string]any); ok {
				if data, ok := d["data"].(map[display.MIME]any); ok {
					parts = append(parts, outputText(data))
				}
			}
		}
		return strings.Join(parts, "\n")
	}
	o.m.publish()
	return o
}

func (o *Output) outputs() []any {
	l, _ := o.m.get("outputs").([]any)
	return l
}

// ModelID returns the widget's model (comm) id.
func (o *Output) ModelID() string { return o.m.id }

// Render returns the widget's view bundle with its text form.
func (o *Output) Render() display.Data { return o.m.render() }

// Show replaces the area's content with v, rendered by display.AutoErr.
func (o *Output) Show(v any) error {
	d, err := display.AutoErr(v)
	if err != nil {
		return fmt.Errorf("widget: Output.Show: %w", err)
	}
	return o.m.set(map[string]any{"outputs": []any{displayData(d)}})
}

// Append adds v, rendered by display.AutoErr, below the area's content.
func (o *Output) Append(v any) error {
	d, err := display.AutoErr(v)
	if err != nil {
		return fmt.Errorf("widget: Output.Append: %w", err)
	}
	list := append(append([]any{}, o.outputs()...), displayData(d))
	return o.m.set(map[string]any{"outputs": list})
}

// Clear empties the area.
func (o *Output) Clear() error { return o.m.set(map[string]any{"outputs": []any{}}) }

// Len returns how many outputs the area holds.
func (o *Output) Len() int { return len(o.outputs()) }

// String is the area's text form: its outputs' text/plain, one per line.
func (o *Output) String() string { return o.m.text() }

// displayData is d as an nbformat display_data output.
func displayData(d display.Data) map[string]any {
	md := map[display.MIME]any{}
	for k, v := range d.Metadata {
		md[k] = v
	}
	data := map[display.MIME]any{}
	for k, v := range d.Data {
		data[k] = v
	}
	return map[string]any{"output_type": "display_data", "data": data, "metadata": md}
}

// outputText is an output's text form: "[figure]" for an image, whose
// text/plain is rarely more than a struct dump, else its text/plain.
func outputText(data map[display.MIME]any) string {
	for _, m := range []display.MIME{display.MIMEPNG, display.MIMESVG, display.MIMEJPEG} {
		if _, ok := data[m]; ok {
			return "[figure]"
		}
	}
	s, _ := data[display.MIMEPlain].(string)
	return s
}

package nn

import (
	"fmt"
	"html"
	"strings"
)

// SummaryRow describes one leaf layer.
type SummaryRow struct {
	// Layer and Kind are the layer's name and kind.
	Layer, Kind string
	// OutputShape is the per-sample output shape.
	OutputShape []int
	// Params is the number of trainable parameter values.
	Params int
	// FLOPs counts floating-point operations per sample in Forward:
	// 2 per multiply-add for Conv2D, DepthwiseConv2D and Dense (bias adds
	// not counted), 2 per element for BatchNorm2D (scale and shift), 1 per
	// element for activations, Add, Dropout and GlobalAvgPool, kernel² per
	// output for pools, 0 for Flatten.
	FLOPs int64
}

// Summary is a model's layer table.
type Summary struct {
	Model       string
	InputShape  []int
	Rows        []SummaryRow
	TotalParams int
	TotalFLOPs  int64
}

type flopser interface{ flops(in []int) int64 }

// Summary returns one row per leaf layer in forward order.
func (m *Model) Summary() *Summary {
	s := &Summary{Model: m.name, InputShape: copyShape(m.input)}
	var visit func(l Layer, in []int) []int
	visit = func(l Layer, in []int) []int {
		switch c := l.(type) {
		case *Residual:
			b := in
			for _, x := range c.body {
				b = visit(x, b)
			}
			sc := in
			for _, x := range c.shortcut {
				sc = visit(x, sc)
			}
			return visit(c.add, b)
		case Container:
			for _, x := range c.Children() {
				in = visit(x, in)
			}
			return in
		}
		out, err := l.OutputShape(in)
		if err != nil {
			return in
		}
		row := SummaryRow{Layer: l.Name(), Kind: l.Kind(), OutputShape: out}
		for _, p := range l.Params() {
			row.Params += p.Value.Len()
		}
		if f, ok := l.(flopser); ok {
			row.FLOPs = f.flops(in)
		}
		s.Rows = append(s.Rows, row)
		s.TotalParams += row.Params
		s.TotalFLOPs += row.FLOPs
		return out
	}
	in := m.input
	for _, l := range m.top {
		in = visit(l, in)
	}
	return s
}

func shapeString(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func (s *Summary) cells() [][]string {
	rows := [][]string{{"layer", "kind", "output", "params", "FLOPs"}}
	for _, r := range s.Rows {
		rows = append(rows, []string{r.Layer, r.Kind, shapeString(r.OutputShape), fmt.Sprint(r.Params), fmt.Sprint(r.FLOPs)})
	}
	return append(rows, []string{"total", "", "", fmt.Sprint(s.TotalParams), fmt.Sprint(s.TotalFLOPs)})
}

// String renders the summary as an aligned text table.
func (s *Summary) String() string {
	cells := s.cells()
	w := make([]int, len(cells[0]))
	for _, r := range cells {
		for i, c := range r {
			w[i] = max(w[i], len(c))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "model %s, input %s, FLOPs per sample\n", s.Model, shapeString(s.InputShape))
	for _, r := range cells {
		for i, c := range r {
			if i >= 3 {
				fmt.Fprintf(&b, "  %*s", w[i], c)
			} else {
				fmt.Fprintf(&b, "%-*s  ", w[i], c)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// HTML renders the summary as an HTML table (for notebook display).
func (s *Summary) HTML() string {
	var b strings.Builder
	fmt.Fprintf(&b, "<table>\n<caption>model %s, input %s, FLOPs per sample</caption>\n", html.EscapeString(s.Model), shapeString(s.InputShape))
	for i, r := range s.cells() {
		tag := "td"
		if i == 0 {
			tag = "th"
		}
		b.WriteString("<tr>")
		for _, c := range r {
			fmt.Fprintf(&b, "<%s>%s</%s>", tag, html.EscapeString(c), tag)
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</table>\n")
	return b.String()
}

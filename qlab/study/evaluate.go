package study

import (
	"context"
	"fmt"

	"github.com/qlab-dev/qlab/qlab/analysis"
	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/figures"
	"github.com/qlab-dev/qlab/qlab/quant"
)

// Scheme is a named quantization of a model: a quant.Config and which
// tensors it quantizes (the zero Mode is quant.Full).
type Scheme struct {
	Name   string
	Config quant.Config
	Mode   quant.Mode
}

// Evaluate quantizes every model under every scheme with quant.Evaluate
// (batch norm folded, activations calibrated on calib) and measures it
// and its float original on the models' test set. It returns a table named
// "quantized accuracy", one row per (scheme, model), schemes in order, with
// the columns
//
//	init           initializer name
//	scheme         Scheme.Name
//	mode           Scheme.Mode ("full", "weights-only", ...)
//	fp32           float accuracy in [0, 1]
//	int8           accuracy in [0, 1] of the model quantized under the scheme and mode
//	drop_pp        fp32 minus int8, in percentage points
func (m *Models) Evaluate(ctx context.Context, calib *data.Dataset, schemes []Scheme) (*analysis.Table, error) {
	if len(schemes) == 0 {
		return nil, fmt.Errorf("study: evaluate: no schemes")
	}
	t := analysis.NewTable("quantized accuracy", "init", "scheme", "mode", "fp32", "int8", "drop_pp")
	for _, s := range schemes {
		for i, tr := range m.Trained {
			r, err := quant.Evaluate(ctx, tr.Model, calib, m.TestSet, quant.Options{Config: s.Config, Mode: s.Mode})
			if err != nil {
				return nil, fmt.Errorf("study: evaluate %q under %q: %w", tr.Model.Name(), s.Name, err)
			}
			t.Rows = append(t.Rows, []any{m.Inits[i], s.Name, s.Mode.String(), r.FloatAccuracy, r.QuantAccuracy,
				100 * (r.FloatAccuracy - r.QuantAccuracy)})
		}
	}
	return t, nil
}

// BarColumns name the columns of a table that become the fields of
// figures.AccuracyBar: Panel → Arch (one panel each; "" for a single
// panel without a title), X → Init (groups
// along x), Series → Precision (one colour each), Value → Mean, CI →
// CI ("" for none). Scale multiplies Mean and CI (0 means 1; 100 turns
// fractions into percent).
type BarColumns struct {
	Panel, X, Series, Value, CI string
	Scale                       float64
}

// Bars turns the rows of t into figures.AccuracyBars input, one bar per
// row, in row order. Panel, X and Series cells are formatted as text;
// Value and CI must be numeric.
func Bars(t *analysis.Table, c BarColumns) ([]figures.AccuracyBar, error) {
	scale := c.Scale
	if scale == 0 {
		scale = 1
	}
	for _, col := range []string{c.X, c.Series, c.Value} {
		if t.ColumnIndex(col) < 0 {
			return nil, fmt.Errorf("study: bars: table %q has no column %q (columns %v)", t.Name, col, t.Columns)
		}
	}
	for _, col := range []string{c.Panel, c.CI} {
		if col != "" && t.ColumnIndex(col) < 0 {
			return nil, fmt.Errorf("study: bars: table %q has no column %q (columns %v)", t.Name, col, t.Columns)
		}
	}
	out := make([]figures.AccuracyBar, 0, t.Len())
	for i := range t.Rows {
		r := t.Row(i)
		b := figures.AccuracyBar{Arch: r.String(c.Panel), Init: r.String(c.X), Precision: r.String(c.Series),
			Mean: scale * r.Float(c.Value)}
		if c.CI != "" {
			b.CI = scale * r.Float(c.CI)
		}
		out = append(out, b)
	}
	return out, nil
}

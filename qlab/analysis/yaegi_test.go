package analysis_test

import (
	"reflect"
	"testing"

	"github.com/traefik/yaegi/interp"
	"github.com/traefik/yaegi/stdlib"

	"github.com/qlab-dev/qlab/qlab/analysis"
)

// TestInterpreter runs a notebook-style cell in the yaegi interpreter (as
// the Jupyter kernel does): streaming statistics, a table filtered by an
// interpreted closure, quantization error with a Grid, and Compare. The
// symbol table lists by hand the names the cell uses (the kernel's
// generated tables hold all of them).
func TestInterpreter(t *testing.T) {
	i := interp.New(interp.Options{})
	if err := i.Use(stdlib.Symbols); err != nil {
		t.Fatal(err)
	}
	err := i.Use(interp.Exports{
		"github.com/qlab-dev/qlab/qlab/analysis/analysis": {
			"NewAccumulator":   reflect.ValueOf(analysis.NewAccumulator),
			"Options":          reflect.ValueOf((*analysis.Options)(nil)),
			"Bins":             reflect.ValueOf((*analysis.Bins)(nil)),
			"LayerStats":       reflect.ValueOf((*analysis.LayerStats)(nil)),
			"Row":              reflect.ValueOf((*analysis.Row)(nil)),
			"Table":            reflect.ValueOf((*analysis.Table)(nil)),
			"Grid":             reflect.ValueOf((*analysis.Grid)(nil)),
			"UniformGrid":      reflect.ValueOf(analysis.UniformGrid),
			"QuantError":       reflect.ValueOf(analysis.QuantError),
			"Compare":          reflect.ValueOf(analysis.Compare),
			"FreedmanDiaconis": reflect.ValueOf(analysis.FreedmanDiaconis),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	const cell = `
import (
	"fmt"
	"github.com/qlab-dev/qlab/qlab/analysis"
)

func run() (string, error) {
	x := make([]float32, 1000)
	for i := range x {
		x[i] = float32(i%100)/50 - 1
	}
	var s analysis.LayerStats
	for _, name := range []string{"conv1", "conv2"} {
		a, err := analysis.NewAccumulator(analysis.Options{Bins: analysis.Bins{Lo: -1, Hi: 1, N: 10}})
		if err != nil {
			return "", err
		}
		if err := a.Add(x); err != nil {
			return "", err
		}
		s.Add(name, "Conv2D", a)
	}
	tb := s.Table()
	only := tb.Filter(func(r analysis.Row) bool { return r.String("layer") == "conv2" })
	g, err := analysis.UniformGrid(-1, 1, 8)
	if err != nil {
		return "", err
	}
	q, err := analysis.QuantError(x, g)
	if err != nil {
		return "", err
	}
	c, err := analysis.Compare([]string{"a", "b"}, []*analysis.Table{tb, only}, "layer")
	if err != nil {
		return "", err
	}
	bins, err := s.Accs[0].AutoBins(analysis.FreedmanDiaconis)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d %d %.1f %d %v", only.Len(), c.Len(), q.SQNR, bins.N, len(tb.HTML()) > 0), nil
}
`
	if _, err := i.Eval(cell); err != nil {
		t.Fatalf("eval: %v", err)
	}
	v, err := i.Eval("run")
	if err != nil {
		t.Fatal(err)
	}
	out := v.Interface().(func() (string, error))
	got, err := out()
	if err != nil {
		t.Fatal(err)
	}
	// 1 filtered row; Compare: conv1 (a), conv2 (a, b); 8-bit SQNR of a
	// near-uniform signal ≈ 6.02·8 dB; FD bins for 1000 uniform values
	// (IQR 1, width 0.2 over a range of 1.98).
	if want := "1 3 48.1 10 true"; got != want {
		t.Errorf("cell result: got %q; want %q", got, want)
	}
}

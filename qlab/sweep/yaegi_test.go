package sweep_test

import (
	"reflect"
	"strconv"
	"testing"

	"github.com/traefik/yaegi/interp"
	"github.com/traefik/yaegi/stdlib"

	"github.com/qlab-dev/qlab/qlab/sweep"
)

// TestInterpreter runs a sweep from a notebook-style cell in the yaegi
// interpreter, as the Jupyter kernel does: a Spec literal, a trial body
// written in the cell (an interpreted function value called from the
// runner's worker goroutines) and the summary table. The symbol table is
// written out by hand for the names used (the kernel's generated tables
// hold all of them).
func TestInterpreter(t *testing.T) {
	i := interp.New(interp.Options{})
	if err := i.Use(stdlib.Symbols); err != nil {
		t.Fatal(err)
	}
	err := i.Use(interp.Exports{
		"github.com/qlab-dev/qlab/qlab/sweep/sweep": {
			"Spec":         reflect.ValueOf((*sweep.Spec)(nil)),
			"Architecture": reflect.ValueOf((*sweep.Architecture)(nil)),
			"Preset":       reflect.ValueOf(sweep.Preset),
			"Run":          reflect.ValueOf(sweep.Run),
			"Options":      reflect.ValueOf((*sweep.Options)(nil)),
			"TrialSpec":    reflect.ValueOf((*sweep.TrialSpec)(nil)),
			"Record":       reflect.ValueOf((*sweep.Record)(nil)),
			"Eval":         reflect.ValueOf((*sweep.Eval)(nil)),
			"QuantEval":    reflect.ValueOf((*sweep.QuantEval)(nil)),
			"LoadResults":  reflect.ValueOf(sweep.LoadResults),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := i.Eval(`import (
	"context"
	"github.com/qlab-dev/qlab/qlab/sweep"
)`); err != nil {
		t.Fatal(err)
	}
	cell := `
spec := &sweep.Spec{
	Name:          "notebook",
	Architectures: []sweep.Architecture{sweep.Preset("tiny-vgg")},
	Initializers:  []string{"he_normal", "glorot_uniform"},
	Seeds:         []uint64{1, 2, 3},
	ResultsDir:    ` + strconv.Quote(t.TempDir()) + `,
}
body := func(ctx context.Context, t sweep.TrialSpec, dir string) (*sweep.Record, error) {
	acc := 0.9 + float64(t.Seed)/100
	q := sweep.QuantEval{Config: "quint8", Drop: 0.01}
	q.Accuracy, q.N = acc-0.01, 100
	return &sweep.Record{FP32: sweep.Eval{Accuracy: acc, N: 100}, Quant: []sweep.QuantEval{q}}, nil
}
sum, err := sweep.Run(context.Background(), spec, sweep.Options{Trial: body, Workers: 2})
if err != nil {
	panic(err)
}
res, err := sweep.LoadResults(spec.ResultsDir)
if err != nil {
	panic(err)
}
tab, err := res.Summary(0)
if err != nil {
	panic(err)
}
ran := sum.Ran
rows := tab.Len()
`
	if _, err := i.Eval(cell); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int{"ran": 6, "rows": 2} {
		v, err := i.Eval(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := int(v.Int()); got != want {
			t.Errorf("%s: got %d; want %d", name, got, want)
		}
	}
}

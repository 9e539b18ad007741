package figures_test

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/traefik/yaegi/interp"
	"github.com/traefik/yaegi/stdlib"

	"github.com/qlab-dev/qlab/qlab/figures"
)

// TestInterpreter draws a figure from a notebook-style cell in the yaegi
// interpreter, as the Jupyter kernel would, and renders it through the
// PNG method the kernel's display uses.
func TestInterpreter(t *testing.T) {
	i := interp.New(interp.Options{})
	if err := i.Use(stdlib.Symbols); err != nil {
		t.Fatal(err)
	}
	err := i.Use(interp.Exports{
		"github.com/qlab-dev/qlab/qlab/figures/figures": {
			"ErrorLines":  reflect.ValueOf(figures.ErrorLines),
			"ErrorSeries": reflect.ValueOf((*figures.ErrorSeries)(nil)),
			"LineOptions": reflect.ValueOf((*figures.LineOptions)(nil)),
			"Figure":      reflect.ValueOf((*figures.Figure)(nil)),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	const cell = `
import "github.com/qlab-dev/qlab/qlab/figures"

func draw() ([]byte, error) {
	f, err := figures.ErrorLines([]string{"conv1", "conv2", "fc"}, []figures.ErrorSeries{
		{Name: "He", Isolated: []float64{40, 38, 36}, Propagated: []float64{40, 35, 31}},
	}, figures.LineOptions{YLabel: "SQNR (dB)"})
	if err != nil {
		return nil, err
	}
	f.DPI = 72
	return f.PNG(), nil
}
`
	if _, err := i.Eval(cell); err != nil {
		t.Fatalf("eval: %v", err)
	}
	v, err := i.Eval("draw")
	if err != nil {
		t.Fatal(err)
	}
	png, err := v.Interface().(func() ([]byte, error))()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("cell did not produce a PNG (%d bytes)", len(png))
	}
}

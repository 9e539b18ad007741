package quant_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/traefik/yaegi/interp"
	"github.com/traefik/yaegi/stdlib"

	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/quant"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// TestInterpreter drives the notebook-facing API from a yaegi cell, as the
// Jupyter kernel does: a preset changed field by field, Evaluate with
// Options, and the Report read back. The symbol table is written by hand for
// the names used (the kernel's generated tables hold all of them).
func TestInterpreter(t *testing.T) {
	conv, _ := nn.NewConv2D("conv", nn.Conv2DConfig{In: 1, Out: 4, Kernel: 3, Bias: true})
	relu, _ := nn.NewReLU("relu")
	gap, _ := nn.NewGlobalAvgPool("gap")
	fc, _ := nn.NewDense("fc", 4, 3, true)
	m, err := nn.NewModel("tiny", []int{1, 6, 6}, conv, relu, gap, fc)
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.New(12, 1, 6, 6)
	for i := range x.Data {
		x.Data[i] = float32(i%7) - 3
	}
	d, err := data.NewDataset("toy", x, []int{0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2}, []string{"a", "b", "c"})
	if err != nil {
		t.Fatal(err)
	}

	i := interp.New(interp.Options{})
	if err := i.Use(stdlib.Symbols); err != nil {
		t.Fatal(err)
	}
	err = i.Use(interp.Exports{
		"github.com/qlab-dev/qlab/qlab/quant/quant": {
			"QUInt8":       reflect.ValueOf(quant.QUInt8),
			"TFLiteInt8":   reflect.ValueOf(quant.TFLiteInt8),
			"Evaluate":     reflect.ValueOf(quant.Evaluate),
			"Options":      reflect.ValueOf((*quant.Options)(nil)),
			"Config":       reflect.ValueOf((*quant.Config)(nil)),
			"TensorConfig": reflect.ValueOf((*quant.TensorConfig)(nil)),
			"Calibration":  reflect.ValueOf((*quant.Calibration)(nil)),
			"Report":       reflect.ValueOf((*quant.Report)(nil)),
			"Percentile":   reflect.ValueOf(quant.Percentile),
			"WeightsOnly":  reflect.ValueOf(quant.WeightsOnly),
			"Method":       reflect.ValueOf((*quant.Method)(nil)),
			"Mode":         reflect.ValueOf((*quant.Mode)(nil)),
		},
		"github.com/qlab-dev/qlab/qlab/nn/nn":     {"Model": reflect.ValueOf((*nn.Model)(nil))},
		"github.com/qlab-dev/qlab/qlab/data/data": {"Dataset": reflect.ValueOf((*data.Dataset)(nil))},
	})
	if err != nil {
		t.Fatal(err)
	}
	const cell = `
import (
	"context"

	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/quant"
)

func run(m *nn.Model, d *data.Dataset) ([]*quant.Report, error) {
	cfg := quant.TFLiteInt8()
	cfg.Weights.Bits = 6
	cfg.Activations.Calibrator = quant.Calibration{Method: quant.Percentile, Percentile: 99.9}
	var out []*quant.Report
	for _, o := range []quant.Options{{Config: cfg}, {Config: quant.QUInt8(), Mode: quant.WeightsOnly}} {
		r, err := quant.Evaluate(context.Background(), m, d, d, o)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
`
	if _, err := i.Eval(cell); err != nil {
		t.Fatal(err)
	}
	v, err := i.Eval("run")
	if err != nil {
		t.Fatal(err)
	}
	run, ok := v.Interface().(func(*nn.Model, *data.Dataset) ([]*quant.Report, error))
	if !ok {
		t.Fatalf("run has type %T", v.Interface())
	}
	reports, err := run(m, d)
	if err != nil {
		t.Fatal(err)
	}
	direct, err := quant.Evaluate(context.Background(), m, d, d, quant.Options{Config: quant.QUInt8(), Mode: quant.WeightsOnly})
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) != 2 || reports[1].QuantLoss != direct.QuantLoss || reports[0].Samples != 12 {
		t.Errorf("interpreted reports %v; want 2, the second equal to compiled %v", reports, direct)
	}
}

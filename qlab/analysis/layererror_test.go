package analysis

import (
	"context"
	"math"
	"testing"

	"github.com/qlab-dev/qlab/qlab/arch"
	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/initializers"
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/quant"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// tinyNet is RefNet-S shrunk to 12×12 inputs and two stages, so that the
// per-layer quantizations of LayerErrors stay fast.
func tinyNet(t *testing.T) *nn.Model {
	t.Helper()
	s := arch.RefNetS()
	s.Input = []int{3, 12, 12}
	s.Stages = [][]int{{8}, {16}}
	s.Init = initializers.HeNormal()
	s.Seed = 5
	m, err := arch.Build(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// selfLabelled labels random images with the float model's predictions.
func selfLabelled(t *testing.T, m *nn.Model, n int, seed uint64) *data.Dataset {
	t.Helper()
	x := tensor.New(append([]int{n}, m.InputShape()...)...)
	copy(x.Data, uniformData(seed, len(x.Data), 0, 1))
	m.Eval()
	y, err := m.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	labels := make([]int, n)
	k := y.Shape[1]
	for i := range labels {
		row := y.Data[i*k : (i+1)*k]
		for j := range row {
			if row[j] > row[labels[i]] {
				labels[i] = j
			}
		}
	}
	classes := make([]string, k)
	for i := range classes {
		classes[i] = string(rune('a' + i))
	}
	d, err := data.NewDataset("self", x, labels, classes)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestLayerErrors(t *testing.T) {
	m := tinyNet(t)
	calib := selfLabelled(t, m, 48, 1)
	eval := selfLabelled(t, m, 40, 2)
	opts := LayerErrorOptions{Quant: quant.Options{Config: quant.QUInt8()}, BatchSize: 16}
	tb, err := LayerErrors(context.Background(), m, calib, eval, opts)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := quant.FoldBatchNorm(m)
	ref.Eval()
	if tb.Len() != len(ref.Layers()) {
		t.Fatalf("rows: got %d; want %d", tb.Len(), len(ref.Layers()))
	}
	full, err := quant.Quantize(context.Background(), m, calib, opts.Quant)
	if err != nil {
		t.Fatal(err)
	}

	// Oracle 1: the last row's propagated SQNR is the SQNR of the logits
	// of the float and the fully quantized model, computed directly.
	// Same batches as LayerErrors: GEMM rounding depends on the batch size.
	var sig, noise float64
	for lo := 0; lo < eval.Len(); lo += opts.BatchSize {
		b, _ := eval.Slice(lo, min(lo+opts.BatchSize, eval.Len()))
		yr, _ := ref.Forward(b.Images)
		yr = yr.Clone()
		yq, _ := full.Forward(b.Images)
		for i, r := range yr.Data {
			d := float64(yq.Data[i]) - float64(r)
			sig += float64(r) * float64(r)
			noise += d * d
		}
	}
	prop, _ := tb.Floats("propagated_sqnr")
	if want := 10 * math.Log10(sig/noise); math.Abs(prop[len(prop)-1]-want) > 1e-9 {
		t.Errorf("output propagated SQNR: got %v; want %v", prop[len(prop)-1], want)
	}

	// Oracle 2: a ReLU's isolated error is the fake quantization of its
	// float output with its own qparams, measured by QuantError.
	layers, _ := tb.Strings("layer")
	isoMSE, _ := tb.Floats("isolated_mse")
	isoSQNR, _ := tb.Floats("isolated_sqnr")
	checked := 0
	for i, name := range layers {
		lq := full.Layer(name)
		if lq == nil || lq.Kind != "ReLU" || lq.Output == nil {
			continue
		}
		var out []float32
		remove := ref.Observe(func(l nn.Layer, o *tensor.Tensor) {
			if l.Name() == name {
				out = append([]float32(nil), o.Data...)
			}
		})
		ref.Forward(eval.Images)
		remove()
		q := lq.Output
		g := Grid{Scale: float64(q.Scale[0]), ZeroPoint: int(q.ZeroPoint[0]), QMin: int(q.QMin), QMax: int(q.QMax)}
		xq := &tensor.Tensor{Shape: []int{len(out)}, Data: make([]float32, len(out))}
		if err := q.FakeQuant(xq, &tensor.Tensor{Shape: []int{len(out)}, Data: out}); err != nil {
			t.Fatal(err)
		}
		st, err := QuantErrorFrom(out, xq.Data, g)
		if err != nil {
			t.Fatal(err)
		}
		if !relClose(isoMSE[i], st.MSE, 1e-9) || math.Abs(isoSQNR[i]-st.SQNR) > 1e-6 {
			t.Errorf("%s isolated: got MSE %v SQNR %v; want %v %v", name, isoMSE[i], isoSQNR[i], st.MSE, st.SQNR)
		}
		checked++
	}
	if checked == 0 {
		t.Fatalf("no ReLU quantization point checked")
	}

	// Plausibility: 8-bit errors are finite and in a sane range, and
	// errors accumulate: the output's propagated SQNR is below the best
	// isolated one.
	best := math.Inf(-1)
	for i, s := range isoSQNR {
		if !math.IsNaN(s) {
			best = math.Max(best, s)
			if s < 10 || s > 80 {
				t.Errorf("%s isolated SQNR %v dB outside [10, 80]", layers[i], s)
			}
		}
	}
	if prop[len(prop)-1] >= best {
		t.Errorf("output propagated SQNR %v not below best isolated %v", prop[len(prop)-1], best)
	}
	drop, _ := tb.Floats("isolated_acc_drop")
	for i, d := range drop {
		if !math.IsNaN(d) && (d < -100 || d > 100) {
			t.Errorf("%s accuracy drop %v outside [-100, 100]", layers[i], d)
		}
	}
	empty := &data.Dataset{Name: "empty", Images: tensor.New(0, 3, 12, 12), Classes: eval.Classes}
	if _, err := LayerErrors(context.Background(), m, calib, empty, opts); err == nil {
		t.Errorf("empty evaluation set: got nil error")
	}
}

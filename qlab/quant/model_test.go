package quant

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/qlab-dev/qlab/qlab/arch"
	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// smallNet is a RefNet-S-like network small enough for fast tests, with
// trained-looking batch norms.
func smallNet(t *testing.T, dws bool) *nn.Model {
	t.Helper()
	s := arch.RefNetS()
	if dws {
		s = arch.RefNetDWS()
	}
	s.Input = []int{3, 12, 12}
	s.Stages = [][]int{{8}, {16}}
	m, err := s.Build()
	if err != nil {
		t.Fatal(err)
	}
	randomizeBN(m, 1)
	perturbWeights(m, 2)
	return m
}

// selfLabelled returns n random images labelled with the float model's own
// predictions, so the float accuracy is exactly 1.
func selfLabelled(t *testing.T, m *nn.Model, n int, seed uint64) *data.Dataset {
	t.Helper()
	x := randomInput(seed, append([]int{n}, m.InputShape()...)...)
	m.Eval()
	y, err := m.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	k := y.Shape[1]
	labels := make([]int, n)
	for i := range labels {
		labels[i] = nn.Argmax(y.Data[i*k : (i+1)*k])
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

// onGrid reports whether every value of x is a representable level of q.
func onGrid(q *QParams, x *tensor.Tensor) bool {
	y := &tensor.Tensor{}
	if err := q.FakeQuant(y, x); err != nil {
		return false
	}
	for i := range x.Data {
		if y.Data[i] != x.Data[i] {
			return false
		}
	}
	return true
}

func TestQuantizePlacement(t *testing.T) {
	m := smallNet(t, false)
	calib := selfLabelled(t, m, 32, 7)
	q, err := Quantize(context.Background(), m, calib, Options{Config: QUInt8(), BatchSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	if s := q.String(); !strings.Contains(s, "conv") || !strings.Contains(s, "z=") {
		t.Errorf("String() lacks layers or params:\n%s", s)
	}
	if q.Layers[0].Layer != InputName || q.Layers[0].Output == nil {
		t.Fatalf("first record %+v; want the quantized input", q.Layers[0])
	}
	wantPoint := map[string]bool{"ReLU": true, "GlobalAvgPool": true, "Dense": true}
	for _, lq := range q.Layers[1:] {
		if got := lq.Output != nil; got != wantPoint[lq.Kind] {
			t.Errorf("layer %q (%s): quantized output %v; want %v", lq.Layer, lq.Kind, got, wantPoint[lq.Kind])
		}
		if lq.Kind == "Conv2D" || lq.Kind == "Dense" {
			if lq.Weight == nil {
				t.Errorf("layer %q: weights not quantized", lq.Layer)
			}
			if lq.Bias != nil {
				t.Errorf("layer %q: QUInt8 keeps biases float, got %v", lq.Layer, lq.Bias)
			}
			if lq.Input == "" {
				t.Errorf("layer %q: input point unknown", lq.Layer)
			}
		}
		if lq.Kind == "BatchNorm2D" {
			t.Errorf("batch norm %q not folded", lq.Layer)
		}
	}
	// Every quantized output and weight lies on its grid (the test observer
	// runs after the quantizing one).
	seen := 0
	remove := q.Net.Observe(func(l nn.Layer, out *tensor.Tensor) {
		if lq := q.Layer(l.Name()); lq != nil && lq.Output != nil {
			seen++
			if !onGrid(lq.Output, out) {
				t.Errorf("output of %q is off its grid %v", l.Name(), lq.Output)
			}
		}
	})
	if _, err := q.Forward(calib.Images); err != nil {
		t.Fatal(err)
	}
	remove()
	if seen == 0 {
		t.Fatal("no quantized outputs observed")
	}
	for _, lq := range q.Layers {
		if lq.Weight != nil {
			w := q.Net.Param(lq.Layer + "/weight")
			if !onGrid(lq.Weight, w.Value) {
				t.Errorf("weight of %q is off its grid", lq.Layer)
			}
		}
	}
}

func TestQuantizeModes(t *testing.T) {
	m := smallNet(t, true)
	calib := selfLabelled(t, m, 16, 8)
	before := m.State()
	folded, err := FoldBatchNorm(m)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	wo, err := Quantize(ctx, m, nil, Options{Config: TFLiteInt8(), Mode: WeightsOnly})
	if err != nil {
		t.Fatal(err)
	}
	for _, lq := range wo.Layers {
		if lq.Output != nil {
			t.Errorf("weights-only: %q output quantized", lq.Layer)
		}
		if lq.Bias != nil {
			t.Errorf("weights-only: %q Int32Bias quantized without an activation scale", lq.Layer)
		}
	}

	ao, err := Quantize(ctx, m, calib, Options{Config: TFLiteInt8(), Mode: ActivationsOnly})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range folded.Params() {
		got := ao.Net.Param(p.Name).Value.Data
		for i := range got {
			if got[i] != p.Value.Data[i] {
				t.Fatalf("activations-only changed %q", p.Name)
			}
		}
	}

	// Full TFLite int8: per-channel symmetric weights, int32 biases with
	// scale = input scale x weight scale, and one layer left in float.
	keep := "dense"
	if m.Layer(keep) == nil {
		for _, l := range m.Layers() {
			if l.Kind() == "Dense" {
				keep = l.Name()
			}
		}
	}
	full, err := Quantize(ctx, m, calib, Options{Config: TFLiteInt8(), Float: []string{keep}})
	if err != nil {
		t.Fatal(err)
	}
	biases := 0
	for _, lq := range full.Layers {
		if lq.Layer == keep {
			if lq.Weight != nil || lq.Output != nil {
				t.Errorf("float layer %q quantized", keep)
			}
			got := full.Net.Param(keep + "/weight").Value.Data
			want := folded.Param(keep + "/weight").Value.Data
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("float layer %q weight changed", keep)
				}
			}
			continue
		}
		if lq.Weight != nil {
			if lq.Weight.Axis != 0 || len(lq.Weight.Scale) != lq.WeightShape[0] || lq.Weight.QMin != -127 {
				t.Errorf("%q weight params %v; want per-channel axis 0, [-127, 127]", lq.Layer, lq.Weight)
			}
		}
		if lq.Bias != nil {
			biases++
			in := full.Layer(lq.Input).Output
			for c, s := range lq.Bias.Scale {
				if want := float32(float64(in.Scale[0]) * float64(lq.Weight.Scale[c])); s != want {
					t.Errorf("%q bias scale[%d] = %v; want %v", lq.Layer, c, s, want)
				}
			}
			if !onGrid(lq.Bias, full.Net.Param(lq.Layer+"/bias").Value) {
				t.Errorf("%q bias off its grid", lq.Layer)
			}
		}
	}
	if biases == 0 {
		t.Error("no int32 biases quantized")
	}
	for k, v := range m.State() {
		for i := range v {
			if v[i] != before[k][i] {
				t.Fatalf("Quantize modified the original model's %q", k)
			}
		}
	}
}

func TestEvaluate(t *testing.T) {
	m := smallNet(t, false)
	calib := selfLabelled(t, m, 64, 9)
	test := selfLabelled(t, m, 96, 10)
	m.Train()
	ctx := context.Background()
	cases := []struct {
		name   string
		opt    Options
		minAcc float64
	}{
		{"quint8", Options{Config: QUInt8()}, 0.85},
		{"tflite int8", Options{Config: TFLiteInt8()}, 0.85},
		{"fbgemm", Options{Config: FBGEMM()}, 0.85},
		{"16 bit", Options{Config: Config{Weights: TensorConfig{Bits: 16}, Activations: TensorConfig{Bits: 16}, Biases: TensorConfig{Float: true}}}, 0.99},
	}
	var acc8 float64
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := Evaluate(ctx, m, calib, test, c.opt)
			if err != nil {
				t.Fatal(err)
			}
			t.Log(r)
			if r.FloatAccuracy != 1 || r.Samples != 96 {
				t.Fatalf("float accuracy %v on %d samples; want 1 on 96 (labels are the float predictions)", r.FloatAccuracy, r.Samples)
			}
			if r.QuantAccuracy < c.minAcc || r.QuantAccuracy > 1 {
				t.Errorf("%v; want quantized accuracy ≥ %v", r, c.minAcc)
			}
			if math.IsNaN(r.QuantLoss) || r.QuantLoss < r.FloatLoss*0.5 {
				t.Errorf("%v: implausible quantized loss", r)
			}
			if c.name == "quint8" {
				acc8 = r.QuantAccuracy
			}
		})
	}
	if !m.Training() {
		t.Error("Evaluate did not restore training mode")
	}
	// 2-bit weights must hurt more than 8-bit.
	r, err := Evaluate(ctx, m, calib, test, Options{Config: Config{Weights: TensorConfig{Bits: 2}, Activations: TensorConfig{}, Biases: TensorConfig{Float: true}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("2-bit weights:", r)
	if r.QuantAccuracy >= acc8 || r.QuantLoss <= r.FloatLoss {
		t.Errorf("2-bit weights: %v; want worse than 8-bit accuracy %v", r, acc8)
	}
}

func TestQuantizeErrors(t *testing.T) {
	m := smallNet(t, false)
	ctx := context.Background()
	if _, err := Quantize(ctx, m, nil, Options{}); err == nil {
		t.Error("no calibration data: got nil error")
	}
	if _, err := Quantize(ctx, m, nil, Options{Mode: WeightsOnly, Float: []string{"nope"}}); err == nil {
		t.Error("unknown float layer: got nil error")
	}
	if _, err := Quantize(ctx, m, nil, Options{Config: Config{Weights: TensorConfig{Bits: 1}}}); err == nil {
		t.Error("bad config: got nil error")
	}
	calib := selfLabelled(t, m, 8, 3)
	calib.Images.Data[5] = float32(math.NaN())
	if _, err := Quantize(ctx, m, calib, Options{}); err == nil {
		t.Error("NaN in calibration data: got nil error")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Quantize(cctx, m, selfLabelled(t, m, 8, 4), Options{}); err == nil {
		t.Error("cancelled context: got nil error")
	}
}

// BenchmarkForward compares RefNet-S inference (batch 64, 3x32x32) in float,
// fake-quantized (QUInt8) and integer-only form.
func BenchmarkForward(b *testing.B) {
	m, err := arch.Build(arch.RefNetS())
	if err != nil {
		b.Fatal(err)
	}
	randomizeBN(m, 1)
	x := randomInput(1, 64, 3, 32, 32)
	calib, err := data.NewDataset("calib", x, make([]int, 64), []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"})
	if err != nil {
		b.Fatal(err)
	}
	q, err := Quantize(context.Background(), m, calib, Options{Config: QUInt8()})
	if err != nil {
		b.Fatal(err)
	}
	im, err := q.Integer()
	if err != nil {
		b.Fatal(err)
	}
	m.Eval()
	for _, c := range []struct {
		name string
		fwd  func() error
	}{
		{"float", func() error { _, err := m.Forward(x); return err }},
		{"fakequant", func() error { _, err := q.Forward(x); return err }},
		{"integer", func() error { _, err := im.Forward(x); return err }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if err := c.fwd(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(64*b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}

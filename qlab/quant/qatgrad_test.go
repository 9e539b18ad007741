package quant

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"testing"

	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// FakeQuantGrad against hand-computed masks: the code before clamping is
// zp + nearbyint(x/scale) (ties to even), the gradient passes iff it lies
// in [qmin, qmax]; Nudged passes iff x lies in the nudged [min, max].
func TestFakeQuantGradMask(t *testing.T) {
	tests := []struct {
		name  string
		q     QParams
		shape []int
		x     []float32
		want  []float32 // 1 where the gradient passes
	}{
		{
			// scale 0.5, codes [-4, 3]: -2.25 → -4.5 → -4 (tie to even) in;
			// -2.3 → -4.6 → -5 out; 1.74 → 3.48 → 3 in; 1.75 → 3.5 → 4 out.
			name:  "per tensor",
			q:     QParams{Scale: []float32{0.5}, ZeroPoint: []int32{0}, QMin: -4, QMax: 3, Axis: -1},
			shape: []int{8},
			x:     []float32{-2.25, -2.3, 1.74, 1.75, 1.5, 0, 100, -100},
			want:  []float32{1, 0, 1, 0, 1, 1, 0, 0},
		},
		{
			// channel 0: scale 1, zp 0, codes [0, 3]; channel 1: scale 0.125,
			// zp 2: 0.125 → 1+2 = 3 in; 0.1875 → 1.5 → 2+2 = 4 out;
			// -0.25 → -2+2 = 0 in; -0.3125 → -2.5 → -2+2 = 0 in (tie to even);
			// -0.34375 → -2.75 → -3+2 = -1 out.
			name:  "per channel",
			q:     QParams{Scale: []float32{1, 0.125}, ZeroPoint: []int32{0, 2}, QMin: 0, QMax: 3, Axis: 0},
			shape: []int{2, 5},
			x:     []float32{3.4, 3.6, -0.4, -0.6, 3.5, 0.125, 0.1875, -0.25, -0.3125, -0.34375},
			want:  []float32{1, 0, 1, 0, 0, 1, 0, 1, 1, 0},
		},
		{
			// nudged min = (0-1)·0.5 = -0.5, max = (3-1)·0.5 = 1.
			name:  "nudged",
			q:     QParams{Scale: []float32{0.5}, ZeroPoint: []int32{1}, QMin: 0, QMax: 3, Axis: -1, Nudged: true},
			shape: []int{4},
			x:     []float32{-0.5, -0.51, 1, 1.01},
			want:  []float32{1, 0, 1, 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := &tensor.Tensor{Shape: tt.shape, Data: tt.x}
			dy := tensor.New(tt.shape...)
			for i := range dy.Data {
				dy.Data[i] = float32(i + 1)
			}
			dx := &tensor.Tensor{}
			if err := tt.q.FakeQuantGrad(dx, x, dy); err != nil {
				t.Fatal(err)
			}
			for i := range tt.want {
				if want := tt.want[i] * dy.Data[i]; dx.Data[i] != want {
					t.Errorf("x[%d] = %v: got gradient %v; want %v", i, tt.x[i], dx.Data[i], want)
				}
			}
			// In place (dx = dy) gives the same.
			if err := tt.q.FakeQuantGrad(dy, x, dy); err != nil {
				t.Fatal(err)
			}
			for i := range dy.Data {
				if dy.Data[i] != dx.Data[i] {
					t.Errorf("in place: element %d got %v; want %v", i, dy.Data[i], dx.Data[i])
				}
			}
		})
	}
}

func TestFakeQuantGradErrors(t *testing.T) {
	q := QParams{Scale: []float32{0.5}, ZeroPoint: []int32{0}, QMin: -4, QMax: 3, Axis: -1}
	nan := float32(math.NaN())
	if err := q.FakeQuantGrad(&tensor.Tensor{}, &tensor.Tensor{Shape: []int{2}, Data: []float32{0, nan}}, tensor.New(2)); !errors.Is(err, ErrNaN) {
		t.Errorf("NaN input: got %v; want ErrNaN", err)
	}
	if err := q.FakeQuantGrad(&tensor.Tensor{}, tensor.New(2), tensor.New(3)); !errors.Is(err, tensor.ErrShape) {
		t.Errorf("shape mismatch: got %v; want ErrShape", err)
	}
}

// With signed symmetric 3-bit weights ([-4, 3], scale = max|w|/3.5) the
// largest positive weight of a channel sits at code 3.5, which rounds (to
// even) to 4, outside the range: PyTorch's clipped estimator zeroes its
// gradient, and every other weight keeps it. Each channel's master weights
// are set to 1.75 (scale 0.5 exactly, code 3.5), -1 (code -2) and small
// values, so the codes are exact.
func TestClipWeightGrads(t *testing.T) {
	m := smallNet(t, false)
	d := selfLabelled(t, m, 32, 41)
	cfg := Config{
		Weights:     TensorConfig{Bits: 3, Signed: true, Symmetric: true, PerChannel: true},
		Activations: TensorConfig{},
		Biases:      TensorConfig{Float: true},
	}
	q, err := Quantize(context.Background(), m, d, Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	master := map[*nn.Param][]float32{}
	for _, lq := range q.Layers {
		if lq.WeightShape == nil {
			continue
		}
		w, b := weightOf(q.Net.Layer(lq.Layer))
		x := make([]float32, len(w.Value.Data))
		inner := len(x) / lq.WeightShape[0]
		for i := range x {
			switch i % inner {
			case 0:
				x[i] = 1.75
			case 1:
				x[i] = -1
			default:
				x[i] = float32(i%7) / 16
			}
		}
		master[w] = x
		if b != nil {
			master[b] = append([]float32(nil), b.Value.Data...)
		}
	}
	if err := q.requantizeWeights(master, nil); err != nil {
		t.Fatal(err)
	}
	for _, p := range q.Net.Params() {
		for i := range p.Grad.Data {
			p.Grad.Data[i] = 1
		}
	}
	if err := q.clipWeightGrads(master); err != nil {
		t.Fatal(err)
	}
	for _, lq := range q.Layers {
		if lq.WeightShape == nil {
			continue
		}
		w, _ := weightOf(q.Net.Layer(lq.Layer))
		inner := len(w.Grad.Data) / lq.WeightShape[0]
		for i, g := range w.Grad.Data {
			var want float32 = 1
			if i%inner == 0 {
				want = 0
			}
			if g != want {
				t.Errorf("%s weight %d = %v: got gradient %v; want %v", w.Name, i, master[w][i], g, want)
			}
		}
	}
}

// FakeQuantGrad agrees exactly with the backward of PyTorch's
// fake_quantize_per_tensor_affine / per_channel_affine on vectors from
// testdata/gen_torch_grad.py (ties at qmin-0.5 and qmax+0.5 included).
func TestFakeQuantGradTorch(t *testing.T) {
	raw, err := os.ReadFile("testdata/torch_fqgrad.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		PerTensor []struct {
			Name       string
			X, Dy, Dx  []float32
			Scale      float32
			ZeroPoint  int32 `json:"zero_point"`
			QMin, QMax int32
		} `json:"per_tensor"`
		PerChannel []struct {
			Name       string
			Shape      []int
			Axis       int
			X, Dy, Dx  []float32
			Scales     []float32
			ZeroPoints []int32 `json:"zero_points"`
			QMin, QMax int32
		} `json:"per_channel"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.PerTensor) == 0 || len(v.PerChannel) == 0 {
		t.Fatal("no vectors")
	}
	check := func(t *testing.T, q *QParams, shape []int, x, dy, want []float32) {
		dx := &tensor.Tensor{}
		if err := q.FakeQuantGrad(dx, &tensor.Tensor{Shape: shape, Data: x}, &tensor.Tensor{Shape: shape, Data: dy}); err != nil {
			t.Fatal(err)
		}
		if len(want) != len(x) {
			t.Fatalf("got %d torch gradients; want %d", len(want), len(x))
		}
		for i := range want {
			if dx.Data[i] != want[i] {
				t.Errorf("x[%d] = %v: got gradient %v; want %v (torch)", i, x[i], dx.Data[i], want[i])
			}
		}
	}
	for _, c := range v.PerTensor {
		t.Run(c.Name, func(t *testing.T) {
			q := &QParams{Scale: []float32{c.Scale}, ZeroPoint: []int32{c.ZeroPoint}, QMin: c.QMin, QMax: c.QMax, Axis: -1}
			check(t, q, []int{len(c.X)}, c.X, c.Dy, c.Dx)
		})
	}
	for _, c := range v.PerChannel {
		t.Run(c.Name, func(t *testing.T) {
			q := &QParams{Scale: c.Scales, ZeroPoint: c.ZeroPoints, QMin: c.QMin, QMax: c.QMax, Axis: c.Axis}
			check(t, q, c.Shape, c.X, c.Dy, c.Dx)
		})
	}
}

// The LSQ scale gradient is the derivative of the loss L(s) = Σ dy·x̂(s)
// of the straight-through surrogate of fake quantization, in which
// rounding is replaced by its value at s0 plus the identity slope:
// x̂(s) = (round(u0) + clamp(x/s) - clamp(u0))·s, u0 = clamp(x/s0). Central
// finite differences of that surrogate (float64) must match lsqScaleGrad
// times sqrt(N·(qmax-zp)), per channel and per tensor.
func TestLSQScaleGrad(t *testing.T) {
	tests := []struct {
		name  string
		q     QParams
		shape []int
	}{
		{"per tensor int4", QParams{Scale: []float32{0.3}, ZeroPoint: []int32{0}, QMin: -8, QMax: 7, Axis: -1}, []int{40}},
		{"per tensor uint3 zp", QParams{Scale: []float32{0.2}, ZeroPoint: []int32{2}, QMin: 0, QMax: 7, Axis: -1}, []int{40}},
		{"per channel int3", QParams{Scale: []float32{0.25, 0.6, 0.1}, ZeroPoint: []int32{0, 0, 1}, QMin: -4, QMax: 3, Axis: 0}, []int{3, 2, 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, dy := randomInput(7, tt.shape...), randomInput(8, tt.shape...)
			for i := range x.Data {
				x.Data[i] *= 1.5 // some elements beyond the range
			}
			grad := make([]float64, len(tt.q.Scale))
			if err := tt.q.lsqScaleGrad(grad, x, dy); err != nil {
				t.Fatal(err)
			}
			channels := len(tt.q.Scale)
			inner := len(x.Data) / tt.shape[0]
			if channels == 1 {
				inner = len(x.Data)
			}
			clampU := func(u float64, c int) float64 {
				lo, hi := float64(tt.q.QMin-tt.q.ZeroPoint[c]), float64(tt.q.QMax-tt.q.ZeroPoint[c])
				return min(max(u, lo), hi)
			}
			for c := 0; c < channels; c++ {
				s0 := float64(tt.q.Scale[c])
				loss := func(s float64) float64 {
					var l float64
					for i := c * inner; i < (c+1)*inner; i++ {
						u0 := clampU(float64(x.Data[i])/s0, c)
						r := math.RoundToEven(u0)
						l += float64(dy.Data[i]) * (r + clampU(float64(x.Data[i])/s, c) - u0) * s
					}
					return l
				}
				const h = 1e-6
				fd := (loss(s0+h) - loss(s0-h)) / (2 * h)
				qp := float64(tt.q.QMax - tt.q.ZeroPoint[c])
				got := grad[c] * math.Sqrt(float64(inner)*qp)
				if math.Abs(got-fd) > 1e-5*max(1, math.Abs(fd)) {
					t.Errorf("channel %d: got scale gradient %v; want %v (finite differences)", c, got, fd)
				}
			}
		})
	}
}

// Fine-tuning 3-bit weights with learned (LSQ) scales must recover part of
// what post-training quantization loses, and keep the weights on the grid
// of their learned params.
func TestTrainQATLearned(t *testing.T) {
	m := smallNet(t, false)
	d := selfLabelled(t, m, 256, 40)
	cfg := Config{
		Weights:     TensorConfig{Bits: 3, Signed: true, Symmetric: true, PerChannel: true},
		Activations: TensorConfig{},
		Biases:      TensorConfig{Float: true},
	}
	ctx := context.Background()
	ptq, err := Quantize(ctx, m, d, Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	_, ptqAcc, ptqLoss, err := score(ctx, ptq, d, 64)
	if err != nil {
		t.Fatal(err)
	}
	qat, err := TrainQAT(ctx, m, d, QATOptions{Options: Options{Config: cfg, BatchSize: 32}, Epochs: 4, LR: 0.01, Seed: 1, Ranges: Learned})
	if err != nil {
		t.Fatal(err)
	}
	_, qatAcc, qatLoss, err := score(ctx, qat, d, 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("3-bit weights: PTQ acc %.3f loss %.4f; LSQ QAT acc %.3f loss %.4f", ptqAcc, ptqLoss, qatAcc, qatLoss)
	if !(qatLoss < ptqLoss && qatAcc >= ptqAcc) {
		t.Errorf("learned-range QAT did not improve on PTQ: loss %.4f vs %.4f, accuracy %.3f vs %.3f", qatLoss, ptqLoss, qatAcc, ptqAcc)
	}
	moved := false
	for _, lq := range qat.Layers {
		if lq.Weight == nil {
			continue
		}
		w, _ := weightOf(qat.Net.Layer(lq.Layer))
		again := w.Value.Clone()
		if err := lq.Weight.FakeQuant(again, w.Value); err != nil {
			t.Fatal(err)
		}
		for i := range again.Data {
			if again.Data[i] != w.Value.Data[i] {
				t.Fatalf("%q weight %d off its learned grid: %v vs %v", lq.Layer, i, w.Value.Data[i], again.Data[i])
			}
		}
		// Observed params of the final weights differ from learned ones
		// unless the scales never moved.
		o, err := NewObserver(w.Name, cfg.Weights)
		if err != nil {
			t.Fatal(err)
		}
		if err := o.Observe(w.Value); err != nil {
			t.Fatal(err)
		}
		obs, err := o.QParams()
		if err != nil {
			t.Fatal(err)
		}
		for c := range obs.Scale {
			if obs.Scale[c] != lq.Weight.Scale[c] {
				moved = true
			}
		}
	}
	if !moved {
		t.Error("no learned scale differs from the observed one")
	}
}

package quant

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/qlab-dev/qlab/qlab/arch"
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// randomizeBN gives every batch norm non-trivial parameters and running
// statistics, as after training.
func randomizeBN(m *nn.Model, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 17))
	for _, l := range m.Layers() {
		bn, ok := l.(*nn.BatchNorm2D)
		if !ok {
			continue
		}
		for i := range bn.Gamma().Value.Data {
			bn.Gamma().Value.Data[i] = float32(0.5 + r.Float64())
			bn.Beta().Value.Data[i] = float32(r.NormFloat64() * 0.5)
			bn.RunningMean().Value.Data[i] = float32(r.NormFloat64() * 0.5)
			bn.RunningVar().Value.Data[i] = float32(0.5 + 1.5*r.Float64())
		}
	}
}

// perturbWeights moves every non-BN parameter off its initial value, so a
// fold that re-initialized a layer would show.
func perturbWeights(m *nn.Model, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 23))
	for _, p := range m.Params() {
		if p.Kind == nn.Weight || p.Kind == nn.Bias {
			for i := range p.Value.Data {
				p.Value.Data[i] += float32(r.NormFloat64() * 0.02)
			}
		}
	}
}

func randomInput(seed uint64, shape ...int) *tensor.Tensor {
	x := tensor.New(shape...)
	r := rand.New(rand.NewPCG(seed, 3))
	for i := range x.Data {
		x.Data[i] = float32(r.NormFloat64())
	}
	return x
}

func countKind(m *nn.Model, kind string) int {
	n := 0
	for _, l := range m.Layers() {
		if l.Kind() == kind {
			n++
		}
	}
	return n
}

func TestFoldBatchNorm(t *testing.T) {
	specs := []struct {
		name string
		spec arch.Spec
	}{
		{"refnet-s", arch.RefNetS()},
		{"refnet-dws", arch.RefNetDWS()},
		{"resnet-8", arch.ResNetSpec{Blocks: []int{1, 1, 1}, BatchNorm: true}},
		{"mobilenet-v2", arch.MobileNetV2Spec{BatchNorm: true}},
	}
	for i, s := range specs {
		t.Run(s.name, func(t *testing.T) {
			m, err := arch.Build(s.spec)
			if err != nil {
				t.Fatal(err)
			}
			randomizeBN(m, uint64(i))
			perturbWeights(m, uint64(i))
			m.Eval()
			bnBefore := countKind(m, "BatchNorm2D")
			if bnBefore == 0 {
				t.Fatalf("%s has no batch norm to fold", s.name)
			}
			state := m.State()
			f, err := FoldBatchNorm(m)
			if err != nil {
				t.Fatal(err)
			}
			if n := countKind(f, "BatchNorm2D"); n != 0 {
				t.Errorf("%d batch norms left after folding; want 0", n)
			}
			if f.Training() {
				t.Errorf("folded model is in training mode")
			}
			x := randomInput(5, append([]int{4}, m.InputShape()...)...)
			y, err := m.Forward(x)
			if err != nil {
				t.Fatal(err)
			}
			want := y.Clone()
			got, err := f.Forward(x)
			if err != nil {
				t.Fatal(err)
			}
			maxAbs, maxDiff := 0.0, 0.0
			for k := range want.Data {
				maxAbs = math.Max(maxAbs, math.Abs(float64(want.Data[k])))
				maxDiff = math.Max(maxDiff, math.Abs(float64(got.Data[k]-want.Data[k])))
			}
			if maxDiff > 1e-5*maxAbs {
				t.Errorf("folded output differs by %g (max |y| %g); want ≤ 1e-5 relative", maxDiff, maxAbs)
			}
			// The original is untouched.
			for k, v := range m.State() {
				for j := range v {
					if v[j] != state[k][j] {
						t.Fatalf("FoldBatchNorm modified %q", k)
					}
				}
			}
		})
	}
}

func TestFoldKeepsLoneBatchNorm(t *testing.T) {
	bn0, _ := nn.NewBatchNorm2D("bn0", nn.BatchNormConfig{Channels: 2})
	conv, _ := nn.NewConv2D("conv", nn.Conv2DConfig{In: 2, Out: 3, Kernel: 3, Bias: true})
	bn1, _ := nn.NewBatchNorm2D("bn1", nn.BatchNormConfig{Channels: 3, Eps: 1e-3})
	relu, _ := nn.NewReLU("relu")
	m, err := nn.NewModel("tiny", []int{2, 5, 5}, bn0, conv, bn1, relu)
	if err != nil {
		t.Fatal(err)
	}
	randomizeBN(m, 9)
	for i := range conv.Bias().Value.Data {
		conv.Bias().Value.Data[i] = float32(i) - 1
	}
	m.Eval()
	f, err := FoldBatchNorm(m)
	if err != nil {
		t.Fatal(err)
	}
	if got := countKind(f, "BatchNorm2D"); got != 1 || f.Layer("bn0") == nil || f.Layer("bn1") != nil {
		t.Fatalf("got %d batch norms (bn0 %v, bn1 %v); want only bn0 kept", got, f.Layer("bn0") != nil, f.Layer("bn1") != nil)
	}
	x := randomInput(6, 3, 2, 5, 5)
	y, _ := m.Forward(x)
	want := y.Clone()
	got, err := f.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	for k := range want.Data {
		if d := math.Abs(float64(got.Data[k] - want.Data[k])); d > 1e-5*(1+math.Abs(float64(want.Data[k]))) {
			t.Fatalf("element %d: folded %v; want %v", k, got.Data[k], want.Data[k])
		}
	}
}

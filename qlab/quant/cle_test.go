package quant

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/qlab-dev/qlab/qlab/arch"
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// unbalance multiplies each output channel of every weight layer of m by
// 10^u, u uniform in [-1.5, 1.5]: per-channel ranges spread over three
// decades, as in trained depthwise layers.
func unbalance(m *nn.Model, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 31))
	for _, l := range m.Layers() {
		w, _ := weightOf(l)
		if w == nil {
			continue
		}
		out := w.Value.Shape[0]
		per := len(w.Value.Data) / out
		for o := 0; o < out; o++ {
			f := float32(math.Pow(10, 3*r.Float64()-1.5))
			for k := o * per; k < (o+1)*per; k++ {
				w.Value.Data[k] *= f
			}
		}
	}
}

// maxRelDiff returns max|a-b| / max|a|.
func maxRelDiff(a, b *tensor.Tensor) float64 {
	var d, s float64
	for i := range a.Data {
		d = max(d, math.Abs(float64(a.Data[i])-float64(b.Data[i])))
		s = max(s, math.Abs(float64(a.Data[i])))
	}
	return d / s
}

func forward(t *testing.T, m *nn.Model, x *tensor.Tensor) *tensor.Tensor {
	t.Helper()
	m.Eval()
	y, err := m.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	return y.Clone()
}

func TestEqualizePreservesFunction(t *testing.T) {
	for name, build := range map[string]func(t *testing.T) *nn.Model{
		"refnet-dws": func(t *testing.T) *nn.Model { return smallNet(t, true) },
		"refnet-s":   func(t *testing.T) *nn.Model { return smallNet(t, false) },
		"resnet-8": func(t *testing.T) *nn.Model {
			return buildRandomized(t, arch.ResNetSpec{Blocks: []int{1, 1, 1}, BatchNorm: true, Input: []int{3, 8, 8}})
		},
	} {
		t.Run(name, func(t *testing.T) {
			m := build(t)
			unbalance(m, 5)
			x := randomInput(9, append([]int{8}, m.InputShape()...)...)
			want := forward(t, m, x)
			eq, err := Equalize(m, CLEOptions{NoBiasAbsorption: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(eq.Pairs) == 0 {
				t.Fatal("no pair equalized")
			}
			got := forward(t, eq.Model, x)
			if d := maxRelDiff(want, got); d > 1e-5 {
				t.Errorf("equalized output differs by %.3g relative; want <= 1e-5", d)
			}
			// At the fixed point both sides of every pair have equal ranges.
			spread := 0.0
			for _, p := range eq.Pairs {
				for c, r := range p.RangeAfter {
					if math.Abs(r[0]-r[1]) > 1e-5*max(r[0], r[1]) {
						t.Errorf("%s→%s channel %d: ranges %v after equalization; want equal", p.First, p.Second, c, r)
					}
					b := p.RangeBefore[c]
					spread = max(spread, math.Abs(math.Log(b[0]/b[1])))
				}
			}
			t.Logf("%d pairs; largest range ratio before: %.1fx", len(eq.Pairs), math.Exp(spread))
			// m is unchanged.
			if d := maxRelDiff(want, forward(t, m, x)); d != 0 {
				t.Errorf("Equalize modified its input (output moved by %.3g)", d)
			}
		})
	}
}

// tinyPair is conv3x3(3->6)+BN+ReLU → conv1x1(6->4), one pair.
func tinyPair(t *testing.T, relu6 bool) *nn.Model {
	t.Helper()
	c1, _ := nn.NewConv2D("c1", nn.Conv2DConfig{In: 3, Out: 6, Kernel: 3})
	bn, _ := nn.NewBatchNorm2D("bn", nn.BatchNormConfig{Channels: 6})
	var act nn.Layer
	if relu6 {
		act, _ = nn.NewReLU6("act")
	} else {
		act, _ = nn.NewReLU("act")
	}
	c2, _ := nn.NewConv2D("c2", nn.Conv2DConfig{In: 6, Out: 4, Kernel: 1, Bias: true})
	m, err := nn.NewModel("pair", []int{3, 6, 6}, c1, bn, act, c2)
	if err != nil {
		t.Fatal(err)
	}
	randomizeBN(m, 3)
	perturbWeights(m, 4)
	unbalance(m, 6)
	return m
}

// One pair: the closed form s = sqrt(r1/r2) in one step, both ranges
// become sqrt(r1·r2).
func TestEqualizeClosedForm(t *testing.T) {
	m := tinyPair(t, false)
	fm, err := FoldBatchNorm(m)
	if err != nil {
		t.Fatal(err)
	}
	r1, r2 := outRanges(fm.Layer("c1")), inRanges(fm.Layer("c2"))
	eq, err := Equalize(m, CLEOptions{NoBiasAbsorption: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(eq.Pairs) != 1 {
		t.Fatalf("%d pairs; want 1", len(eq.Pairs))
	}
	a1, a2 := outRanges(eq.Model.Layer("c1")), inRanges(eq.Model.Layer("c2"))
	for c := range r1 {
		want := math.Sqrt(r1[c] * r2[c])
		if math.Abs(a1[c]-want) > 1e-6*want || math.Abs(a2[c]-want) > 1e-6*want {
			t.Errorf("channel %d: ranges (%v, %v); want both sqrt(%v·%v) = %v", c, a1[c], a2[c], r1[c], r2[c], want)
		}
		if s := eq.Pairs[0].Scales[c]; math.Abs(s-math.Sqrt(r1[c]/r2[c])) > 1e-6*s {
			t.Errorf("channel %d: scale %v; want sqrt(r1/r2) = %v", c, s, math.Sqrt(r1[c]/r2[c]))
		}
	}
}

// ReLU6 does not commute with scaling. KeepReLU6 skips the pair (function
// unchanged, nothing equalized); ReplaceReLU6 (AIMET) equalizes the ReLU
// version exactly, which differs from the ReLU6 original.
func TestEqualizeReLU6(t *testing.T) {
	m := tinyPair(t, true)
	x := randomInput(9, 8, 3, 6, 6)
	for i := range x.Data {
		x.Data[i] *= 4 // pre-activations well beyond 6
	}
	orig := forward(t, m, x)
	keep, err := Equalize(m, CLEOptions{ReLU6: KeepReLU6, NoBiasAbsorption: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(keep.Pairs) != 0 || len(keep.ReplacedReLU6) != 0 {
		t.Errorf("KeepReLU6: %d pairs, replaced %v; want none", len(keep.Pairs), keep.ReplacedReLU6)
	}
	if d := maxRelDiff(orig, forward(t, keep.Model, x)); d > 1e-5 {
		t.Errorf("KeepReLU6 changed the function by %.3g", d)
	}
	rep, err := Equalize(m, CLEOptions{NoBiasAbsorption: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Pairs) != 1 || len(rep.ReplacedReLU6) != 1 || rep.ReplacedReLU6[0] != "act" {
		t.Fatalf("ReplaceReLU6: %d pairs, replaced %v; want 1 pair, [act]", len(rep.Pairs), rep.ReplacedReLU6)
	}
	relu, _, err := replaceReLU6(m)
	if err != nil {
		t.Fatal(err)
	}
	ref := forward(t, relu, x)
	if d := maxRelDiff(ref, forward(t, rep.Model, x)); d > 1e-5 {
		t.Errorf("ReplaceReLU6: equalized differs from the ReLU network by %.3g", d)
	}
	d := maxRelDiff(orig, ref)
	t.Logf("ReLU6 → ReLU moves the output by %.3g relative on inputs ×4", d)
	if d == 0 {
		t.Error("test inputs never exceed 6: the ReLU6 check checks nothing")
	}
}

// High-bias absorption is exact when every pre-activation is above c and
// the second layer has no padding (1x1).
func TestHighBiasAbsorption(t *testing.T) {
	m := tinyPair(t, false)
	bn := m.Layer("bn").(*nn.BatchNorm2D)
	for i := range bn.Gamma().Value.Data {
		bn.Gamma().Value.Data[i] = 0.5
		bn.Beta().Value.Data[i] = 4 + float32(i)
		bn.RunningMean().Value.Data[i] = 0
		bn.RunningVar().Value.Data[i] = 1e4 // normalized values stay near 0
	}
	x := randomInput(9, 8, 3, 6, 6)
	want := forward(t, m, x)
	eq, err := Equalize(m, CLEOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := eq.Pairs[0]
	if p.Absorbed == nil {
		t.Fatal("no bias absorbed")
	}
	for i, c := range p.Absorbed {
		s := p.Scales[i]
		if w := max(0, (4+float64(i))/s-3*0.5/s); math.Abs(c-w) > 1e-6*w {
			t.Errorf("channel %d: absorbed %v; want max(0, beta/s - 3|gamma|/s) = %v", i, c, w)
		}
	}
	if d := maxRelDiff(want, forward(t, eq.Model, x)); d > 1e-5 {
		t.Errorf("absorption changed the function by %.3g; want <= 1e-5", d)
	}
}

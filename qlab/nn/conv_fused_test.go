package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/qlab-dev/qlab/qlab/tensor"
)

// TestConvBNFusedInferenceBitIdentical checks that an inference-mode
// Conv2D+BatchNorm2D(+ReLU/ReLU6(+pool)) run with the BatchNorm (and pool)
// passes in the conv's per-sample output stage gives the separate layers' outputs to the bit
// (planes with and without a non-multiple-of-8 tail, row-blocked and
// whole-plane convs, 1x1 direct, stride 2, with and without bias), and
// that Backward afterwards (input and parameter gradients in inference
// mode) is unchanged too.
func TestConvBNFusedInferenceBitIdentical(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	fill := func(d []float32, sd float64) {
		for i := range d {
			d[i] = float32(sd * r.NormFloat64())
		}
	}
	type tc struct{ in, out, h, w, k, s int }
	for _, c := range []tc{{3, 16, 32, 32, 3, 1}, {32, 16, 14, 14, 3, 1}, {16, 24, 7, 7, 3, 1}, {200, 8, 9, 8, 3, 1}, {8, 12, 7, 5, 1, 1}, {6, 10, 11, 11, 3, 2}} {
		for _, bias := range []bool{false, true} {
			for _, actPool := range [][2]string{{"none", ""}, {"ReLU", ""}, {"ReLU6", ""}, {"none", "max2"}, {"ReLU", "max2"}, {"ReLU6", "avg2"}, {"ReLU", "max3s2"}} {
				actKind, poolKind := actPool[0], actPool[1]
				name := fmt.Sprintf("in%d_out%d_%dx%d_k%d_s%d_bias%v_%s_%s", c.in, c.out, c.h, c.w, c.k, c.s, bias, actKind, poolKind)
				t.Run(name, func(t *testing.T) {
					pad := Same
					if c.k == 1 {
						pad = Valid
					}
					conv, err := NewConv2D("c", Conv2DConfig{In: c.in, Out: c.out, Kernel: c.k, Stride: c.s, Padding: pad, Bias: bias})
					if err != nil {
						t.Fatal(err)
					}
					bn, err := NewBatchNorm2D("bn", BatchNormConfig{Channels: c.out})
					if err != nil {
						t.Fatal(err)
					}
					layers := []Layer{conv, bn}
					switch actKind {
					case "ReLU":
						a, _ := NewReLU("a")
						layers = append(layers, a)
					case "ReLU6":
						a, _ := NewReLU6("a")
						layers = append(layers, a)
					}
					switch poolKind {
					case "max2":
						p, _ := NewMaxPool2D("p", 2, 2)
						layers = append(layers, p)
					case "avg2":
						p, _ := NewAvgPool2D("p", 2, 2)
						layers = append(layers, p)
					case "max3s2":
						p, _ := NewMaxPool2D("p", 3, 2)
						layers = append(layers, p)
					}
					seq, err := NewSequential("s", layers...)
					if err != nil {
						t.Fatal(err)
					}
					for _, p := range conv.Params() {
						fill(p.Value.Data, 0.5)
					}
					fill(bn.Gamma().Value.Data, 1)
					fill(bn.Beta().Value.Data, 1)
					fill(bn.RunningMean().Value.Data, 0.5)
					for i := range bn.RunningVar().Value.Data {
						bn.RunningVar().Value.Data[i] = float32(0.1 + r.Float64()*3)
					}
					seq.SetTraining(false)
					x := tensor.New(3, c.in, c.h, c.w)
					fill(x.Data, 1)
					run := func(fused bool) (y, dx []float32, grads [][]float32) {
						var h hook
						if !fused {
							h = func(Layer, *tensor.Tensor) {} // an observer turns fusion off
						}
						yt, err := forwardChain(layers, x, h)
						if err != nil {
							t.Fatal(err)
						}
						y = slices.Clone(yt.Data)
						dy := tensor.New(yt.Shape...)
						for i := range dy.Data {
							dy.Data[i] = float32(math.Sin(float64(i)))
						}
						ps := append(conv.Params(), bn.Params()...)
						for _, p := range ps {
							clear(p.Grad.Data)
						}
						dxt, err := seq.Backward(dy)
						if err != nil {
							t.Fatal(err)
						}
						for _, p := range ps {
							grads = append(grads, slices.Clone(p.Grad.Data))
						}
						return y, slices.Clone(dxt.Data), grads
					}
					wantY, wantDX, wantG := run(false)
					xAlt := tensor.New(x.Shape...)
					fill(xAlt.Data, 1)
					for range 2 { // the second call reuses every buffer
						// Leave other values in every buffer first (unfused), so a
						// plane the fused pass skipped cannot pass as right.
						if _, err := forwardChain(layers, xAlt, func(Layer, *tensor.Tensor) {}); err != nil {
							t.Fatal(err)
						}
						y, dx, g := run(true)
						same(t, "output", y, wantY)
						same(t, "input gradient", dx, wantDX)
						for i := range g {
							same(t, fmt.Sprintf("parameter gradient %d", i), g[i], wantG[i])
						}
					}
				})
			}
		}
	}
}

func same(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d elements, want %d", what, len(got), len(want))
	}
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s element %d: fused %v, separate %v", what, i, got[i], want[i])
		}
	}
}

// TestConvBNFusedZeroAllocs checks the fused inference forward allocates
// nothing once its buffers exist.
func TestConvBNFusedZeroAllocs(t *testing.T) {
	conv, _ := NewConv2D("c", Conv2DConfig{In: 4, Out: 8, Kernel: 3})
	bn, _ := NewBatchNorm2D("bn", BatchNormConfig{Channels: 8})
	a, _ := NewReLU("a")
	p, _ := NewMaxPool2D("p", 2, 2)
	seq, _ := NewSequential("s", conv, bn, a, p)
	seq.SetTraining(false)
	x := tensor.New(4, 4, 10, 10)
	if _, err := seq.Forward(x); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(5, func() { _, _ = seq.Forward(x) }); n != 0 {
		t.Fatalf("%v allocations per fused forward", n)
	}
}

package nn

import (
	"math/rand/v2"
	"testing"

	"github.com/qlab-dev/qlab/qlab/tensor"
)

// Finite-difference checks: every layer kind's Forward is compared with a
// float64 reference forward (ref_test.go), and its Backward (input gradient
// and every parameter gradient) with central differences of that reference
// for the scalar L = Σ r·y with a fixed random r. Step h = 1e-6 in float64,
// so the numeric derivative is accurate to ~1e-9; the tolerances (forward
// rtol 1e-5, gradients rtol 1e-3 plus 1e-4 of the largest gradient) cover
// the layers' float32 arithmetic.

type refFunc func(x []float64, p [][]float64) []float64

func to64(s []float32) []float64 {
	d := make([]float64, len(s))
	for i, v := range s {
		d[i] = float64(v)
	}
	return d
}

func to32(s []float64) []float32 {
	d := make([]float32, len(s))
	for i, v := range s {
		d[i] = float32(v)
	}
	return d
}

func randomize(seed uint64, scale float32, ts ...*tensor.Tensor) {
	r := rand.New(rand.NewPCG(seed, 7))
	for _, t := range ts {
		for i := range t.Data {
			t.Data[i] = float32(r.NormFloat64()) * scale
		}
	}
}

// gradCheck runs the check on layer l with input x and trainable params
// ps, whose reference forward is ref (taking params in the order of ps).
func gradCheck(t *testing.T, l Layer, ps []*Param, x *tensor.Tensor, ref refFunc) {
	t.Helper()
	x64 := to64(x.Data)
	p64 := make([][]float64, len(ps))
	for i, p := range ps {
		p64[i] = to64(p.Value.Data)
		p.Grad.Zero()
	}
	y, err := l.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	want := ref(x64, p64)
	closeTo(t, "forward vs reference", y.Data, to32(want), 1e-5, 1e-6)
	r := tensor.New(y.Shape...)
	randomize(99, 1, r)
	r64 := to64(r.Data)
	dx, err := l.Backward(r)
	if err != nil {
		t.Fatal(err)
	}
	if !tensor.SameShape(dx.Shape, x.Shape) {
		t.Fatalf("dx shape %v; want %v", dx.Shape, x.Shape)
	}
	loss := func() float64 {
		out := ref(x64, p64)
		s := 0.0
		for i, v := range out {
			s += v * r64[i]
		}
		return s
	}
	numeric := func(v []float64) []float32 {
		const h = 1e-6
		g := make([]float32, len(v))
		for i := range v {
			old := v[i]
			v[i] = old + h
			fp := loss()
			v[i] = old - h
			fm := loss()
			v[i] = old
			g[i] = float32((fp - fm) / (2 * h))
		}
		return g
	}
	const rtol, atol = 1e-3, 1e-4
	closeTo(t, "dx vs finite differences", dx.Data, numeric(x64), rtol, atol)
	for i, p := range ps {
		closeTo(t, p.Name+" grad vs finite differences", p.Grad.Data, numeric(p64[i]), rtol, atol)
	}
	// Backward accumulates: a second pass doubles the parameter gradients.
	if len(ps) > 0 {
		first := append([]float32(nil), ps[0].Grad.Data...)
		if _, err := l.Forward(x); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Backward(r); err != nil {
			t.Fatal(err)
		}
		for i := range first {
			first[i] *= 2
		}
		closeTo(t, ps[0].Name+" grad after two passes", ps[0].Grad.Data, first, 1e-5, 1e-6)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestGradConv2D(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Conv2DConfig
		h, w int
	}{
		{"3x3_same", Conv2DConfig{In: 3, Out: 4, Kernel: 3, Bias: true}, 5, 6},
		{"3x3_stride2", Conv2DConfig{In: 2, Out: 3, Kernel: 3, Stride: 2}, 7, 6},
		{"5x5_valid", Conv2DConfig{In: 2, Out: 2, Kernel: 5, Padding: Valid, Bias: true}, 6, 7},
		{"1x1", Conv2DConfig{In: 4, Out: 3, Kernel: 1, Padding: Valid, Bias: true}, 3, 4},
		{"1x1_stride2", Conv2DConfig{In: 3, Out: 2, Kernel: 1, Stride: 2, Padding: Valid}, 5, 5},
		{"2x2_same", Conv2DConfig{In: 2, Out: 3, Kernel: 2}, 4, 5},
		// In >= 8 takes the flipped-kernel input-gradient path.
		{"3x3_same_in8_bias", Conv2DConfig{In: 8, Out: 3, Kernel: 3, Bias: true}, 4, 5},
		{"5x5_valid_in8", Conv2DConfig{In: 8, Out: 2, Kernel: 5, Padding: Valid}, 6, 5},
		{"2x2_same_in8", Conv2DConfig{In: 8, Out: 2, Kernel: 2}, 3, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := must(NewConv2D("conv", tc.cfg))
			randomize(1, 0.5, l.Params()[0].Value)
			if tc.cfg.Bias {
				randomize(2, 0.5, l.Bias().Value)
			}
			x := tensor.New(3, tc.cfg.In, tc.h, tc.w)
			randomize(3, 1, x)
			c := tc.cfg
			gradCheck(t, l, l.Params(), x, func(x []float64, p [][]float64) []float64 {
				var b []float64
				if c.Bias {
					b = p[1]
				}
				y, _, _ := refConv(x, 3, c.In, tc.h, tc.w, p[0], c.Out, c.Kernel, l.stride, l.pad, 1, b)
				return y
			})
		})
	}
}

func TestGradDepthwise(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  DepthwiseConfig
		h, w int
	}{
		{"3x3_same", DepthwiseConfig{Channels: 3, Kernel: 3}, 5, 6},
		{"3x3_stride2_mult2_bias", DepthwiseConfig{Channels: 2, Kernel: 3, Stride: 2, Multiplier: 2, Bias: true}, 7, 6},
		{"5x5_valid", DepthwiseConfig{Channels: 2, Kernel: 5, Padding: Valid, Bias: true}, 6, 7},
		{"3x3_stride3_valid_mult3", DepthwiseConfig{Channels: 2, Kernel: 3, Stride: 3, Padding: Valid, Multiplier: 3}, 8, 9},
		{"3x3_same_mult2_bias_fast", DepthwiseConfig{Channels: 2, Kernel: 3, Multiplier: 2, Bias: true}, 4, 2},
		{"3x3_same_width1", DepthwiseConfig{Channels: 2, Kernel: 3}, 4, 1},
		// Widths that are multiples of 8 take the SIMD row kernel.
		{"3x3_same_width8_mult2_bias", DepthwiseConfig{Channels: 2, Kernel: 3, Multiplier: 2, Bias: true}, 3, 8},
		{"3x3_same_width16", DepthwiseConfig{Channels: 2, Kernel: 3}, 2, 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := must(NewDepthwiseConv2D("dw", tc.cfg))
			randomize(1, 0.5, l.Weight().Value)
			if tc.cfg.Bias {
				randomize(2, 0.5, l.Bias().Value)
			}
			x := tensor.New(3, tc.cfg.Channels, tc.h, tc.w)
			randomize(3, 1, x)
			c := tc.cfg
			gradCheck(t, l, l.Params(), x, func(x []float64, p [][]float64) []float64 {
				var b []float64
				if c.Bias {
					b = p[1]
				}
				y, _, _ := refConv(x, 3, c.Channels, tc.h, tc.w, p[0], c.Channels*l.mult, c.Kernel, l.stride, l.pad, c.Channels, b)
				return y
			})
		})
	}
}

func TestGradBatchNorm(t *testing.T) {
	for _, training := range []bool{true, false} {
		name := map[bool]string{true: "training", false: "inference"}[training]
		t.Run(name, func(t *testing.T) {
			l := must(NewBatchNorm2D("bn", BatchNormConfig{Channels: 3, Eps: 1e-3}))
			randomize(1, 1, l.Gamma().Value, l.Beta().Value, l.RunningMean().Value)
			for i := range l.RunningVar().Value.Data {
				l.RunningVar().Value.Data[i] = 0.5 + float32(i)
			}
			rm, rv := to64(l.RunningMean().Value.Data), to64(l.RunningVar().Value.Data)
			l.SetTraining(training)
			x := tensor.New(4, 3, 3, 2)
			randomize(3, 2, x)
			gradCheck(t, l, l.Params(), x, func(x []float64, p [][]float64) []float64 {
				if training {
					return refBN(x, 4, 3, 6, p[0], p[1], nil, nil, 1e-3)
				}
				return refBN(x, 4, 3, 6, p[0], p[1], rm, rv, 1e-3)
			})
		})
	}
}

func TestGradElementwiseAndPools(t *testing.T) {
	x := tensor.New(2, 3, 6, 5)
	for _, tc := range []struct {
		name  string
		l     Layer
		scale float32
		ref   func(x []float64) []float64
	}{
		{"relu", must(NewReLU("r")), 1, func(x []float64) []float64 { return refClamp(x, 1e300) }},
		{"relu6", must(NewReLU6("r6")), 5, func(x []float64) []float64 { return refClamp(x, 6) }},
		{"maxpool2", must(NewMaxPool2D("mp", 2, 2)), 1, func(x []float64) []float64 { return refPool(x, 6, 6, 5, 2, 2, true) }},
		{"maxpool3s2", must(NewMaxPool2D("mp", 3, 2)), 1, func(x []float64) []float64 { return refPool(x, 6, 6, 5, 3, 2, true) }},
		{"avgpool2", must(NewAvgPool2D("ap", 2, 0)), 1, func(x []float64) []float64 { return refPool(x, 6, 6, 5, 2, 2, false) }},
		{"avgpool3s1", must(NewAvgPool2D("ap", 3, 1)), 1, func(x []float64) []float64 { return refPool(x, 6, 6, 5, 3, 1, false) }},
		{"gap", must(NewGlobalAvgPool("gap")), 1, func(x []float64) []float64 { return refGAP(x, 6, 30) }},
		{"flatten", must(NewFlatten("flat")), 1, func(x []float64) []float64 { return x }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			randomize(5, tc.scale, x)
			gradCheck(t, tc.l, nil, x, func(x []float64, _ [][]float64) []float64 { return tc.ref(x) })
		})
	}
}

func TestGradDense(t *testing.T) {
	for _, bias := range []bool{true, false} {
		t.Run(map[bool]string{true: "bias", false: "nobias"}[bias], func(t *testing.T) {
			l := must(NewDense("fc", 12, 5, bias))
			randomize(1, 0.5, l.Weight().Value)
			if bias {
				randomize(2, 0.5, l.Bias().Value)
			}
			// (N, C, H, W) input exercises the implicit flatten.
			x := tensor.New(3, 3, 2, 2)
			randomize(3, 1, x)
			gradCheck(t, l, l.Params(), x, func(x []float64, p [][]float64) []float64 {
				var b []float64
				if bias {
					b = p[1]
				}
				return refDense(x, 3, 12, 5, p[0], b)
			})
		})
	}
}

func TestGradDropout(t *testing.T) {
	l := must(NewDropout("drop", 0.3, 42))
	l.SetTraining(true)
	x := tensor.New(4, 50)
	randomize(3, 1, x)
	// The reference applies the mask the layer drew on its first Forward;
	// gradCheck's second pass draws a new mask, so keep a copy.
	if _, err := l.Forward(x); err != nil {
		t.Fatal(err)
	}
	mask := to64(l.mask)
	zeros := 0
	for _, m := range mask {
		switch m {
		case 0:
			zeros++
		case 1 / 0.7:
		default:
			if float32(m) != float32(1/0.7) {
				t.Fatalf("mask value %v; want 0 or 1/(1-p)", m)
			}
		}
	}
	if zeros < 30 || zeros > 90 {
		t.Errorf("%d of 200 dropped; want about 60", zeros)
	}
	l.Reseed(42)
	// gradCheck only checks input gradients (no params), in one pass.
	gradCheck(t, l, nil, x, func(x []float64, _ [][]float64) []float64 {
		y := make([]float64, len(x))
		for i := range x {
			y[i] = x[i] * mask[i]
		}
		return y
	})
}

func TestGradResidual(t *testing.T) {
	for _, identity := range []bool{true, false} {
		t.Run(map[bool]string{true: "identity", false: "projection"}[identity], func(t *testing.T) {
			c1 := must(NewConv2D("c1", Conv2DConfig{In: 2, Out: 3, Kernel: 3}))
			bn := must(NewBatchNorm2D("bn", BatchNormConfig{Channels: 3}))
			relu := must(NewReLU("relu"))
			c2 := must(NewConv2D("c2", Conv2DConfig{In: 3, Out: 2, Kernel: 3, Bias: true}))
			body := []Layer{c1, bn, relu, c2}
			var short []Layer
			if !identity {
				short = []Layer{must(NewPointwise("proj", 2, 2, true))}
			}
			r := must(NewResidual("res", body, short))
			ps := r.Params()
			for i, p := range ps {
				randomize(uint64(10+i), 0.5, p.Value)
			}
			for i := range bn.Gamma().Value.Data {
				bn.Gamma().Value.Data[i] += 1
			}
			r.SetTraining(true)
			x := tensor.New(2, 2, 4, 4)
			randomize(3, 1, x)
			gradCheck(t, r, ps, x, func(x []float64, p [][]float64) []float64 {
				h, _, _ := refConv(x, 2, 2, 4, 4, p[0], 3, 3, 1, 1, 1, nil)
				h = refBN(h, 2, 3, 16, p[1], p[2], nil, nil, 1e-5)
				h = refClamp(h, 1e300)
				h, _, _ = refConv(h, 2, 3, 4, 4, p[3], 2, 3, 1, 1, 1, p[4])
				s := x
				if !identity {
					s, _, _ = refConv(x, 2, 2, 4, 4, p[5], 2, 1, 1, 0, 1, p[6])
				}
				for i := range h {
					h[i] += s[i]
				}
				return h
			})
		})
	}
}

func TestGradCrossEntropy(t *testing.T) {
	logits := tensor.New(4, 6)
	randomize(8, 3, logits)
	labels := []int{0, 5, 2, 2}
	var ce SoftmaxCrossEntropy
	loss, err := ce.Forward(logits, labels)
	if err != nil {
		t.Fatal(err)
	}
	l64 := to64(logits.Data)
	if want := refCrossEntropy(l64, 4, 6, labels); !closeEnough(loss, want, 1e-6) {
		t.Errorf("loss got %v; want %v", loss, want)
	}
	g := ce.Backward()
	num := make([]float32, len(l64))
	const h = 1e-6
	for i := range l64 {
		old := l64[i]
		l64[i] = old + h
		fp := refCrossEntropy(l64, 4, 6, labels)
		l64[i] = old - h
		fm := refCrossEntropy(l64, 4, 6, labels)
		l64[i] = old
		num[i] = float32((fp - fm) / (2 * h))
	}
	closeTo(t, "dlogits vs finite differences", g.Data, num, 1e-4, 1e-5)
}

func closeEnough(a, b, rtol float64) bool {
	d := a - b
	if d < 0 {
		d = -d
	}
	return d <= rtol*max(1, b, -b)
}

// TestConvWeightGradGroups checks that splitting a chunk's weight-gradient
// GEMM into several sample groups (colBudget) gives the same gradient.
func TestConvWeightGradGroups(t *testing.T) {
	grads := func(budget int) []float32 {
		defer func(b int) { colBudget = b }(colBudget)
		colBudget = budget
		l := must(NewConv2D("c", Conv2DConfig{In: 3, Out: 4, Kernel: 3, Bias: true}))
		randomize(1, 0.5, l.Weight().Value)
		x := randTensor(2, 1, 40, 3, 5, 6) // 16 chunks of 2-3 samples
		y := must(l.Forward(x))
		must(l.Backward(randTensor(3, 1, y.Shape...)))
		return append(l.Weight().Grad.Data, l.Bias().Grad.Data...)
	}
	whole := grads(1 << 21)
	perSample := grads(3 * 9 * 5 * 6) // one sample's patch matrix per group
	closeTo(t, "weight grad, one sample per group vs whole chunks", perSample, whole, 1e-5, 1e-6)

	// And the chunked batch gradient equals the sum of 40 batch-1 gradients.
	l := must(NewConv2D("c", Conv2DConfig{In: 3, Out: 4, Kernel: 3, Bias: true}))
	randomize(1, 0.5, l.Weight().Value)
	x := randTensor(2, 1, 40, 3, 5, 6)
	dy := randTensor(3, 1, 40, 4, 5, 6)
	sum := make([]float64, len(whole))
	for i := 0; i < 40; i++ {
		l.Weight().Grad.Zero()
		l.Bias().Grad.Zero()
		must(l.Forward(must(tensor.From(x.Data[i*90:(i+1)*90], 1, 3, 5, 6))))
		must(l.Backward(must(tensor.From(dy.Data[i*120:(i+1)*120], 1, 4, 5, 6))))
		for j, v := range append(l.Weight().Grad.Data, l.Bias().Grad.Data...) {
			sum[j] += float64(v)
		}
	}
	closeTo(t, "weight grad vs sum of per-sample gradients", whole, to32(sum), 1e-5, 1e-6)
}

package quant

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestRQTableMatchesRequantize checks the row requantization pass (the
// AVX-512 kernel where the CPU has it, and the Go loop) against the scalar
// reference requantize, itself checked against gemmlowp's definitions:
// random multipliers over the whole exponent range, accumulators at the
// int32 extremes, at rounding ties and at random, and widths that leave a
// tail of fewer than 8 channels.
func TestRQTableMatchesRequantize(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{1, 7, 8, 10, 32, 45} {
		for _, simd := range []bool{false, true} {
			rq := make([]requant, n)
			bias := make([]int32, n)
			for o := range rq {
				real := math.Ldexp(0.5+rng.Float64()/2, -rng.IntN(32))
				if o == 0 {
					real = 0.999999999 // shift 0: no rounding divide
				}
				r, err := newRequant(real)
				if err != nil {
					t.Fatal(err)
				}
				rq[o] = r
				bias[o] = rng.Int32N(1<<20) - 1<<19
				if o%5 == 1 {
					bias[o] = math.MaxInt32 // wraps like Go's int32 add
				}
			}
			cl := outClamp{lo: -100, hi: 120, zu: 128}
			tab := newRQTable(rq, cl)
			if !simd {
				tab.simd = false
			} else if !tab.simd {
				continue // no AVX-512 here: the Go loop is covered above
			}
			const rows = 40
			acc := make([]int32, rows*n)
			for i := range acc {
				switch i % 6 {
				case 0:
					acc[i] = []int32{math.MinInt32, math.MaxInt32, 0, -1, 1}[rng.IntN(5)]
				case 1: // a rounding tie of the final divide (before bias)
					o := i % n
					acc[i] = int32(rng.IntN(2001)-1000)<<rq[o].rs | int32(1)<<rq[o].rs>>1
				default:
					acc[i] = int32(rng.Uint32())
				}
			}
			dst := make([]uint8, rows*n)
			tab.rows(rows, acc, bias, dst)
			for i, got := range dst {
				o := i % n
				q := requantize(acc[i]+bias[o], rq[o].mult, rq[o].shift)
				want := uint8(min(max(q, cl.lo), cl.hi) + cl.zu)
				if got != want {
					t.Fatalf("n=%d simd=%v: element %d (acc %d, bias %d, mult %d, shift %d): got %d; want %d",
						n, simd, i, acc[i], bias[o], rq[o].mult, rq[o].shift, got, want)
				}
			}
		}
	}
}

// TestRequantApply checks requant.apply, the scalar fast path, against
// requantize over random values and every exponent.
func TestRequantApply(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for e := -31; e <= 3; e++ {
		r, err := newRequant(math.Ldexp(0.75, e))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2000; i++ {
			x := int32(rng.Uint32())
			if i < 3 {
				x = []int32{math.MinInt32, math.MaxInt32, -1}[i]
			}
			if got, want := r.apply(x), requantize(x, r.mult, r.shift); got != want {
				t.Fatalf("exponent %d, x %d: got %d; want %d", e, x, got, want)
			}
		}
	}
}

// TestMaxPoolStep checks the integer max pool (the VPMAXUB path for channel
// counts that are multiples of 32, the Go loop otherwise) against a direct
// maximum over each window.
func TestMaxPoolStep(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, c := range []struct{ n, h, w, ch, k, s int }{
		{2, 8, 8, 32, 2, 2}, {1, 9, 7, 64, 3, 2}, {2, 6, 6, 5, 2, 2}, {1, 7, 7, 96, 3, 1},
	} {
		x := &intAct{n: c.n, h: c.h, w: c.w, c: c.ch, u: make([]uint8, c.n*c.h*c.w*c.ch)}
		for i := range x.u {
			x.u[i] = uint8(rng.Uint32())
		}
		p := &maxPoolStep{name: "pool", k: c.k, s: c.s}
		p.fn = p.chunk
		y, err := p.run(x)
		if err != nil {
			t.Fatal(err)
		}
		oh, ow := (c.h-c.k)/c.s+1, (c.w-c.k)/c.s+1
		if y.h != oh || y.w != ow || len(y.u) != c.n*oh*ow*c.ch {
			t.Fatalf("%+v: output %dx%d (%d bytes); want %dx%d", c, y.h, y.w, len(y.u), oh, ow)
		}
		for b := 0; b < c.n; b++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					for ch := 0; ch < c.ch; ch++ {
						var want uint8
						for ky := 0; ky < c.k; ky++ {
							for kx := 0; kx < c.k; kx++ {
								want = max(want, x.u[((b*c.h+oy*c.s+ky)*c.w+ox*c.s+kx)*c.ch+ch])
							}
						}
						if got := y.u[((b*oh+oy)*ow+ox)*c.ch+ch]; got != want {
							t.Fatalf("%+v: (%d, %d, %d, %d): got %d; want %d", c, b, ch, oy, ox, got, want)
						}
					}
				}
			}
		}
	}
}

// TestDepthwiseSIMDMatchesGo checks the AVX-512 depthwise path against the
// Go loop (itself checked against fake quant by the whole-model tests)
// bit for bit, at strides 1 and 2, with and without padding, kernel 3 and
// 5, and channel counts of one and several 16-lane blocks.
func TestDepthwiseSIMDMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, c := range []struct{ ch, k, stride, pad, h, w int }{
		{16, 3, 1, 1, 7, 9}, {48, 3, 2, 1, 8, 8}, {32, 3, 1, 0, 6, 5}, {16, 5, 2, 2, 9, 6},
	} {
		in := &QParams{Scale: []float32{0.03}, ZeroPoint: []int32{-7}, QMin: -128, QMax: 127, Axis: -1}
		out := &QParams{Scale: []float32{0.05}, ZeroPoint: []int32{3}, QMin: -128, QMax: 127, Axis: -1}
		wp := &QParams{Scale: make([]float32, c.ch), ZeroPoint: make([]int32, c.ch), QMin: -127, QMax: 127, Axis: 0}
		wq := &QTensor{Shape: []int{c.ch, 1, c.k, c.k}, Data: make([]int32, c.ch*c.k*c.k), Params: wp}
		for o := range wp.Scale {
			wp.Scale[o] = 0.001 + 0.02*rng.Float32()
		}
		for i := range wq.Data {
			wq.Data[i] = rng.Int32N(255) - 127
		}
		bias := make([]int32, c.ch)
		for i := range bias {
			bias[i] = rng.Int32N(2000) - 1000
		}
		d, err := newDWStep("dw", c.ch, 1, c.k, c.stride, c.pad, in, wq, bias, out, "ReLU6")
		if err != nil {
			t.Fatal(err)
		}
		if !d.simd {
			t.Skip("no AVX-512 on this CPU")
		}
		x := &intAct{n: 2, h: c.h, w: c.w, c: c.ch, u: make([]uint8, 2*c.h*c.w*c.ch), p: in, off: 128}
		for i := range x.u {
			x.u[i] = uint8(rng.Uint32())
		}
		y, err := d.run(x)
		if err != nil {
			t.Fatal(err)
		}
		got := slices.Clone(y.u)
		d.simd = false
		y, err = d.run(x)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(y.u) {
			t.Fatalf("%+v: SIMD gave %d bytes; Go %d", c, len(got), len(y.u))
		}
		for j := range got {
			if got[j] != y.u[j] {
				t.Fatalf("%+v: byte %d: SIMD %d; Go %d", c, j, got[j], y.u[j])
			}
		}
	}
}

package quant

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMaxPool2RowAVX2 checks the assembly row kernel of the 2x2 integer max
// pool against the portable loop.
func TestMaxPool2RowAVX2(t *testing.T) {
	if !hasMaxU8AVX2 {
		t.Skip("no AVX2 (or purego): the portable loop is the only path")
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct{ ow, c int }{{1, 32}, {16, 32}, {8, 64}, {4, 128}, {3, 96}} {
		r0, r1 := make([]uint8, 2*tc.ow*tc.c), make([]uint8, 2*tc.ow*tc.c)
		for i := range r0 {
			r0[i], r1[i] = uint8(r.IntN(256)), uint8(r.IntN(256))
		}
		got := make([]uint8, tc.ow*tc.c+1)
		got[tc.ow*tc.c] = 77
		maxPool2RowAVX2(&got[0], &r0[0], &r1[0], tc.ow, tc.c)
		for i := 0; i < tc.ow; i++ {
			for j := 0; j < tc.c; j++ {
				want := max(r0[2*i*tc.c+j], r0[(2*i+1)*tc.c+j], r1[2*i*tc.c+j], r1[(2*i+1)*tc.c+j])
				if got[i*tc.c+j] != want {
					t.Fatalf("ow %d c %d: pixel %d channel %d = %d; want %d", tc.ow, tc.c, i, j, got[i*tc.c+j], want)
				}
			}
		}
		if got[tc.ow*tc.c] != 77 {
			t.Fatalf("ow %d c %d: wrote past the row", tc.ow, tc.c)
		}
	}
}

// TestQuantC4AVX512 checks the input-quantization kernel against
// quantizeValue and tfQuantizeValue, element by element, on random values,
// values whose scaled form is a tie, ±0, ±Inf and values far outside the
// range, for 1-4 channels and row widths with and without a ragged
// 16-pixel tail; and that a NaN anywhere is reported.
func TestQuantC4AVX512(t *testing.T) {
	if !hasQuantC4AVX512 {
		t.Skip("no AVX-512 (or purego): the portable loop is the only path")
	}
	r := rand.New(rand.NewPCG(5, 6))
	params := map[string]*QParams{
		"int8 torch":  {Scale: []float32{0.0173}, ZeroPoint: []int32{-7}, QMin: -128, QMax: 127, Axis: -1},
		"uint8 torch": {Scale: []float32{0.05}, ZeroPoint: []int32{131}, QMin: 0, QMax: 255, Axis: -1},
		"int8 tf":     {Scale: []float32{0.0173}, ZeroPoint: []int32{-7}, QMin: -128, QMax: 127, Axis: -1, Nudged: true},
		"uint8 tf":    {Scale: []float32{0.031}, ZeroPoint: []int32{12}, QMin: 0, QMax: 255, Axis: -1, Nudged: true},
	}
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), 1e30, -1e30, 3e9, -3e9}
	for name, q := range params {
		inv := 1 / q.Scale[0]
		nmin, nmax := tfNudged(q.Scale[0], q.ZeroPoint[0], q.QMin, q.QMax)
		off := codeOffset(q)
		for c := 1; c <= 4; c++ {
			for _, w := range []int{1, 5, 16, 17, 32, 33} {
				h, ldd := 3, (w+2)*4
				src := make([]float32, c*h*w)
				for i := range src {
					switch r.IntN(4) {
					case 0:
						src[i] = special[r.IntN(len(special))]
					case 1: // a tie once scaled: (k + 0.5) * scale
						src[i] = (float32(r.IntN(300)-150) + 0.5) * q.Scale[0]
					default:
						src[i] = float32(r.NormFloat64() * 3)
					}
				}
				dst := make([]uint8, h*ldd+8)
				for i := range dst {
					dst[i] = 0xAB
				}
				a := newQuantC4Args(q, h, w, c)
				a.src, a.dst, a.ldd = &src[0], &dst[0], ldd
				if got := quantC4AVX512(&a); got != 0 {
					t.Fatalf("%s c=%d w=%d: reported a NaN in finite input", name, c, w)
				}
				for y := 0; y < h; y++ {
					for x := 0; x < (w+2)*4/4; x++ {
						for ch := 0; ch < 4; ch++ {
							got := dst[y*ldd+x*4+ch]
							want := uint8(0xAB) // past the row: untouched
							if x < w {
								want = 0 // padding channels
								if ch < c {
									v := src[ch*h*w+y*w+x]
									var code int32
									if q.Nudged {
										code = tfQuantizeValue(v, inv, nmin, nmax, q.QMin)
									} else {
										code = quantizeValue(v, inv, q.ZeroPoint[0], q.QMin, q.QMax)
									}
									want = uint8(code + off)
								}
							}
							if got != want {
								t.Fatalf("%s c=%d w=%d: pixel (%d, %d) byte %d = %d; want %d", name, c, w, y, x, ch, got, want)
							}
						}
					}
				}
				src[r.IntN(len(src))] = float32(math.NaN())
				if got := quantC4AVX512(&a); got != 1 {
					t.Fatalf("%s c=%d w=%d: NaN not reported", name, c, w)
				}
			}
		}
	}
}

// TestFakeQuantAVX512 checks fakeQuantRun's vector kernel against its
// portable loops, bit for bit, for both rounding modes, on random values,
// scaled ties, ±0, ±Inf and values far outside the range, at lengths with
// and without a ragged tail; and that a NaN is still reported by index.
func TestFakeQuantAVX512(t *testing.T) {
	if !hasFakeQuantAVX512 {
		t.Skip("no AVX-512 (or purego): the portable loop is the only path")
	}
	r := rand.New(rand.NewPCG(7, 8))
	params := map[string]*QParams{
		"int8 torch":  {Scale: []float32{0.0173}, ZeroPoint: []int32{-7}, QMin: -128, QMax: 127, Axis: -1},
		"uint8 torch": {Scale: []float32{0.05}, ZeroPoint: []int32{131}, QMin: 0, QMax: 255, Axis: -1},
		"int4 torch":  {Scale: []float32{0.3}, ZeroPoint: []int32{0}, QMin: -8, QMax: 7, Axis: -1},
		"int8 tf":     {Scale: []float32{0.0173}, ZeroPoint: []int32{-7}, QMin: -128, QMax: 127, Axis: -1, Nudged: true},
		"uint8 tf":    {Scale: []float32{0.031}, ZeroPoint: []int32{12}, QMin: 0, QMax: 255, Axis: -1, Nudged: true},
	}
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), 1e30, -1e30}
	for name, q := range params {
		for _, n := range []int{1, 15, 16, 17, 100, 1000} {
			x := make([]float32, n)
			for i := range x {
				switch r.IntN(4) {
				case 0:
					x[i] = special[r.IntN(len(special))]
				case 1:
					x[i] = (float32(r.IntN(300)-150) + 0.5) * q.Scale[0]
				default:
					x[i] = float32(r.NormFloat64() * 2)
				}
			}
			got, want := make([]float32, n+1), make([]float32, n+1)
			got[n], want[n] = 42, 42
			if _, err := q.fakeQuantRun(got[:n], x, 0); err != nil {
				t.Fatal(err)
			}
			fakeQuantKernel = false
			_, err := q.fakeQuantRun(want[:n], x, 0)
			fakeQuantKernel = true
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s n=%d: element %d (x %g) = %g; want %g", name, n, i, x[i%n], got[i], want[i])
				}
			}
			k := r.IntN(n)
			x[k] = float32(math.NaN())
			if i, err := q.fakeQuantRun(got[:n], x, 0); err == nil || i != k {
				t.Fatalf("%s n=%d: NaN at %d reported at %d (%v)", name, n, k, i, err)
			}
		}
	}
}

// TestBatchMinMaxKernel checks batchMinMax's vector path against its loop,
// to the bit (signed zeros included: Go's min prefers -0, max +0), at
// lengths with and without a ragged tail, and that a NaN or an infinity
// is still reported by index.
func TestBatchMinMaxKernel(t *testing.T) {
	if !hasMinMaxAVX512 {
		t.Skip("no AVX-512 (or purego): the loop is the only path")
	}
	r := rand.New(rand.NewPCG(11, 12))
	negZero := float32(math.Copysign(0, -1))
	for _, n := range []int{1, 2, 15, 16, 17, 33, 1000} {
		for _, kind := range []string{"normal", "zeros", "positive", "negative"} {
			x := make([]float32, n)
			for i := range x {
				switch kind {
				case "normal":
					x[i] = float32(r.NormFloat64() * 1e3)
				case "zeros":
					x[i] = []float32{0, negZero}[r.IntN(2)]
				case "positive":
					x[i] = []float32{0, float32(r.Float64()), 3.4e38}[r.IntN(3)]
				case "negative":
					x[i] = []float32{negZero, -float32(r.Float64()), -3.4e38}[r.IntN(3)]
				}
			}
			lo, hi, err := batchMinMax("x", x)
			minMaxKernel = false
			wlo, whi, werr := batchMinMax("x", x)
			minMaxKernel = true
			if err != nil || werr != nil {
				t.Fatal(err, werr)
			}
			if math.Float32bits(lo) != math.Float32bits(wlo) || math.Float32bits(hi) != math.Float32bits(whi) {
				t.Fatalf("n=%d %s: got [%v, %v] (bits %x %x); want [%v, %v] (bits %x %x)", n, kind, lo, hi,
					math.Float32bits(lo), math.Float32bits(hi), wlo, whi, math.Float32bits(wlo), math.Float32bits(whi))
			}
			for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
				k := r.IntN(n)
				y := append([]float32(nil), x...)
				y[k] = bad
				_, _, err := batchMinMax("x", y)
				minMaxKernel = false
				_, _, werr := batchMinMax("x", y)
				minMaxKernel = true
				if err == nil || werr == nil || err.Error() != werr.Error() {
					t.Fatalf("n=%d %s: %v at %d: error %v; want %v", n, kind, bad, k, err, werr)
				}
			}
		}
	}
}

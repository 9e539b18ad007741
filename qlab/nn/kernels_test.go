package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestKernelsSIMDMatchGo checks the assembly kernels (when this CPU has
// them) against the Go code they replace, over lengths around the 8-wide
// blocks and with special values: ±0, the clamp bound, ±Inf, NaN.
func TestKernelsSIMDMatchGo(t *testing.T) {
	if !useSIMD {
		t.Skip("no SIMD kernels on this CPU or build")
	}
	special := []float32{0, float32(math.Copysign(0, -1)), 6, -6, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	r := rand.New(rand.NewPCG(3, 4))
	gen := func(n int, withSpecial bool) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64() * 4)
			if withSpecial && r.IntN(4) == 0 {
				v[i] = special[r.IntN(len(special))]
			}
		}
		return v
	}
	both := func(f func()) {
		f()
		useSIMD = false
		defer func() { useSIMD = true }()
		f()
	}
	same := func(what string, a, b []float32) {
		t.Helper()
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) && !(a[i] != a[i] && b[i] != b[i]) {
				t.Fatalf("%s[%d]: SIMD %v; Go %v", what, i, a[i], b[i])
			}
		}
	}
	near := func(what string, a, b float64) {
		t.Helper()
		if math.Abs(a-b) > 1e-9*max(1, math.Abs(b)) {
			t.Fatalf("%s: SIMD %v; Go %v", what, a, b)
		}
	}
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 31, 64, 1000} {
		x, d, mask := gen(n, false), gen(n, false), gen(n, true)
		xs := gen(n, true)
		for _, hi := range []float32{6, maxFloat32} {
			var z [2][]float32
			var y [2][]float32
			k := 0
			both(func() {
				z[k], y[k] = make([]float32, n), make([]float32, n)
				clamp(z[k], xs, hi)
				k++
			})
			same("clamp", z[0], z[1])
			k = 0
			both(func() {
				z[k], y[k] = make([]float32, n), make([]float32, n)
				affineClamp(y[k], z[k], x, 1.5, -0.25, hi)
				k++
			})
			// FMA rounds once, mul+add twice: y within an ulp or so.
			for i := range y[0] {
				if math.Abs(float64(y[0][i]-y[1][i])) > 1e-6*max(1, math.Abs(float64(y[1][i]))) {
					t.Fatalf("affineClamp y[%d]: SIMD %v; Go %v", i, y[0][i], y[1][i])
				}
				if want := max(min(y[0][i], hi), 0); math.Float32bits(z[0][i]) != math.Float32bits(want) {
					t.Fatalf("affineClamp z[%d] = %v; want clamp(%v) = %v", i, z[0][i], y[0][i], want)
				}
			}
		}
		var s, ss [2]float64
		k := 0
		both(func() { s[k], ss[k] = sums(x, 0.5); k++ })
		near("sums s", s[0], s[1])
		near("sums ss", ss[0], ss[1])
		for _, lim := range []uint32{math.Float32bits(6) - 1, 0x7f800000} {
			for _, m := range [][]float32{nil, mask} {
				k = 0
				both(func() { s[k], ss[k] = dotDev(d, x, m, 0.3, lim); k++ })
				near("dotDev s", s[0], s[1])
				near("dotDev sx", ss[0], ss[1])
				var dx [2][]float32
				k = 0
				both(func() {
					dx[k] = make([]float32, n)
					backApply(dx[k], d, x, m, 0.7, -0.2, 0.1, lim)
					k++
				})
				for i := range dx[0] {
					if math.Abs(float64(dx[0][i]-dx[1][i])) > 1e-5*max(1, math.Abs(float64(dx[1][i]))) {
						t.Fatalf("backApply[%d]: SIMD %v; Go %v", i, dx[0][i], dx[1][i])
					}
				}
			}
		}
	}
}

// TestConv3x3SIMDMatchesGo checks the SIMD depthwise row kernel against
// the Go loop (same taps, different rounding order).
func TestConv3x3SIMDMatchesGo(t *testing.T) {
	if !useSIMD {
		t.Skip("no SIMD kernels on this CPU or build")
	}
	for _, s := range []struct{ h, w int }{{1, 8}, {3, 8}, {4, 16}, {5, 32}} {
		in := randTensor(uint64(s.w), 1, s.h, s.w).Data
		wt := [9]float32{0.1, -0.2, 0.3, 0.4, 0.5, -0.6, 0.7, 0.8, -0.9}
		zero := make([]float32, s.w)
		for _, acc := range []bool{false, true} {
			got := randTensor(5, 1, s.h, s.w).Data
			want := append([]float32(nil), got...)
			conv3x3Plane(got, in, s.h, s.w, &wt, 0.25, acc, zero)
			useSIMD = false
			conv3x3Plane(want, in, s.h, s.w, &wt, 0.25, acc, zero)
			useSIMD = true
			closeTo(t, "conv3x3Plane", got, want, 1e-6, 1e-6)
		}
	}
}

// TestGrad3x3SIMDMatchesGo checks the SIMD depthwise weight-gradient row
// kernel against the Go loop.
func TestGrad3x3SIMDMatchesGo(t *testing.T) {
	if !useSIMD {
		t.Skip("no SIMD kernels on this CPU or build")
	}
	for _, s := range []struct{ h, w int }{{1, 8}, {3, 8}, {4, 16}, {5, 32}} {
		in := randTensor(uint64(s.w), 1, s.h, s.w).Data
		dy := randTensor(uint64(s.h), 1, s.h, s.w).Data
		zero := make([]float32, s.w)
		got := grad3x3Plane(dy, in, s.h, s.w, zero)
		useSIMD = false
		want := grad3x3Plane(dy, in, s.h, s.w, zero)
		useSIMD = true
		closeTo(t, "grad3x3Plane", got[:], want[:], 1e-5, 1e-6)
	}
}

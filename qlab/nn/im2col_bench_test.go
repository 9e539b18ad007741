package nn

import "testing"

// BenchmarkIm2col times the patch-matrix copy of one 32x32x32 image (3x3,
// stride 1, padding 1), the im2col of RefNet-S's largest convolution.
func BenchmarkIm2col(b *testing.B) {
	x := randTensor(1, 1, 32, 32, 32).Data
	col := make([]float32, 32*9*32*32)
	b.ReportAllocs()
	b.SetBytes(int64(4 * len(col)))
	for b.Loop() {
		im2col(col, x, 32, 32, 32, 3, 1, 1, 32, 32, 32*32)
	}
}

// TestIm2colSIMDMatchesGo checks the SIMD 3x3 path of im2col against the
// general Go path, including row strides with gaps that must stay
// untouched.
func TestIm2colSIMDMatchesGo(t *testing.T) {
	if !useSIMD {
		t.Skip("no SIMD kernels on this CPU or build")
	}
	for _, s := range []struct{ c, h, w, ld int }{{2, 4, 8, 40}, {3, 1, 8, 8}, {1, 5, 16, 80}, {4, 8, 8, 130}, {2, 3, 24, 72}} {
		x := randTensor(uint64(s.h), 1, s.c, s.h, s.w).Data
		want := make([]float32, s.c*9*s.ld)
		got := make([]float32, s.c*9*s.ld)
		for i := range got {
			got[i], want[i] = -7, -7
		}
		useSIMD = false
		im2col(want, x, s.c, s.h, s.w, 3, 1, 1, s.h, s.w, s.ld)
		useSIMD = true
		im2col(got, x, s.c, s.h, s.w, 3, 1, 1, s.h, s.w, s.ld)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%+v: element %d: got %v; want %v", s, i, got[i], want[i])
			}
		}
	}
}

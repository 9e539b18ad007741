package analysis

import (
	"math"
	"testing"
)

// TestKernelsMatchGo checks the platform kernels (AVX2 assembly on amd64)
// against the portable Go loops, for lengths around the 8-lane blocks.
func TestKernelsMatchGo(t *testing.T) {
	if !useAVX2 {
		t.Skip("no SIMD kernels on this platform: sumMinMax is sumMinMaxGo")
	}
	for _, n := range []int{1, 7, 8, 9, 15, 16, 17, 64, 1000, 1031} {
		x := gaussData(uint64(n)+100, n, -0.7, 4)
		s, lo, hi := sumMinMax(x)
		gs, glo, ghi := sumMinMaxGo(x)
		if !relClose(s, gs, 1e-13) || lo != glo || hi != ghi {
			t.Errorf("n=%d sumMinMax: got %v %v %v; want %v %v %v", n, s, lo, hi, gs, glo, ghi)
		}
		mean := gs / float64(n)
		m2, m3, m4 := centralSums(x, mean)
		g2, g3, g4 := centralSumsGo(x, mean)
		if !relClose(m2, g2, 1e-13) || !relClose(m4, g4, 1e-13) || math.Abs(m3-g3) > 1e-13*math.Pow(g2, 1.5) {
			t.Errorf("n=%d centralSums: got %v %v %v; want %v %v %v", n, m2, m3, m4, g2, g3, g4)
		}
	}
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		x := gaussData(7, 40, 0, 1)
		x[13] = bad
		if s, _, _ := sumMinMax(x); !math.IsNaN(s) && !math.IsInf(s, 0) {
			t.Errorf("sum with %v: got %v; want NaN or Inf", bad, s)
		}
	}
}

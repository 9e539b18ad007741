//go:build amd64 && !purego

package analysis

import "golang.org/x/sys/cpu"

// useAVX2 selects the assembly chunk kernels; x/sys/cpu also checks that
// the OS saves the YMM registers.
var useAVX2 = cpu.X86.HasAVX2

// sumMinMaxAVX2 returns the float64 sum (8 lanes: two 4-wide float64
// accumulators, then a fixed reduction) and the extremes of x[:n]; n is a
// positive multiple of 8.
//
//go:noescape
func sumMinMaxAVX2(x *float32, n int) (sum float64, lo, hi float32)

// centralSumsAVX2 returns Σd², Σd³, Σd⁴ (d = x - mean, float64) over x[:n];
// n is a positive multiple of 8.
//
//go:noescape
func centralSumsAVX2(x *float32, n int, mean float64) (m2, m3, m4 float64)

// sumMinMax is sumMinMaxGo with the bulk in AVX2 when available.
func sumMinMax(x []float32) (s float64, lo, hi float32) {
	n8 := len(x) &^ 7
	if !useAVX2 || n8 == 0 {
		return sumMinMaxGo(x)
	}
	s, lo, hi = sumMinMaxAVX2(&x[0], n8)
	for _, v := range x[n8:] {
		s += float64(v)
		lo, hi = min32(lo, v), max32(hi, v)
	}
	return s, lo, hi
}

// centralSums is centralSumsGo with the bulk in AVX2 when available.
func centralSums(x []float32, mean float64) (m2, m3, m4 float64) {
	n8 := len(x) &^ 7
	if !useAVX2 || n8 == 0 {
		return centralSumsGo(x, mean)
	}
	m2, m3, m4 = centralSumsAVX2(&x[0], n8, mean)
	if n8 < len(x) {
		t2, t3, t4 := centralSumsGo(x[n8:], mean)
		m2, m3, m4 = m2+t2, m3+t3, m4+t4
	}
	return m2, m3, m4
}

//go:build amd64 && !purego

package analysis

import (
	"math"

	"golang.org/x/sys/cpu"
)

// useAVX2 selects the assembly chunk kernels; x/sys/cpu also checks that
// the OS saves the YMM registers. useAVX512 selects the 16-lane kernels
// (VEXTRACTF32X8 needs DQ; the OS must save the ZMM and mask registers,
// which x/sys/cpu checks too).
var (
	useAVX2   = cpu.X86.HasAVX2
	useAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ && cpu.X86.HasPOPCNT
)

// sumMinMaxKeysAVX512 is one pass over x[:n] (n a positive multiple of 16)
// for the float64 sum, the extremes and the fine-histogram keys of the
// values whose key is not 0 (compressed into keys[:nk]; keys needs room for
// n+16). See moments_amd64.s.
//
//go:noescape
func sumMinMaxKeysAVX512(x *float32, n int, keys *uint32) (sum float64, lo, hi float32, nk int)

// shiftedSumsKeysAVX512 is sumMinMaxKeysAVX512 with the power sums of
// x - shift (Σd, Σd², Σd³, Σd⁴) in place of the plain sum.
//
//go:noescape
func shiftedSumsKeysAVX512(x *float32, n int, shift float64, keys *uint32) (s1, s2, s3, s4 float64, lo, hi float32, nk int)

// shiftedSumsFine adds the power sums of x - shift to p, counts x into
// fine and returns the extremes of x; len(x) is at most keyBlock.
func shiftedSumsFine(x []float32, shift float64, p *powerSums, fine *fineTable, keys *keyBuffer) (lo, hi float32) {
	n16 := len(x) &^ 15
	if !useAVX512 || n16 == 0 {
		countFine(x, fine)
		return shiftedSumsGo(x, shift, p)
	}
	s1, s2, s3, s4, lo, hi, nk := shiftedSumsKeysAVX512(&x[0], n16, shift, &keys[0])
	if nk > 0 {
		countKeysAsm(&fine[0], &keys[0], nk)
	}
	fine[0] += int64(n16 - nk)
	p.s1 += s1
	p.s2 += s2
	p.s3 += s3
	p.s4 += s4
	if n16 < len(x) {
		countFine(x[n16:], fine)
		tlo, thi := shiftedSumsGo(x[n16:], shift, p)
		lo, hi = min32(lo, tlo), max32(hi, thi)
	}
	return lo, hi
}

// countKeysAsm counts keys[:n] (their low 16 bits) into fine.
//
//go:noescape
func countKeysAsm(fine *int64, keys *uint32, n int)

// centralSumsAVX512 is centralSumsAVX2 with 16 lanes; n is a positive
// multiple of 16.
//
//go:noescape
func centralSumsAVX512(x *float32, n int, mean float64) (m2, m3, m4 float64)

// sumMinMaxFine is sumMinMax fused with counting x into fine; len(x) is at
// most keyBlock.
func sumMinMaxFine(x []float32, fine *fineTable, keys *keyBuffer) (s float64, lo, hi float32) {
	n16 := len(x) &^ 15
	if !useAVX512 || n16 == 0 {
		countFine(x, fine)
		return sumMinMax(x)
	}
	s, lo, hi, nk := sumMinMaxKeysAVX512(&x[0], n16, &keys[0])
	if nk > 0 {
		countKeysAsm(&fine[0], &keys[0], nk)
	}
	fine[0] += int64(n16 - nk)
	for _, v := range x[n16:] {
		fine[math.Float32bits(v)>>fineShift]++
		s += float64(v)
		lo, hi = min32(lo, v), max32(hi, v)
	}
	return s, lo, hi
}

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
	if n16 := len(x) &^ 15; useAVX512 && n16 > 0 {
		m2, m3, m4 = centralSumsAVX512(&x[0], n16, mean)
		if n16 < len(x) {
			t2, t3, t4 := centralSumsGo(x[n16:], mean)
			m2, m3, m4 = m2+t2, m3+t3, m4+t4
		}
		return m2, m3, m4
	}
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

package analysis

import (
	"fmt"
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

// TestScanChunkMatchesNaive checks the fused sum/extremes/fine-histogram
// pass (the AVX-512 key-compressing kernel on amd64) against a plain count
// of every value's bucket, on ReLU-like data with the values whose bucket
// is 0 (+0, positive subnormals) or next to it (-0, negative subnormals)
// mixed in, across the 16-lane block and keyBlock boundaries.
func TestScanChunkMatchesNaive(t *testing.T) {
	specials := []float32{0, float32(math.Copysign(0, -1)), math.Float32frombits(1), math.Float32frombits(0xffff),
		math.Float32frombits(0x10000), -math.Float32frombits(1), math.SmallestNonzeroFloat32, 3e4, -2.5e-30}
	for _, n := range []int{1, 15, 16, 17, 31, 33, 1024, keyBlock - 1, keyBlock, keyBlock + 17, 3*keyBlock + 5} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			x := gaussData(uint64(n)+7, n, 0, 1)
			for i := range x {
				switch {
				case i%3 == 0:
					x[i] = max(x[i], 0)
				case i%7 == 1:
					x[i] = specials[i%len(specials)]
				}
			}
			got := new(fineTable)
			want := new(fineTable)
			s, lo, hi := scanChunk(x, got, new(keyBuffer))
			for _, v := range x {
				want[math.Float32bits(v)>>fineShift]++
			}
			if *got != *want {
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("bucket %#x: got %d; want %d", i, got[i], want[i])
					}
				}
			}
			ws, wlo, whi := sumMinMaxGo(x)
			if !relClose(s, ws, 1e-12) || lo != wlo || hi != whi {
				t.Errorf("sum, min, max: got %v %v %v; want %v %v %v", s, lo, hi, ws, wlo, whi)
			}
		})
	}
}

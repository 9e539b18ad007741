package analysis

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/qlab-dev/qlab/qlab/tensor"
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

// TestShiftedCentral checks central moments derived from power sums about
// a shift against the two-pass sums about the exact mean, with the shift
// as far from the mean as maxShiftRatio2 allows, and that a shift beyond
// it is refused.
func TestShiftedCentral(t *testing.T) {
	r := rand.New(rand.NewPCG(77, 1))
	const n = 50_000
	dists := map[string]func() float64{
		"gauss":     r.NormFloat64,
		"offset":    func() float64 { return 1e3 + 1e-2*r.NormFloat64() },
		"lognormal": func() float64 { return math.Exp(r.NormFloat64()) },
		"relu":      func() float64 { return max(r.NormFloat64(), 0) },
	}
	for name, draw := range dists {
		t.Run(name, func(t *testing.T) {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(draw())
			}
			mean, m2, m3, m4 := naive(x)
			sd := math.Sqrt(m2 / n)
			for _, k := range []float64{-0.124, 0.124} {
				shift := mean + k*sd
				var p powerSums
				scanShifted(x, shift, &p, new(fineTable), new(keyBuffer))
				gm, g2, g3, g4, ok := p.central(n, shift)
				if !ok {
					t.Fatalf("shift %+.3f sd: refused; want accepted", k)
				}
				if !relClose(gm, mean, 1e-12) && math.Abs(gm-mean) > 1e-12*sd {
					t.Errorf("shift %+.3f sd: mean %.17g; want %.17g", k, gm, mean)
				}
				// M3 of a symmetric stream is near 0: bound its error in
				// skewness units, as TestChannelStreaming does.
				tol3 := math.Max(1e-12*math.Abs(m3), 1e-10*math.Pow(m2, 1.5)/math.Sqrt(n))
				if !relClose(g2, m2, 1e-12) || math.Abs(g3-m3) > tol3 || !relClose(g4, m4, 1e-12) {
					t.Errorf("shift %+.3f sd: M2, M3, M4 = %.17g, %.17g, %.17g; want %.17g, %.17g, %.17g", k, g2, g3, g4, m2, m3, m4)
				}
			}
			var p powerSums
			shift := mean + 0.13*sd
			scanShifted(x, shift, &p, new(fineTable), new(keyBuffer))
			if _, _, _, _, ok := p.central(n, shift); ok {
				t.Errorf("shift 0.13 sd: accepted; want refused (bound 1/8)")
			}
		})
	}
}

// TestRejectAfterData feeds a per-channel accumulator good tensors (so
// later batches take the one-pass path about each channel's mean), then
// tensors with a NaN or Inf, small and large enough to be split between
// goroutines: each must be an error naming the element and leave every
// statistic as it was.
func TestRejectAfterData(t *testing.T) {
	for _, shape := range [][]int{{2, 3, 40}, {16, 8, 32, 16}} {
		good := tensor.New(shape...)
		copy(good.Data, gaussData(60, len(good.Data), 0.5, 1))
		a, _ := NewAccumulator(Options{PerChannel: true})
		for range 2 {
			if err := a.AddTensor(good); err != nil {
				t.Fatal(err)
			}
		}
		m, ch, fine := a.Moments(), a.Channels(), slices.Clone(a.fine)
		for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
			for _, at := range []int{0, len(good.Data) / 2, len(good.Data) - 1} {
				t.Run(fmt.Sprint(shape, bad, at), func(t *testing.T) {
					x := good.Clone()
					x.Data[at] = bad
					err := a.AddTensor(x)
					if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("element %d ", at)) {
						t.Errorf("got %v; want an error naming element %d", err, at)
					}
					if a.Moments() != m || !slices.Equal(a.Channels(), ch) || !slices.Equal(a.fine, fine) {
						t.Errorf("statistics changed by a rejected tensor")
					}
				})
			}
		}
	}
}

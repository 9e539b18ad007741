package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// tapsCase is one implicit-GEMM shape: a 3x3 convolution over a padded NHWC
// plane (taps at (ky*wp+kx)*c), or a plain GEMM (one tap).
type tapsCase struct {
	name         string
	m, lda, kTap int
	taps         []int
	n            int
	zb           bool
	alen         int
}

func tapsCases() []tapsCase {
	conv := func(name string, ow, c, n, stride int, zb bool) tapsCase {
		wp := ow*stride + 2
		var taps []int
		for ky := 0; ky < 3; ky++ {
			for kx := 0; kx < 3; kx++ {
				taps = append(taps, (ky*wp+kx)*c)
			}
		}
		return tapsCase{name: name, m: ow, lda: stride * c, kTap: c, taps: taps, n: n, zb: zb, alen: 3 * wp * c}
	}
	gemm := func(name string, m, k, n int, zb bool) tapsCase {
		return tapsCase{name: name, m: m, lda: k, kTap: k, taps: []int{0}, n: n, zb: zb, alen: m * k}
	}
	return []tapsCase{
		conv("conv32x32c32", 32, 32, 32, 1, false),
		conv("conv16c64n64", 16, 64, 64, 1, false),
		conv("conv8c64n128", 8, 64, 128, 1, true),
		conv("conv12c8n40", 12, 8, 40, 1, true), // ragged last tile moved back, ragged panel
		conv("conv5c4n3", 5, 4, 3, 1, false),    // fewer rows than a tile: gathered
		conv("conv7c3n33", 7, 3, 33, 1, true),   // kTap not a multiple of 4: gathered
		conv("stride2", 9, 16, 20, 2, false),
		gemm("dense64x128n10", 64, 128, 10, false),
		gemm("pointwise", 37, 36, 70, true),
		gemm("one", 1, 1, 1, false),
	}
}

// naiveTaps is the int64 oracle of the implicit product.
func naiveTaps(tc tapsCase, a []uint8, b []int8) []int64 {
	c := make([]int64, tc.m*tc.n)
	for i := 0; i < tc.m; i++ {
		for j := 0; j < tc.n; j++ {
			var s int64
			for t, off := range tc.taps {
				for p := 0; p < tc.kTap; p++ {
					s += int64(a[i*tc.lda+off+p]) * int64(b[(t*tc.kTap+p)*tc.n+j])
				}
			}
			c[i*tc.n+j] = s
		}
	}
	return c
}

// gemmlowpRequant is TFLite's reference MultiplyByQuantizedMultiplier for a
// right shift, written from gemmlowp's definitions (nudge, truncating
// division, RoundingDivideByPOT's remainder threshold).
func gemmlowpRequant(x, mult int32, shift int) int32 {
	ab := int64(x) * int64(mult)
	nudge := int64(1 << 30)
	if ab < 0 {
		nudge = 1 - 1<<30
	}
	h := int32((ab + nudge) / (1 << 31))
	mask := int32(int64(1)<<shift - 1)
	rem, thr := h&mask, mask>>1
	if h < 0 {
		thr++
	}
	q := h >> shift
	if rem > thr {
		q++
	}
	return q
}

// withTapsPaths runs f on the portable path and, where the CPU has them,
// on the kernels with their general output stage ("vnni") and with the
// shorter one wherever RequantS8.fastFor allows it ("vnni-fast").
func withTapsPaths(t *testing.T, f func(t *testing.T)) {
	type path struct {
		name       string
		simd, fast bool
	}
	paths := []path{{"go", false, false}}
	if hasTapsKernel {
		paths = append(paths, path{"vnni", true, false}, path{"vnni-fast", true, true})
	}
	for _, pt := range paths {
		t.Run(pt.name, func(t *testing.T) {
			prev, prevFast := hasTapsKernel, requantFast
			hasTapsKernel, requantFast = pt.simd, pt.fast
			defer func() { hasTapsKernel, requantFast = prev, prevFast }()
			f(t)
		})
	}
}

// TestRequantS8FastBound checks the shorter output stage at the edge of
// what RequantS8.fastFor admits: sums of ±K·255·128 (every byte 255, every
// weight -128 or 127) plus the largest bias it allows for shift 31 (half
// 2^30) and for shift 1, against gemmlowp's definitions; and that one more
// unit of bias makes fastFor refuse.
func TestRequantS8FastBound(t *testing.T) {
	const taps, kTap, m = 9, 64, 8
	k := int64(taps * kTap)
	accMax := k * 255 * 128
	for _, sh := range []int{31, 1} {
		half := int64(1) << (sh - 1)
		limit := int32(1<<31 - 2 - accMax - half) // largest bias with accMax + bias + half < 2^31 - 1
		n := 4
		b := make([]int8, taps*kTap*n)
		for i := range b {
			b[i] = []int8{-128, 127}[i%n%2] // columns of -128 and of 127
		}
		bias := []int32{-limit, limit, limit, -limit}
		mult := []int32{math.MaxInt32, math.MaxInt32, 1 << 30, 1<<30 + 12345}
		shift := []int{sh, sh, sh, sh}
		rq, err := NewRequantS8(bias, mult, shift, nil, -128, 127, 128)
		if err != nil {
			t.Fatal(err)
		}
		if !rq.fastFor(accMax, 0) {
			t.Fatalf("shift %d: fastFor refuses bias %d", sh, limit)
		}
		over, _ := NewRequantS8([]int32{limit + 1}, []int32{1 << 30}, []int{sh}, nil, -128, 127, 128)
		if over.fastFor(accMax, 0) {
			t.Fatalf("shift %d: fastFor admits bias %d", sh, limit+1)
		}
		pb := PackS8Taps(taps, kTap, n, b, n)
		a := make([]uint8, m*kTap+(taps-1)*kTap)
		for i := range a {
			a[i] = 255
		}
		tapOff := make([]int, taps)
		for i := range tapOff {
			tapOff[i] = i * kTap
		}
		withTapsPaths(t, func(t *testing.T) {
			dst := make([]uint8, m*n)
			GemmU8S8TapsRequant(m, a, kTap, tapOff, pb, rq, nil, dst, n)
			acc := make([]int32, m*n)
			GemmU8S8TapsInt32(m, a, kTap, tapOff, pb, acc, n)
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					if a := int64(acc[i*n+j]); a != accMax && a != -accMax && a != k*255*127 && a != -k*255*127 {
						t.Fatalf("acc %d is not at the extreme", a)
					}
					q := gemmlowpRequant(acc[i*n+j]+bias[j], mult[j], sh)
					if want := uint8(min(max(q, -128), 127) + 128); dst[i*n+j] != want {
						t.Fatalf("shift %d (%d, %d): got %d; want %d", sh, i, j, dst[i*n+j], want)
					}
				}
			}
		})
	}
}

func TestGemmU8S8Taps(t *testing.T) {
	for _, fill := range int8Fills {
		for _, tc := range tapsCases() {
			r := rand.New(rand.NewPCG(uint64(tc.m), uint64(tc.n)))
			a := make([]uint8, tc.alen)
			for i := range a {
				a[i] = fill.a(r)
			}
			b := make([]int8, len(tc.taps)*tc.kTap*tc.n)
			for i := range b {
				b[i] = fill.b(r)
			}
			want := naiveTaps(tc, a, b)
			pb := PackS8Taps(len(tc.taps), tc.kTap, tc.n, b, tc.n)
			// Output stage: per-column multipliers in [2^30, 2^31) with
			// shifts 0..31, biases and weight zero points of either sign.
			bias, mult, zb := make([]int32, tc.n), make([]int32, tc.n), make([]int32, tc.n)
			shift := make([]int, tc.n)
			for j := range bias {
				bias[j] = int32(r.IntN(1<<20) - 1<<19)
				mult[j] = int32(1<<30 + r.IntN(1<<30))
				shift[j] = []int{0, 1, 7, 12, 31, r.IntN(32)}[j%6]
				zb[j] = int32(r.IntN(256) - 128)
			}
			if !tc.zb {
				zb = nil
			}
			rq, err := NewRequantS8(bias, mult, shift, zb, -100, 120, 128)
			if err != nil {
				t.Fatal(err)
			}
			rowsum := make([]int32, tc.m)
			RowSumsTaps(tc.m, a, tc.lda, tc.taps, tc.kTap, rowsum)
			withTapsPaths(t, func(t *testing.T) {
				t.Run(fill.name+"/"+tc.name, func(t *testing.T) {
					ldc := tc.n + 3
					c := make([]int32, tc.m*ldc)
					for i := range c {
						c[i] = -7
					}
					GemmU8S8TapsInt32(tc.m, a, tc.lda, tc.taps, pb, c, ldc)
					dst := make([]uint8, tc.m*ldc)
					for i := range dst {
						dst[i] = 77
					}
					GemmU8S8TapsRequant(tc.m, a, tc.lda, tc.taps, pb, rq, rowsum, dst, ldc)
					for i := 0; i < tc.m; i++ {
						var rs int64
						for _, off := range tc.taps {
							for _, v := range a[i*tc.lda+off:][:tc.kTap] {
								rs += int64(v)
							}
						}
						if int64(rowsum[i]) != rs {
							t.Fatalf("rowsum[%d] = %d; want %d", i, rowsum[i], rs)
						}
						for j := 0; j < ldc; j++ {
							if j >= tc.n {
								if c[i*ldc+j] != -7 || dst[i*ldc+j] != 77 {
									t.Fatalf("wrote past column %d at (%d, %d)", tc.n, i, j)
								}
								continue
							}
							w := want[i*tc.n+j]
							if int64(c[i*ldc+j]) != w {
								t.Fatalf("C[%d][%d] = %d; want %d", i, j, c[i*ldc+j], w)
							}
							v := int32(w) + bias[j]
							if zb != nil {
								v -= zb[j] * int32(rs)
							}
							q := gemmlowpRequant(v, mult[j], shift[j])
							wq := uint8(min(max(q, -100), 120) + 128)
							if dst[i*ldc+j] != wq {
								t.Fatalf("dst[%d][%d] = %d; want %d (acc %d)", i, j, dst[i*ldc+j], wq, w)
							}
						}
					}
				})
			})
		}
	}
}

// TestRequantS8Edges drives the output stage alone through the extremes of
// int32 sums and multipliers (one tap of one byte: acc = a·b, bias moves v).
func TestRequantS8Edges(t *testing.T) {
	vals := []int32{math.MinInt32 + 1, -1 << 30, -65537, -65536, -3, -2, -1, 0, 1, 2, 3, 65535, 1 << 30, math.MaxInt32 - 32512}
	mults := []int32{0, 1, 1 << 30, 1<<30 + 1, math.MaxInt32}
	for _, sh := range []int{0, 1, 2, 15, 30, 31} {
		n := len(vals) * len(mults)
		bias, mult, shift := make([]int32, n), make([]int32, n), make([]int, n)
		for i := range bias {
			bias[i], mult[i], shift[i] = vals[i%len(vals)], mults[i/len(vals)], sh
		}
		rq, err := NewRequantS8(bias, mult, shift, nil, -128, 127, 128)
		if err != nil {
			t.Fatal(err)
		}
		m := 9
		a := make([]uint8, m)
		for i := range a {
			a[i] = uint8(i % 2) // acc = a·b = 0 or 127
		}
		b := make([]int8, n)
		for j := range b {
			b[j] = 127
		}
		pb := PackS8Taps(1, 1, n, b, n)
		withTapsPaths(t, func(t *testing.T) {
			t.Run(fmt.Sprint("shift", sh), func(t *testing.T) {
				dst := make([]uint8, m*n)
				GemmU8S8TapsRequant(m, a, 1, []int{0}, pb, rq, nil, dst, n)
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						q := gemmlowpRequant(int32(a[i])*127+bias[j], mult[j], sh)
						if want := uint8(min(max(q, -128), 127) + 128); dst[i*n+j] != want {
							t.Fatalf("row %d column %d (v %d, mult %d): got %d; want %d", i, j, int32(a[i])*127+bias[j], mult[j], dst[i*n+j], want)
						}
					}
				}
			})
		})
	}
}

func TestGemmU8S8TapsNoAllocs(t *testing.T) {
	tc := tapsCases()[0]
	a := make([]uint8, tc.alen)
	b := make([]int8, 9*tc.kTap*tc.n)
	pb := PackS8Taps(9, tc.kTap, tc.n, b, tc.n)
	c := make([]int32, tc.m*tc.n)
	if n := testing.AllocsPerRun(10, func() { GemmU8S8TapsInt32(tc.m, a, tc.lda, tc.taps, pb, c, tc.n) }); n != 0 {
		t.Errorf("%v allocations per call; want 0", n)
	}
}

func BenchmarkGemmU8S8Taps(b *testing.B) {
	for _, tc := range tapsCases()[:3] {
		a := make([]uint8, tc.alen)
		w := make([]int8, len(tc.taps)*tc.kTap*tc.n)
		r := rand.New(rand.NewPCG(1, 2))
		for i := range a {
			a[i] = uint8(r.IntN(256))
		}
		for i := range w {
			w[i] = int8(r.IntN(256) - 128)
		}
		pb := PackS8Taps(len(tc.taps), tc.kTap, tc.n, w, tc.n)
		bias, mult, shift := make([]int32, tc.n), make([]int32, tc.n), make([]int, tc.n)
		for j := range mult {
			mult[j], shift[j] = 1<<30, 8
		}
		rq, _ := NewRequantS8(bias, mult, shift, nil, -128, 127, 128)
		dst := make([]uint8, tc.m*tc.n)
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				GemmU8S8TapsRequant(tc.m, a, tc.lda, tc.taps, pb, rq, nil, dst, tc.n)
			}
			macs := float64(tc.m*tc.n*len(tc.taps)*tc.kTap) * float64(b.N)
			b.ReportMetric(macs/b.Elapsed().Seconds()/1e9, "GMAC/s")
		})
	}
}

func TestDepthwiseTapsRequant(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		ow, c, stride, ntaps int
	}{
		{"c32", 32, 32, 1, 9}, {"c64", 16, 64, 1, 9}, {"c20", 7, 20, 1, 9}, {"c5", 3, 5, 2, 9}, {"c128k1", 4, 128, 1, 1},
		{"c16w9", 9, 16, 1, 9}, {"c48w4", 4, 48, 1, 9}, {"c32w2", 2, 32, 1, 9},
	} {
		r := rand.New(rand.NewPCG(uint64(tc.ow), uint64(tc.c)))
		wp := tc.ow*tc.stride + 2
		taps := make([]int, tc.ntaps)
		for i := range taps {
			taps[i] = ((i/3)*wp + i%3) * tc.c
		}
		a := make([]uint8, 3*wp*tc.c)
		for i := range a {
			a[i] = uint8(r.IntN(256))
		}
		a[0], a[1] = 255, 255
		w := make([]int32, tc.ntaps*tc.c)
		for i := range w {
			w[i] = int32(r.IntN(511) - 255)
		}
		w[0] = -255
		pw, err := PackDW(tc.ntaps, tc.c, w)
		if err != nil {
			t.Fatal(err)
		}
		bias, mult, shift := make([]int32, tc.c), make([]int32, tc.c), make([]int, tc.c)
		for j := range bias {
			bias[j] = int32(r.IntN(1<<16) - 1<<15)
			mult[j] = int32(1<<30 + r.IntN(1<<30))
			shift[j] = []int{0, 3, 9, 31}[j%4]
		}
		// Codes of either sign around the offset, so that the rounding
		// of negative sums shows.
		rq, err := NewRequantS8(bias, mult, shift, nil, -128, 127, 128)
		if err != nil {
			t.Fatal(err)
		}
		withTapsPaths(t, func(t *testing.T) {
			t.Run(tc.name, func(t *testing.T) {
				ldd := tc.c + 5
				dst := make([]uint8, tc.ow*ldd)
				for i := range dst {
					dst[i] = 77
				}
				DepthwiseTapsRequant(tc.ow, a, tc.stride*tc.c, taps, pw, rq, dst, ldd)
				for i := 0; i < tc.ow; i++ {
					for j := 0; j < ldd; j++ {
						if j >= tc.c {
							if dst[i*ldd+j] != 77 {
								t.Fatalf("wrote past channel %d at pixel %d", tc.c, i)
							}
							continue
						}
						var acc int64
						for k, off := range taps {
							acc += int64(a[i*tc.stride*tc.c+off+j]) * int64(w[k*tc.c+j])
						}
						q := gemmlowpRequant(int32(acc)+bias[j], mult[j], shift[j])
						if want := uint8(min(max(q, -128), 127) + 128); dst[i*ldd+j] != want {
							t.Fatalf("pixel %d channel %d: got %d; want %d", i, j, dst[i*ldd+j], want)
						}
					}
				}
			})
		})
	}
}

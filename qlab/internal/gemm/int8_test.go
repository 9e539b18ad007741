package gemm

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

// naiveU8S8 is the oracle: each element a dot product summed in int64, so
// an overflowing int32 accumulation elsewhere would show.
func naiveU8S8(m, n, k int, a []uint8, lda int, b []int8, ldb int) []int64 {
	c := make([]int64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s int64
			for p := 0; p < k; p++ {
				s += int64(a[i*lda+p]) * int64(b[p*ldb+j])
			}
			c[i*n+j] = s
		}
	}
	return c
}

// forEachInt8Path runs f with every int8 kernel this CPU has and with the
// portable Go loop.
func forEachInt8Path(t *testing.T, f func(t *testing.T)) {
	paths := append([]*int8Kernel(nil), int8Kernels...)
	paths = append(paths, nil)
	for _, kern := range paths {
		name := "go"
		if kern != nil {
			name = kern.name
		}
		t.Run(name, func(t *testing.T) {
			prev := activeInt8
			activeInt8 = kern
			defer func() { activeInt8 = prev }()
			f(t)
		})
	}
}

// int8Fill returns how the test operands are filled.
var int8Fills = []struct {
	name string
	a    func(r *rand.Rand) uint8
	b    func(r *rand.Rand) int8
}{
	{"random", func(r *rand.Rand) uint8 { return uint8(r.IntN(256)) }, func(r *rand.Rand) int8 { return int8(r.IntN(256) - 128) }},
	{"255x-128", func(*rand.Rand) uint8 { return 255 }, func(*rand.Rand) int8 { return -128 }},
	{"255x127", func(*rand.Rand) uint8 { return 255 }, func(*rand.Rand) int8 { return 127 }},
	{"extremes", func(r *rand.Rand) uint8 { return []uint8{0, 255}[r.IntN(2)] }, func(r *rand.Rand) int8 { return []int8{-128, 127, 0}[r.IntN(3)] }},
}

func TestGemmU8S8Exact(t *testing.T) {
	shapes := []shape{
		{1, 1, 1}, {1, 5, 3}, {3, 1, 7}, {8, 32, 4}, {7, 31, 5}, {9, 33, 6},
		{17, 65, 29}, {16, 64, 1024}, {5, 40, 1027}, {33, 70, 2100}, {64, 10, 576},
		{130, 3, 9}, {2, 530, 27}, {16, 40, 3}, {11, 35, 2}, {24, 33, 1027},
	}
	forEachInt8Path(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(21, 22))
		for _, sh := range shapes {
			for _, fill := range int8Fills {
				name := fmt.Sprintf("%dx%dx%d/%s", sh.m, sh.n, sh.k, fill.name)
				lda, ldb, ldc := sh.k+1, sh.n+2, sh.n+3
				a := make([]uint8, sh.m*lda)
				b := make([]int8, sh.k*ldb)
				for i := range a {
					a[i] = fill.a(r)
				}
				for i := range b {
					b[i] = fill.b(r)
				}
				c := make([]int32, sh.m*ldc)
				for i := range c {
					c[i] = -7 // must be overwritten inside, kept outside
				}
				GemmU8S8(sh.m, sh.n, sh.k, a, lda, b, ldb, c, ldc)
				want := naiveU8S8(sh.m, sh.n, sh.k, a, lda, b, ldb)
				for i := 0; i < sh.m; i++ {
					for j := 0; j < ldc && i*ldc+j < len(c); j++ {
						got := c[i*ldc+j]
						if j >= sh.n {
							if got != -7 {
								t.Fatalf("%s: C[%d][%d] outside the result changed: got %d; want -7", name, i, j, got)
							}
							continue
						}
						if int64(got) != want[i*sh.n+j] {
							t.Fatalf("%s: C[%d][%d]: got %d; want %d", name, i, j, got, want[i*sh.n+j])
						}
					}
				}
			}
		}
	})
}

func TestGemmU8S8Parallel(t *testing.T) {
	const m, n, k = 256, 128, 576
	r := rand.New(rand.NewPCG(23, 24))
	a := make([]uint8, m*k)
	b := make([]int8, k*n)
	for i := range a {
		a[i] = uint8(r.IntN(256))
	}
	for i := range b {
		b[i] = int8(r.IntN(256) - 128)
	}
	want := naiveU8S8(m, n, k, a, k, b, n)
	forEachInt8Path(t, func(t *testing.T) {
		for _, procs := range []int{1, 2, 5} {
			prev := runtime.GOMAXPROCS(procs)
			c := make([]int32, m*n)
			GemmU8S8(m, n, k, a, k, b, n, c, n)
			runtime.GOMAXPROCS(prev)
			for i := range c {
				if int64(c[i]) != want[i] {
					t.Fatalf("GOMAXPROCS=%d: C[%d]: got %d; want %d", procs, i, c[i], want[i])
				}
			}
		}
		c := make([]int32, m*n)
		GemmU8S8Serial(m, n, k, a, k, b, n, c, n)
		for i := range c {
			if int64(c[i]) != want[i] {
				t.Fatalf("GemmU8S8Serial: C[%d]: got %d; want %d", i, c[i], want[i])
			}
		}
	})
}

func TestGemmU8S8NoAllocs(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("instrumentation allocates")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	const m, n, k = 512, 64, 578
	a, b, c := make([]uint8, m*k), make([]int8, k*n), make([]int32, m*n)
	GemmU8S8(m, n, k, a, k, b, n, c, n)
	GemmU8S8(m, n, k, a, k, b, n, c, n)
	if got := testing.AllocsPerRun(20, func() { GemmU8S8(m, n, k, a, k, b, n, c, n) }); got != 0 {
		t.Errorf("got %v allocations per call; want 0", got)
	}
}

// TestPackS8 checks the int8 B packing (and with it interleave4, assembly
// on amd64, Go elsewhere and under purego) against its definition.
func TestPackS8(t *testing.T) {
	r := rand.New(rand.NewPCG(29, 30))
	for _, tc := range []struct{ k, n, nr int }{{4, 32, 32}, {7, 50, 32}, {9, 16, 16}, {3, 5, 16}, {12, 70, 32}} {
		t.Run(fmt.Sprintf("k=%d,n=%d,nr=%d", tc.k, tc.n, tc.nr), func(t *testing.T) {
			ldb := tc.n + 3
			b := make([]int8, tc.k*ldb)
			for i := range b {
				b[i] = int8(r.IntN(256) - 128)
			}
			kq := (tc.k + 3) / 4
			nt := (tc.n + tc.nr - 1) / tc.nr
			dst := make([]int8, nt*tc.nr*kq*4)
			for i := range dst {
				dst[i] = 99 // every byte must be written
			}
			packS8(dst, b, ldb, 0, tc.n, 0, tc.k, tc.nr)
			for jt := 0; jt < nt; jt++ {
				for q := 0; q < kq; q++ {
					for c := 0; c < tc.nr; c++ {
						for u := 0; u < 4; u++ {
							p, j := 4*q+u, jt*tc.nr+c
							var want int8
							if p < tc.k && j < tc.n {
								want = b[p*ldb+j]
							}
							if got := dst[jt*tc.nr*kq*4+(q*tc.nr+c)*4+u]; got != want {
								t.Fatalf("panel %d group %d column %d byte %d: got %d; want %d", jt, q, c, u, got, want)
							}
						}
					}
				}
			}
		})
	}
}

// TestZeroPointCorrection checks the identity documented at GemmU8S8
// against a direct sum of zero-point-shifted products.
func TestZeroPointCorrection(t *testing.T) {
	const m, n, k = 9, 13, 37
	const za, zb = 131, -3
	r := rand.New(rand.NewPCG(25, 26))
	a := make([]uint8, m*k)
	b := make([]int8, k*n)
	for i := range a {
		a[i] = uint8(r.IntN(256))
	}
	for i := range b {
		b[i] = int8(r.IntN(256) - 128)
	}
	c := make([]int32, m*n)
	GemmU8S8(m, n, k, a, k, b, n, c, n)
	rows, cols := make([]int32, m), make([]int32, n)
	RowSumsU8(m, k, a, k, rows)
	ColSumsS8(k, n, b, n, cols)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var want int32
			for p := 0; p < k; p++ {
				want += (int32(a[i*k+p]) - za) * (int32(b[p*n+j]) - zb)
			}
			got := c[i*n+j] - zb*rows[i] - za*cols[j] + k*za*zb
			if got != want {
				t.Fatalf("corrected C[%d][%d]: got %d; want %d", i, j, got, want)
			}
		}
	}
}

func TestGemmU8S8Degenerate(t *testing.T) {
	c := []int32{5, 5, 5, 5}
	GemmU8S8(2, 2, 0, nil, 1, nil, 2, c, 2)
	for i, v := range c {
		if v != 0 {
			t.Errorf("k=0: C[%d]=%d; want 0", i, v)
		}
	}
	GemmU8S8(0, 2, 3, nil, 3, make([]int8, 6), 2, nil, 2) // must not panic
	defer func() {
		if recover() == nil {
			t.Errorf("short A: got no panic; want one")
		}
	}()
	GemmU8S8(2, 2, 3, make([]uint8, 5), 3, make([]int8, 6), 2, c, 2)
}

func BenchmarkGemmU8S8(b *testing.B) {
	// Quantized RefNet-S convolutions, one sample: A is the im2col matrix
	// [pixels, in*9], B the weights [in*9, out].
	shapes := []struct {
		name    string
		m, n, k int
	}{
		{"conv2_32to32_32x32", 1024, 32, 288},
		{"conv4_64to64_16x16", 256, 64, 576},
		{"conv5_64to128_8x8", 64, 128, 576},
	}
	r := rand.New(rand.NewPCG(27, 28))
	for _, sh := range shapes {
		a := make([]uint8, sh.m*sh.k)
		bm := make([]int8, sh.k*sh.n)
		for i := range a {
			a[i] = uint8(r.IntN(256))
		}
		for i := range bm {
			bm[i] = int8(r.IntN(256) - 128)
		}
		c := make([]int32, sh.m*sh.n)
		ops := 2 * float64(sh.m) * float64(sh.n) * float64(sh.k)
		paths := append([]*int8Kernel(nil), int8Kernels...)
		for _, kern := range append(paths, nil) {
			name := "go"
			if kern != nil {
				name = kern.name
			}
			b.Run(sh.name+"/"+name, func(b *testing.B) {
				prev := activeInt8
				activeInt8 = kern
				defer func() { activeInt8 = prev }()
				GemmU8S8(sh.m, sh.n, sh.k, a, sh.k, bm, sh.n, c, sh.n)
				b.ReportAllocs()
				cpu0 := processCPU()
				for b.Loop() {
					GemmU8S8(sh.m, sh.n, sh.k, a, sh.k, bm, sh.n, c, sh.n)
				}
				b.ReportMetric(ops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOP/s")
				if cpu := processCPU() - cpu0; cpu0 != 0 && cpu > 0 {
					b.ReportMetric(ops*float64(b.N)/cpu.Seconds()/1e9, "GOP/cpu-s")
				}
			})
		}
	}
}

package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// oracle computes alpha*op(A)*op(B) + beta*C in float64 and, per element, a
// bound on the float32 rounding error any summation order can produce.
func oracle(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) (want, tol []float64) {
	want = make([]float64, m*n)
	tol = make([]float64, m*n)
	const eps = 1.0 / (1 << 23)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, mag float64
			for p := 0; p < k; p++ {
				var av, bv float64
				if transA {
					av = float64(a[p*lda+i])
				} else {
					av = float64(a[i*lda+p])
				}
				if transB {
					bv = float64(b[j*ldb+p])
				} else {
					bv = float64(b[p*ldb+j])
				}
				s += av * bv
				mag += math.Abs(av * bv)
			}
			v := float64(alpha) * s
			mag *= math.Abs(float64(alpha))
			if beta != 0 {
				cv := float64(beta) * float64(c[i*ldc+j])
				v += cv
				mag += math.Abs(cv)
			}
			want[i*n+j] = v
			// Each of the k+3 roundings errs by at most eps times the
			// running magnitude, which never exceeds mag.
			tol[i*n+j] = float64(k+3)*eps*mag + 1e-30
		}
	}
	return want, tol
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// operands returns random A, B and C for the given shape with strides
// padded by pad, plus the strides.
func operands(r *rand.Rand, transA, transB bool, m, n, k, pad int) (a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	lda, ldb, ldc = max(ac, 1)+pad, max(bc, 1)+pad, max(n, 1)+pad
	return randSlice(r, max(ar*lda, 1)), lda, randSlice(r, max(br*ldb, 1)), ldb, randSlice(r, max(m*ldc, 1)), ldc
}

// forEachKernel runs f as a subtest with each kernel this CPU supports made
// active.
func forEachKernel(t *testing.T, f func(t *testing.T)) {
	for _, kern := range kernels {
		t.Run(kern.name, func(t *testing.T) {
			restore, ok := useKernel(kern.name)
			if !ok {
				t.Fatalf("useKernel(%q) failed", kern.name)
			}
			defer restore()
			f(t)
		})
	}
}

type shape struct{ m, n, k int }

var shapes = []shape{
	{1, 1, 1}, {1, 7, 3}, {5, 1, 9}, {2, 3, 1},
	{3, 5, 7}, {4, 4, 4}, {8, 32, 16}, {7, 31, 13}, {9, 33, 17},
	{12, 48, 8}, {13, 25, 11}, {17, 65, 29}, {31, 23, 37},
	{32, 64, 27}, {41, 97, 5}, {24, 24, 256}, {6, 40, 257},
	{11, 19, 600}, {67, 71, 43}, {130, 20, 9}, {16, 530, 3},
}

var scales = []struct{ alpha, beta float32 }{
	{1, 0}, {1, 1}, {-0.5, 0}, {2, -1.5}, {0.75, 1},
}

func TestSgemmMatchesOracle(t *testing.T) {
	forEachKernel(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		for _, sh := range shapes {
			for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
				for si, sc := range scales {
					pad := si % 3 // strides equal to, or larger than, the rows
					name := fmt.Sprintf("%dx%dx%d/tA=%v,tB=%v/alpha=%g,beta=%g/pad=%d", sh.m, sh.n, sh.k, tr[0], tr[1], sc.alpha, sc.beta, pad)
					a, lda, b, ldb, c, ldc := operands(r, tr[0], tr[1], sh.m, sh.n, sh.k, pad)
					if sc.beta == 0 {
						for i := range c {
							c[i] = float32(math.NaN()) // must not be read
						}
					}
					orig := slices.Clone(c)
					want, tol := oracle(tr[0], tr[1], sh.m, sh.n, sh.k, sc.alpha, a, lda, b, ldb, sc.beta, c, ldc)
					Sgemm(tr[0], tr[1], sh.m, sh.n, sh.k, sc.alpha, a, lda, b, ldb, sc.beta, c, ldc)
					if err := compare(c, orig, ldc, sh.m, sh.n, want, tol); err != nil {
						t.Fatalf("%s: %v", name, err)
					}
				}
			}
		}
	})
}

// compare checks the m x n block of c against want within tol, and that the
// stride padding of c still holds orig.
func compare(c, orig []float32, ldc, m, n int, want, tol []float64) error {
	for i := 0; i < m; i++ {
		for j := 0; j < ldc && i*ldc+j < len(c); j++ {
			got := c[i*ldc+j]
			if j >= n {
				if math.Float32bits(got) != math.Float32bits(orig[i*ldc+j]) {
					return fmt.Errorf("C[%d][%d] outside the %dx%d result changed: got %v; want %v", i, j, m, n, got, orig[i*ldc+j])
				}
				continue
			}
			w, e := want[i*n+j], tol[i*n+j]
			if d := math.Abs(float64(got) - w); !(d <= e) {
				return fmt.Errorf("C[%d][%d]: got %v; want %v (tolerance %.3g)", i, j, got, w, e)
			}
		}
	}
	return nil
}

// TestSgemmStrideInvariant checks that results do not depend on the
// strides: short strides of B are read in place, long ones are packed, and
// both must give the same bits (and match the oracle).
func TestSgemmStrideInvariant(t *testing.T) {
	forEachKernel(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(13, 14))
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			const m, n, k = 19, 70, 300
			a, lda, b, ldb, c, ldc := operands(r, tr[0], tr[1], m, n, k, 0)
			// Copy every operand into buffers with strides past
			// maxInPlaceStride.
			widen := func(s []float32, rows, ld int) ([]float32, int) {
				wld := maxInPlaceStride + 7 + ld
				w := make([]float32, rows*wld)
				for i := 0; i < rows; i++ {
					copy(w[i*wld:i*wld+ld], s[i*ld:(i+1)*ld])
				}
				return w, wld
			}
			wa, wlda := widen(a, len(a)/lda, lda)
			wb, wldb := widen(b, len(b)/ldb, ldb)
			wc, wldc := widen(c, m, ldc)
			want, tol := oracle(tr[0], tr[1], m, n, k, 1, a, lda, b, ldb, 0.5, c, ldc)
			orig := slices.Clone(wc)
			Sgemm(tr[0], tr[1], m, n, k, 1, a, lda, b, ldb, 0.5, c, ldc)
			Sgemm(tr[0], tr[1], m, n, k, 1, wa, wlda, wb, wldb, 0.5, wc, wldc)
			if err := compare(wc, orig, wldc, m, n, want, tol); err != nil {
				t.Fatalf("tA=%v tB=%v long strides: %v", tr[0], tr[1], err)
			}
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					if math.Float32bits(wc[i*wldc+j]) != math.Float32bits(c[i*ldc+j]) {
						t.Fatalf("tA=%v tB=%v: C[%d][%d] with long strides = %v; with short = %v; want equal bits", tr[0], tr[1], i, j, wc[i*wldc+j], c[i*ldc+j])
					}
				}
			}
		}
	})
}

// TestSgemmRefMatchesOracle keeps the reference implementation, the
// benchmarks' baseline, honest.
func TestSgemmRefMatchesOracle(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, sh := range shapes {
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			a, lda, b, ldb, c, ldc := operands(r, tr[0], tr[1], sh.m, sh.n, sh.k, 1)
			orig := slices.Clone(c)
			want, tol := oracle(tr[0], tr[1], sh.m, sh.n, sh.k, 1.5, a, lda, b, ldb, 0.5, c, ldc)
			sgemmRef(tr[0], tr[1], sh.m, sh.n, sh.k, 1.5, a, lda, b, ldb, 0.5, c, ldc)
			if err := compare(c, orig, ldc, sh.m, sh.n, want, tol); err != nil {
				t.Fatalf("%dx%dx%d tA=%v tB=%v: %v", sh.m, sh.n, sh.k, tr[0], tr[1], err)
			}
		}
	}
}

func TestSgemmDegenerate(t *testing.T) {
	tests := []struct {
		name        string
		m, n, k     int
		alpha, beta float32
		want        []float32 // C after the call; C starts as {1, 2, 3, 4, 5, 6}
	}{
		{"m=0", 0, 3, 2, 1, 0, []float32{1, 2, 3, 4, 5, 6}},
		{"n=0", 2, 0, 2, 1, 0, []float32{1, 2, 3, 4, 5, 6}},
		{"k=0 beta=0 clears", 2, 3, 0, 1, 0, []float32{0, 0, 0, 0, 0, 0}},
		{"k=0 beta=2 scales", 2, 3, 0, 1, 2, []float32{2, 4, 6, 8, 10, 12}},
		{"alpha=0 beta=1 keeps", 2, 3, 4, 0, 1, []float32{1, 2, 3, 4, 5, 6}},
		{"alpha=0 beta=-1 negates", 2, 3, 4, 0, -1, []float32{-1, -2, -3, -4, -5, -6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := []float32{1, 2, 3, 4, 5, 6}
			a := make([]float32, 8)
			b := make([]float32, 12)
			for i := range a {
				a[i] = float32(math.NaN()) // unused when alpha=0 or k=0
			}
			Sgemm(false, false, tt.m, tt.n, tt.k, tt.alpha, a, max(tt.k, 1), b, 3, tt.beta, c, 3)
			if !slices.Equal(c, tt.want) {
				t.Errorf("got C=%v; want %v", c, tt.want)
			}
		})
	}
}

func TestSgemmBadArgsPanic(t *testing.T) {
	a, b, c := make([]float32, 6), make([]float32, 6), make([]float32, 4)
	tests := []struct {
		name string
		call func()
	}{
		{"negative m", func() { Sgemm(false, false, -1, 2, 3, 1, a, 3, b, 2, 0, c, 2) }},
		{"lda < k", func() { Sgemm(false, false, 2, 2, 3, 1, a, 2, b, 2, 0, c, 2) }},
		{"short b", func() { Sgemm(false, false, 2, 2, 3, 1, a, 3, b[:5], 2, 0, c, 2) }},
		{"ldc < n", func() { Sgemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 1) }},
		{"short c", func() { Sgemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c[:3], 2) }},
		{"transposed a short", func() { Sgemm(true, false, 2, 2, 4, 1, a, 2, b, 2, 0, c, 2) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("got no panic; want one")
				}
			}()
			tt.call()
		})
	}
}

// detShapes are large enough to be split into tasks and run in parallel.
var detShapes = []struct {
	name           string
	transA, transB bool
	m, n, k        int
}{
	{"conv forward", false, false, 32, 1024, 288},
	{"conv backward-data", true, false, 288, 256, 64},
	{"conv backward-weights", false, true, 32, 288, 1100},
	{"edges", false, false, 77, 301, 259},
	{"tall", true, true, 517, 33, 300},
}

func TestSgemmBitIdenticalAcrossGOMAXPROCS(t *testing.T) {
	forEachKernel(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		for _, sh := range detShapes {
			t.Run(sh.name, func(t *testing.T) {
				a, lda, b, ldb, c0, ldc := operands(r, sh.transA, sh.transB, sh.m, sh.n, sh.k, 3)
				run := func(procs int, serial bool) []float32 {
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
					c := slices.Clone(c0)
					if serial {
						SgemmSerial(sh.transA, sh.transB, sh.m, sh.n, sh.k, 0.5, a, lda, b, ldb, 1.25, c, ldc)
					} else {
						Sgemm(sh.transA, sh.transB, sh.m, sh.n, sh.k, 0.5, a, lda, b, ldb, 1.25, c, ldc)
					}
					return c
				}
				ref := run(1, false)
				for _, v := range []struct {
					procs  int
					serial bool
				}{{2, false}, {3, false}, {8, false}, {2, true}} {
					got := run(v.procs, v.serial)
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(ref[i]) {
							t.Fatalf("GOMAXPROCS=%d serial=%v: C[%d]=%v; want %v bit for bit (GOMAXPROCS=1)", v.procs, v.serial, i, got[i], ref[i])
						}
					}
				}
			})
		}
	})
}

// TestSIMDKernelsAgreeWithGo compares each assembly kernel with the portable
// one: both must land within rounding of each other.
func TestSIMDKernelsAgreeWithGo(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const m, n, k = 45, 77, 300
	a, lda, b, ldb, c0, ldc := operands(r, false, true, m, n, k, 0)
	run := func(name string) []float32 {
		restore, ok := useKernel(name)
		if !ok {
			t.Fatalf("useKernel(%q) failed", name)
		}
		defer restore()
		c := slices.Clone(c0)
		Sgemm(false, true, m, n, k, 1, a, lda, b, ldb, 1, c, ldc)
		return c
	}
	goC := run("go")
	_, tol := oracle(false, true, m, n, k, 1, a, lda, b, ldb, 1, c0, ldc)
	for _, kern := range kernels {
		if kern == goKernel {
			continue
		}
		got := run(kern.name)
		for i := range got {
			if d := math.Abs(float64(got[i] - goC[i])); d > 2*tol[i] {
				t.Errorf("%s: C[%d]=%v; go kernel gives %v (tolerance %.3g)", kern.name, i, got[i], goC[i], 2*tol[i])
				break
			}
		}
	}
}

func TestSgemmNoAllocs(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("instrumentation allocates")
	}
	r := rand.New(rand.NewPCG(9, 10))
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	forEachKernel(t, func(t *testing.T) {
		for _, sh := range detShapes[:3] {
			a, lda, b, ldb, c, ldc := operands(r, sh.transA, sh.transB, sh.m, sh.n, sh.k, 0)
			for _, serial := range []bool{false, true} {
				f := Sgemm
				if serial {
					f = SgemmSerial
				}
				f(sh.transA, sh.transB, sh.m, sh.n, sh.k, 1, a, lda, b, ldb, 0, c, ldc) // warm the pools
				got := testing.AllocsPerRun(20, func() {
					f(sh.transA, sh.transB, sh.m, sh.n, sh.k, 1, a, lda, b, ldb, 0, c, ldc)
				})
				if got != 0 {
					t.Errorf("%s serial=%v: got %v allocations per call; want 0", sh.name, serial, got)
				}
			}
		}
	})
}

func TestParallelFor(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	tests := []struct{ n, grain, chunks int }{
		{0, 4, 0}, {1, 4, 1}, {10, 3, 4}, {12, 3, 4}, {100, 1, 100}, {5, 0, 5}, {7, 100, 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("n=%d,grain=%d", tt.n, tt.grain), func(t *testing.T) {
			hits := make([]int32, tt.n)
			chunks := make(chan [2]int, tt.n+1)
			ParallelFor(tt.n, tt.grain, func(lo, hi int) {
				chunks <- [2]int{lo, hi}
				for i := lo; i < hi; i++ {
					hits[i]++ // chunks are disjoint, so no race
				}
			})
			close(chunks)
			var got [][2]int
			for c := range chunks {
				got = append(got, c)
			}
			if len(got) != tt.chunks {
				t.Errorf("got %d chunks; want %d", len(got), tt.chunks)
			}
			g := max(tt.grain, 1)
			for _, c := range got {
				if c[0]%g != 0 || c[1] != min(c[0]+g, tt.n) {
					t.Errorf("got chunk [%d,%d); want chunks [i*%d, min((i+1)*%d, %d))", c[0], c[1], g, g, tt.n)
				}
			}
			for i, h := range hits {
				if h != 1 {
					t.Fatalf("index %d visited %d times; want 1", i, h)
				}
			}
		})
	}
}

func TestParallelForNoAllocs(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("instrumentation allocates")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	out := make([]float32, 4096)
	fn := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			out[i] = float32(i) * 0.5
		}
	}
	ParallelFor(len(out), 256, fn)
	if got := testing.AllocsPerRun(50, func() { ParallelFor(len(out), 256, fn) }); got != 0 {
		t.Errorf("got %v allocations per call; want 0", got)
	}
}

// TestNestedParallel runs parallel Sgemm calls from inside ParallelFor
// chunks, as a layer parallelising over samples might: it must neither
// deadlock nor change results.
func TestNestedParallel(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	r := rand.New(rand.NewPCG(15, 16))
	const m, n, k, batch = 32, 1024, 288, 6
	a, lda, b, ldb, _, ldc := operands(r, false, false, m, n, k, 0)
	want := make([]float32, m*n)
	SgemmSerial(false, false, m, n, k, 1, a, lda, b, ldb, 0, want, ldc)
	out := make([]float32, batch*m*n)
	ParallelFor(batch, 1, func(lo, hi int) {
		for s := lo; s < hi; s++ {
			Sgemm(false, false, m, n, k, 1, a, lda, b, ldb, 0, out[s*m*n:(s+1)*m*n], ldc)
		}
	})
	for s := 0; s < batch; s++ {
		for i, w := range want {
			if got := out[s*m*n+i]; math.Float32bits(got) != math.Float32bits(w) {
				t.Fatalf("sample %d C[%d]: got %v; want %v bit for bit", s, i, got, w)
			}
		}
	}
}

package gemm

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

// kc bounds the length of the K blocks of the tile kernels: K is cut into
// ceil(k/kc) blocks of nearly equal length (so no block is a short,
// inefficient tail). Every element of C is computed as: for each block (in
// increasing k), one FMA chain from zero over the block, then merged into C
// by the kernel (the first block with the caller's beta, later blocks with
// beta 1). Nothing
// else about the schedule (task grid, worker count, which goroutine runs a
// task, whether an operand was packed or read in place) enters the
// arithmetic, which is why results are bit-identical for any GOMAXPROCS and
// between Sgemm and SgemmSerial. Changing kc changes rounding.
const kc = 256

// kcDot is the K block length of the A*B^T dot kernel (kernel.dot), used
// instead of the tile kernels for shapes chosen in sgemm: per block, 16
// lane-wise FMA chains reduced in a fixed tree, then merged like a tile.
// Reading operands in place, it can afford longer blocks: fewer final
// reductions. Like kc it fixes the rounding, not the schedule.
const kcDot = 1024

// Task grid bounds. A task is a block of C of at most maxTaskRows x
// maxTaskCols (before rounding to whole register tiles); for each K block
// its rows of A (maxTaskRows x kc, 128 KiB) and columns of B (kc x
// maxTaskCols, 512 KiB), packed or not, fit together in a 1 MiB L2 cache.
const (
	maxTaskRows = 128
	maxTaskCols = 512
	// minTasks is how many tasks a problem worth parallelising is split
	// into at least (when its size allows), so two or more workers balance.
	minTasks = 4
	// maxInPlaceStride is the longest row stride (in elements) of A or of
	// a non-transposed B that the kernels read in place rather than
	// packing: beyond it every row would cost a TLB miss.
	maxInPlaceStride = 4096
	// parallelFlops is the work (2*m*n*k) below which Sgemm stays on the
	// calling goroutine: handing work to another goroutine costs a few
	// microseconds, and far more when the machine is oversubscribed, so
	// only products of several MFLOP (tens of microseconds) are split.
	parallelFlops = 1 << 23
)

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices, where
// op(X) is X or its transpose. op(A) is m x k, op(B) is k x n, C is m x n;
// lda, ldb and ldc are the row strides of A, B and C as stored. When beta is
// 0, C is not read (NaNs in it do not propagate); when alpha or k is 0, A
// and B are not read and C becomes beta*C.
//
// Large products are split over up to GOMAXPROCS goroutines; the result is
// bit-identical for any GOMAXPROCS and equal to SgemmSerial's. Results may
// differ in the last bits between CPUs with different SIMD kernels (AVX-512,
// AVX2+FMA, portable Go). A steady-state call allocates nothing.
//
// Sgemm panics if a stride is smaller than the row it strides over, a
// dimension is negative, or a slice is too short for its matrix: those are
// programming errors in the calling layer, which validates user shapes.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemm(active, true, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SgemmSerial is Sgemm on the calling goroutine only, for callers that
// already run many products in parallel (for example one per sample of a
// batch). Its results are bit-identical to Sgemm's.
func SgemmSerial(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemm(active, false, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func checkArgs(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	check := func(name string, s []float32, rows, cols, ld int) {
		if ld < max(1, cols) {
			panic(fmt.Sprintf("gemm: ld%s=%d smaller than its %d columns", name, ld, cols))
		}
		if rows > 0 && cols > 0 && len(s) < (rows-1)*ld+cols {
			panic(fmt.Sprintf("gemm: len(%s)=%d too short for %dx%d with stride %d", name, len(s), rows, cols, ld))
		}
	}
	if transA {
		check("a", a, k, m, lda)
	} else {
		check("a", a, m, k, lda)
	}
	if transB {
		check("b", b, n, k, ldb)
	} else {
		check("b", b, k, n, ldb)
	}
	check("c", c, m, n, ldc)
}

// sgemmJob is one call's worth of work; tasks are (row block, column block)
// pairs numbered row-major over rowCuts x colCuts.
type sgemmJob struct {
	kern           *kernel
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a              []float32
	lda            int
	b              []float32
	ldb            int
	c              []float32
	ldc            int

	dot              bool  // use kern.dot (A*B^T read in place)
	rowCuts, colCuts []int // block boundaries, aligned to mr and nr
	tasks            int64
	next             atomic.Int64
	wg               sync.WaitGroup
}

var sgemmJobs = sync.Pool{New: func() any { return new(sgemmJob) }}

// scratch holds one worker's packed panels and an edge tile.
type scratch struct{ a, b, tile []float32 }

var scratches = sync.Pool{New: func() any { return new(scratch) }}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

func sgemm(kern *kernel, parallel, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkArgs(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	j := sgemmJobs.Get().(*sgemmJob)
	*j = sgemmJob{
		kern: kern, transA: transA, transB: transB, m: m, n: n, k: k,
		alpha: alpha, beta: beta, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc,
		rowCuts: j.rowCuts, colCuts: j.colCuts,
	}
	// A*B^T has both operands contiguous in k: packing B transposes it,
	// which costs more than the product when m is small, so a kernel that
	// reads both in place does it instead. That kernel pays a fixed
	// reduction per 4x4 block (~70 cycles), which dominates when k is
	// short, while transposing B costs ~3.5 cycles per element against
	// ~m/32 cycles of FMAs using it: the crossover is near k = 2m/3, which
	// the RefNet-S weight-gradient shapes bear out (k=64, m=128 is faster
	// packed; k>=256, m<=64 faster in place). The choice depends on the
	// shape only, so it is the same for every run.
	j.dot = !transA && transB && kern.dot != nil && 3*k >= 2*m
	mr, nr := kern.mr, kern.nr
	if j.dot {
		mr, nr = dotTile, dotTile
	}
	mt := (m + mr - 1) / mr
	nt := (n + nr - 1) / nr
	rp := (m + maxTaskRows - 1) / maxTaskRows
	cp := (n + maxTaskCols - 1) / maxTaskCols
	big := 2*float64(m)*float64(n)*float64(k) >= parallelFlops
	if big {
		// Split whichever dimension has the larger blocks, which keeps the
		// repacking (A once per column block, B once per row block) least.
		for rp*cp < minTasks && (rp < mt || cp < nt) {
			if cp < nt && (rp >= mt || n/cp >= m/rp) {
				cp++
			} else {
				rp++
			}
		}
	}
	j.rowCuts = cuts(j.rowCuts, m, mr, min(rp, mt))
	j.colCuts = cuts(j.colCuts, n, nr, min(cp, nt))
	j.tasks = int64((len(j.rowCuts) - 1) * (len(j.colCuts) - 1))
	workers := 1
	if parallel && big {
		workers = min(runtime.GOMAXPROCS(0), int(j.tasks))
	}
	share(j, &j.wg, workers-1)
	j.a, j.b, j.c = nil, nil, nil // do not keep the caller's memory alive
	sgemmJobs.Put(j)
}

// cuts splits [0,total) into parts blocks of whole units (the last block
// ends at total), as even as whole units allow.
func cuts(dst []int, total, unit, parts int) []int {
	units := (total + unit - 1) / unit
	dst = dst[:0]
	for i := 0; i < parts; i++ {
		dst = append(dst, i*units/parts*unit)
	}
	return append(dst, total)
}

func scaleC(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		ci := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(ci)
		} else if beta != 1 {
			for j := range ci {
				ci[j] *= beta
			}
		}
	}
}

func (j *sgemmJob) done() { j.wg.Done() }

func (j *sgemmJob) work() {
	s := scratches.Get().(*scratch)
	for {
		t := j.next.Add(1) - 1
		if t >= j.tasks {
			break
		}
		cb := int64(len(j.colCuts) - 1)
		ri, ci := int(t/cb), int(t%cb)
		if j.dot {
			j.taskDot(s, j.rowCuts[ri], j.rowCuts[ri+1], j.colCuts[ci], j.colCuts[ci+1])
			continue
		}
		j.task(s, j.rowCuts[ri], j.rowCuts[ri+1], j.colCuts[ci], j.colCuts[ci+1])
	}
	scratches.Put(s)
}

// task computes rows [r0,r1) x columns [c0,c1) of C.
func (j *sgemmJob) task(s *scratch, r0, r1, c0, c1 int) {
	mr, nr, fn := j.kern.mr, j.kern.nr, j.kern.fn
	mt := (r1 - r0 + mr - 1) / mr
	nt := (c1 - c0 + nr - 1) / nr
	s.a = grow(s.a, mt*mr*min(kc, j.k))
	s.b = grow(s.b, nt*nr*min(kc, j.k))
	s.tile = grow(s.tile, mr*nr)
	c, ldc, tile := j.c, j.ldc, s.tile
	// B not transposed is row-major like a packed panel, only with a longer
	// stride: the kernels then read whole tiles in place and only a ragged
	// last tile is packed. Very long strides would cost a TLB miss per row,
	// so those are packed too. Either way the arithmetic is the same.
	inPlace := !j.transB && j.ldb <= maxInPlaceStride
	ragged := (c1 - c0) % nr
	// Likewise a non-transposed A: whole row tiles are read in place and
	// only a ragged last one is packed.
	rowA := !j.transA && j.lda <= maxInPlaceStride && j.kern.fnRowA != nil
	// A transposed is already k-major, the packed layout with stride lda.
	colA := j.transA && j.lda <= maxInPlaceStride
	raggedA := (r1 - r0) % mr
	nbk := (j.k + kc - 1) / kc
	for bi := 0; bi < nbk; bi++ {
		p0 := bi * j.k / nbk
		kb := (bi+1)*j.k/nbk - p0
		if !rowA && !colA {
			packA(s.a, j.a, j.lda, j.transA, r0, r1, p0, kb, mr)
		} else if raggedA != 0 {
			packA(s.a, j.a, j.lda, j.transA, r1-raggedA, r1, p0, kb, mr)
		}
		if !inPlace {
			packB(s.b, j.b, j.ldb, j.transB, c0, c1, p0, kb, nr)
		} else if ragged != 0 {
			packB(s.b, j.b, j.ldb, false, c1-ragged, c1, p0, kb, nr)
		}
		beta := j.beta
		if p0 > 0 {
			beta = 1
		}
		for it := 0; it < mt; it++ {
			i := r0 + it*mr
			h := min(mr, r1-i)
			kfn, ap, lda := fn, &s.a[it*mr*kb], mr
			switch {
			case (rowA || colA) && h < mr:
				ap = &s.a[0] // the packed ragged panel
			case rowA:
				kfn, ap, lda = j.kern.fnRowA, &j.a[i*j.lda+p0], j.lda
			case colA:
				ap, lda = &j.a[p0*j.lda+i], j.lda
			}
			for jt := 0; jt < nt; jt++ {
				jj := c0 + jt*nr
				w := min(nr, c1-jj)
				bp, ldb := &s.b[jt*nr*kb], nr
				if inPlace {
					if w == nr {
						bp, ldb = &j.b[p0*j.ldb+jj], j.ldb
					} else {
						bp = &s.b[0]
					}
				}
				if h == mr && w == nr {
					kfn(kb, ap, lda, bp, ldb, &c[i*ldc+jj], ldc, j.alpha, beta)
					continue
				}
				// Edge tile: run the same kernel on a full-size copy so the
				// arithmetic is exactly that of an interior tile.
				if beta != 0 {
					for r := 0; r < h; r++ {
						copy(tile[r*nr:r*nr+w], c[(i+r)*ldc+jj:])
					}
				}
				kfn(kb, ap, lda, bp, ldb, &tile[0], nr, j.alpha, beta)
				for r := 0; r < h; r++ {
					copy(c[(i+r)*ldc+jj:(i+r)*ldc+jj+w], tile[r*nr:])
				}
			}
		}
	}
}

// taskDot computes rows [r0,r1) x columns [c0,c1) of C = alpha*A*B^T +
// beta*C with kern.dot. Edge blocks run the same kernel on zero-padded
// copies of their rows, so their arithmetic equals an interior block's.
func (j *sgemmJob) taskDot(s *scratch, r0, r1, c0, c1 int) {
	const t = dotTile
	dot, a, b, c := j.kern.dot, j.a, j.b, j.c
	lda, ldb, ldc := j.lda, j.ldb, j.ldc
	s.tile = grow(s.tile, t*t)
	tile := s.tile
	for p0 := 0; p0 < j.k; p0 += kcDot {
		kb := min(kcDot, j.k-p0)
		beta := j.beta
		if p0 > 0 {
			beta = 1
		}
		// Columns outer: each block of B rows comes from memory once and is
		// used against every row block of A, which stays in L2.
		for jj := c0; jj < c1; jj += t {
			w := min(t, c1-jj)
			bp, lb := &b[jj*ldb+p0], ldb
			if w < t {
				s.b = padRows(s.b, b[jj*ldb+p0:], ldb, w, kb)
				bp, lb = &s.b[0], kb
			}
			for i := r0; i < r1; i += t {
				h := min(t, r1-i)
				ap, la := &a[i*lda+p0], lda
				if h < t {
					s.a = padRows(s.a, a[i*lda+p0:], lda, h, kb)
					ap, la = &s.a[0], kb
				}
				if h == t && w == t {
					dot(kb, ap, la, bp, lb, &c[i*ldc+jj], ldc, j.alpha, beta)
					continue
				}
				if beta != 0 {
					for r := 0; r < h; r++ {
						copy(tile[r*t:r*t+w], c[(i+r)*ldc+jj:])
					}
				}
				dot(kb, ap, la, bp, lb, &tile[0], t, j.alpha, beta)
				for r := 0; r < h; r++ {
					copy(c[(i+r)*ldc+jj:(i+r)*ldc+jj+w], tile[r*t:])
				}
			}
		}
	}
}

// padRows copies rows rows of kb values (row stride ld in src) into dst as
// a dotTile x kb block whose missing rows are zero.
func padRows(dst, src []float32, ld, rows, kb int) []float32 {
	dst = grow(dst, dotTile*kb)
	for r := 0; r < dotTile; r++ {
		d := dst[r*kb : r*kb+kb]
		if r < rows {
			copy(d, src[r*ld:r*ld+kb])
		} else {
			clear(d)
		}
	}
	return dst
}

// packA copies rows [r0,r1) and columns [p0,p0+kb) of op(A) into dst as
// consecutive mr x kb micro-panels, each k-major (mr values per k), with
// rows past r1 zero.
func packA(dst, a []float32, lda int, trans bool, r0, r1, p0, kb, mr int) {
	for i0 := r0; i0 < r1; i0 += mr {
		panel := dst[:mr*kb]
		dst = dst[mr*kb:]
		h := min(mr, r1-i0)
		if trans {
			// A is stored k x m: each k gives mr contiguous values. Fixed-
			// size copies compile to a few vector moves, where copy would
			// call memmove per k.
			if h == 8 && mr == 8 {
				for p := 0; p < kb; p++ {
					*(*[8]float32)(panel[p*8:]) = *(*[8]float32)(a[(p0+p)*lda+i0:])
				}
				continue
			}
			if h == 4 && mr == 4 {
				for p := 0; p < kb; p++ {
					*(*[4]float32)(panel[p*4:]) = *(*[4]float32)(a[(p0+p)*lda+i0:])
				}
				continue
			}
			for p := 0; p < kb; p++ {
				d := panel[p*mr : p*mr+mr]
				copy(d, a[(p0+p)*lda+i0:][:h])
				clear(d[h:])
			}
			continue
		}
		if h == 8 && mr == 8 {
			packA8(panel, a[i0*lda+p0:], lda, kb)
			continue
		}
		if h == 4 && mr == 4 {
			packA4(panel, a[i0*lda+p0:], lda, kb)
			continue
		}
		for r := 0; r < h; r++ {
			src := a[(i0+r)*lda+p0:][:kb]
			d := panel[r:]
			for p, v := range src {
				d[p*mr] = v
			}
		}
		for r := h; r < mr; r++ {
			for p := 0; p < kb; p++ {
				panel[p*mr+r] = 0
			}
		}
	}
}

// packA8 transposes an 8 x kb block of A (row stride lda) into panel
// (8 values per k).
func packA8(panel, a []float32, lda, kb int) { transpose8(panel, 8, a, lda, kb) }

// transpose8 writes the 8 x kb block of src (row stride ld) transposed
// into dst: element (r, p) goes to dst[p*stride+r]. Reading eight rows in
// step writes 8 consecutive values per k, several times faster than
// writing one value per k with a stride.
func transpose8(dst []float32, stride int, src []float32, ld, kb int) {
	r0, r1, r2, r3 := src[:kb], src[ld:][:kb], src[2*ld:][:kb], src[3*ld:][:kb]
	r4, r5, r6, r7 := src[4*ld:][:kb], src[5*ld:][:kb], src[6*ld:][:kb], src[7*ld:][:kb]
	_ = dst[(kb-1)*stride+7]
	for p := range r0 {
		d := dst[p*stride : p*stride+8 : p*stride+8]
		d[0], d[1], d[2], d[3] = r0[p], r1[p], r2[p], r3[p]
		d[4], d[5], d[6], d[7] = r4[p], r5[p], r6[p], r7[p]
	}
}

// packA4 is packA8 for 4-row panels.
func packA4(panel, a []float32, lda, kb int) {
	r0, r1, r2, r3 := a[:kb], a[lda:][:kb], a[2*lda:][:kb], a[3*lda:][:kb]
	panel = panel[:4*kb]
	for p := range r0 {
		d := panel[4*p : 4*p+4 : 4*p+4]
		d[0], d[1], d[2], d[3] = r0[p], r1[p], r2[p], r3[p]
	}
}

// packB copies rows [p0,p0+kb) and columns [c0,c1) of op(B) into dst as
// consecutive kb x nr micro-panels, each k-major (nr values per k), with
// columns past c1 zero.
func packB(dst, b []float32, ldb int, trans bool, c0, c1, p0, kb, nr int) {
	for j0 := c0; j0 < c1; j0 += nr {
		panel := dst[:nr*kb]
		dst = dst[nr*kb:]
		w := min(nr, c1-j0)
		if !trans {
			if w == 32 && nr == 32 {
				for p := 0; p < kb; p++ {
					*(*[32]float32)(panel[p*32:]) = *(*[32]float32)(b[(p0+p)*ldb+j0:])
				}
				continue
			}
			for p := 0; p < kb; p++ {
				d := panel[p*nr : p*nr+nr]
				copy(d, b[(p0+p)*ldb+j0:][:w])
				clear(d[w:])
			}
			continue
		}
		// B is stored n x k: column j of op(B) is row j of b.
		if w == nr && nr%8 == 0 {
			for c := 0; c < nr; c += 8 {
				transpose8(panel[c:], nr, b[(j0+c)*ldb+p0:], ldb, kb)
			}
			continue
		}
		for c := 0; c < w; c++ {
			src := b[(j0+c)*ldb+p0:][:kb]
			d := panel[c:]
			for p, v := range src {
				d[p*nr] = v
			}
		}
		for c := w; c < nr; c++ {
			for p := 0; p < kb; p++ {
				panel[p*nr+c] = 0
			}
		}
	}
}

// sgemmRef is the plain reference implementation: the oracle for tests and
// the baseline for benchmarks.
func sgemmRef(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		ci := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(ci)
		} else if beta != 1 {
			for j := range ci {
				ci[j] *= beta
			}
		}
		for p := 0; p < k; p++ {
			var av float32
			if transA {
				av = a[p*lda+i]
			} else {
				av = a[i*lda+p]
			}
			av *= alpha
			if av == 0 {
				continue
			}
			if transB {
				for j := range ci {
					ci[j] += av * b[j*ldb+p]
				}
			} else {
				bp := b[p*ldb : p*ldb+n]
				for j := range ci {
					ci[j] += av * bp[j]
				}
			}
		}
	}
}

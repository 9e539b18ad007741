package gemm

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

// An int8Kernel multiplies a packed mr x 4*kq panel of unsigned bytes by a
// packed 4*kq x nr panel of signed bytes into an mr x nr int32 block of C
// (row stride ldc): C = acc, or C += acc when add != 0. Packed layouts: A
// panel byte (q*mr + r)*4 + t is A[r][4q+t]; B panel byte (q*nr + c)*4 + t
// is B[4q+t][c]; k is zero-padded to a multiple of 4. fnRowA reads the mr
// rows of A in place instead (row stride lda bytes).
//
// A kernel with fnPairs instead takes both operands widened to int16 and
// grouped in pairs of k: A panel element (q*mr + r)*2 + t is A[r][2q+t], B
// panel element (q*nr + c)*2 + t is B[2q+t][c]; k is zero-padded to even.
type int8Kernel struct {
	name    string
	mr, nr  int
	fn      func(kq int, a *uint8, lda int, b *int8, c *int32, ldc int, add int)
	fnRowA  func(kq int, a *uint8, lda int, b *int8, c *int32, ldc int, add int)
	fnPairs func(kp int, a, b *int16, c *int32, ldc int, add int)
}

// int8Kernels lists the int8 kernels this CPU can run; activeInt8 is the
// one GemmU8S8 uses, nil for the portable Go loop.
var (
	int8Kernels = simdInt8Kernels()
	activeInt8  = firstOrNil(int8Kernels)
)

func firstOrNil(ks []*int8Kernel) *int8Kernel {
	if len(ks) == 0 {
		return nil
	}
	return ks[0]
}

// kcInt8 is the K block (bytes of each row of A) of the int8 path: a task's
// packed B block is then at most kcInt8 x maxTaskCols = 512 KiB.
const kcInt8 = 1024

// GemmU8S8 computes the int32 product C = A*B of row-major matrices:
// A is m x k of uint8 (the activations, row stride lda), B is k x n of int8
// (the weights, row stride ldb), C is m x n of int32 (row stride ldc). C is
// overwritten, not read. Every product and sum is exact: |sum| <=
// 255*128*k < 2^31 for k <= 65793; beyond that the result wraps modulo
// 2^32 exactly as Go int32 arithmetic would, whatever the summation order.
//
// Layout for a convolution: rows of A are output pixels and columns the
// im2col patch (in*kh*kw), so A is the uint8 im2col matrix and B the
// weights as [in*kh*kw, out]; C is then [pixels, out].
//
// Zero points are the caller's: with real activations sa*(qa - za) and
// weights sb*(qb - zb),
//
//	sum_p (qa[i][p]-za)*(qb[p][j]-zb)
//	    = C[i][j] - zb*RowSumsU8(A)[i] - za*ColSumsS8(B)[j] + k*za*zb
//
// and for symmetric weights (zb = 0) only the za term remains; ColSumsS8
// of constant weights can be computed once.
//
// Large products run on up to GOMAXPROCS goroutines; integer sums do not
// depend on order, so results are identical for any GOMAXPROCS. GemmU8S8
// uses AVX-512 VNNI (VPDPBUSD, which unlike VPMADDUBSW never saturates)
// where available, else AVX2 (VPMADDWD on operands widened to int16, also
// exact), else a portable Go loop. It panics on negative dimensions,
// too-small strides or too-short slices, as Sgemm does.
func GemmU8S8(m, n, k int, a []uint8, lda int, b []int8, ldb int, c []int32, ldc int) {
	gemmU8S8(activeInt8, true, m, n, k, a, lda, b, ldb, c, ldc)
}

// RowSumsU8 sets sums[i] to the sum of row i of the m x k matrix A (row
// stride lda), for the zero-point correction described at GemmU8S8.
func RowSumsU8(m, k int, a []uint8, lda int, sums []int32) {
	checkLen("a", len(a), m, k, lda)
	checkLen("sums", len(sums), 1, m, m)
	for i := 0; i < m; i++ {
		var s int32
		for _, v := range a[i*lda : i*lda+k] {
			s += int32(v)
		}
		sums[i] = s
	}
}

// ColSumsS8 sets sums[j] to the sum of column j of the k x n matrix B (row
// stride ldb), for the zero-point correction described at GemmU8S8.
func ColSumsS8(k, n int, b []int8, ldb int, sums []int32) {
	checkLen("b", len(b), k, n, ldb)
	checkLen("sums", len(sums), 1, n, n)
	sums = sums[:n]
	clear(sums)
	for p := 0; p < k; p++ {
		for j, v := range b[p*ldb : p*ldb+n] {
			sums[j] += int32(v)
		}
	}
}

func checkLen(name string, n, rows, cols, ld int) {
	if rows < 0 || cols < 0 {
		panic(fmt.Sprintf("gemm: negative dimension %dx%d for %s", rows, cols, name))
	}
	if ld < max(1, cols) {
		panic(fmt.Sprintf("gemm: ld%s=%d smaller than its %d columns", name, ld, cols))
	}
	if rows > 0 && cols > 0 && n < (rows-1)*ld+cols {
		panic(fmt.Sprintf("gemm: len(%s)=%d too short for %dx%d with stride %d", name, n, rows, cols, ld))
	}
}

// int8Job is one GemmU8S8 call; tasks are (row block, column block) pairs.
type int8Job struct {
	kern             *int8Kernel
	m, n, k          int
	a                []uint8
	lda              int
	b                []int8
	ldb              int
	c                []int32
	ldc              int
	rowCuts, colCuts []int
	tasks            int64
	next             atomic.Int64
	wg               sync.WaitGroup
}

var int8Jobs = sync.Pool{New: func() any { return new(int8Job) }}

type int8Scratch struct {
	a        []uint8
	b        []int8
	a16, b16 []int16
	tile     []int32
}

var int8Scratches = sync.Pool{New: func() any { return new(int8Scratch) }}

func gemmU8S8(kern *int8Kernel, parallel bool, m, n, k int, a []uint8, lda int, b []int8, ldb int, c []int32, ldc int) {
	if k < 0 {
		panic(fmt.Sprintf("gemm: negative dimension k=%d", k))
	}
	checkLen("a", len(a), m, k, lda)
	checkLen("b", len(b), k, n, ldb)
	checkLen("c", len(c), m, n, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		for i := 0; i < m; i++ {
			clear(c[i*ldc : i*ldc+n])
		}
		return
	}
	if kern == nil {
		gemmU8S8Go(m, n, k, a, lda, b, ldb, c, ldc)
		return
	}
	j := int8Jobs.Get().(*int8Job)
	*j = int8Job{kern: kern, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc,
		rowCuts: j.rowCuts, colCuts: j.colCuts}
	mt := (m + kern.mr - 1) / kern.mr
	nt := (n + kern.nr - 1) / kern.nr
	rp := (m + maxTaskRows - 1) / maxTaskRows
	cp := (n + maxTaskCols - 1) / maxTaskCols
	big := 2*float64(m)*float64(n)*float64(k) >= parallelFlops
	if big {
		for rp*cp < minTasks && (rp < mt || cp < nt) {
			if cp < nt && (rp >= mt || n/cp >= m/rp) {
				cp++
			} else {
				rp++
			}
		}
	}
	j.rowCuts = cuts(j.rowCuts, m, kern.mr, min(rp, mt))
	j.colCuts = cuts(j.colCuts, n, kern.nr, min(cp, nt))
	j.tasks = int64((len(j.rowCuts) - 1) * (len(j.colCuts) - 1))
	workers := 1
	if parallel && big {
		workers = min(runtime.GOMAXPROCS(0), int(j.tasks))
	}
	share(j, &j.wg, workers-1)
	j.a, j.b, j.c = nil, nil, nil
	int8Jobs.Put(j)
}

// gemmU8S8Go is the portable path: exact int32 sums in a cache-friendly
// i-p-j order.
func gemmU8S8Go(m, n, k int, a []uint8, lda int, b []int8, ldb int, c []int32, ldc int) {
	for i := 0; i < m; i++ {
		ci := c[i*ldc : i*ldc+n]
		clear(ci)
		for p, av := range a[i*lda : i*lda+k] {
			if av == 0 {
				continue
			}
			x := int32(av)
			bp := b[p*ldb : p*ldb+n]
			for j, bv := range bp {
				ci[j] += x * int32(bv)
			}
		}
	}
}

func (j *int8Job) done() { j.wg.Done() }

func (j *int8Job) work() {
	s := int8Scratches.Get().(*int8Scratch)
	for {
		t := j.next.Add(1) - 1
		if t >= j.tasks {
			break
		}
		cb := int64(len(j.colCuts) - 1)
		ri, ci := int(t/cb), int(t%cb)
		if j.kern.fnPairs != nil {
			j.taskPairs(s, j.rowCuts[ri], j.rowCuts[ri+1], j.colCuts[ci], j.colCuts[ci+1])
			continue
		}
		j.task(s, j.rowCuts[ri], j.rowCuts[ri+1], j.colCuts[ci], j.colCuts[ci+1])
	}
	int8Scratches.Put(s)
}

func (j *int8Job) task(s *int8Scratch, r0, r1, c0, c1 int) {
	mr, nr, fn := j.kern.mr, j.kern.nr, j.kern.fn
	mt := (r1 - r0 + mr - 1) / mr
	nt := (c1 - c0 + nr - 1) / nr
	kmax := (min(kcInt8, j.k) + 3) &^ 3
	if cap(s.a) < mt*mr*kmax {
		s.a = make([]uint8, mt*mr*kmax)
	}
	if cap(s.b) < nt*nr*kmax {
		s.b = make([]int8, nt*nr*kmax)
	}
	if cap(s.tile) < mr*nr {
		s.tile = make([]int32, mr*nr)
	}
	// Whole row tiles of A are read in place for their whole groups of 4
	// k; the last, partial group (k not a multiple of 4) and ragged row
	// tiles are packed. Integer sums make the split invisible in C.
	rowA := j.kern.fnRowA != nil
	c, ldc, tile := j.c, j.ldc, s.tile[:mr*nr]
	for p0 := 0; p0 < j.k; p0 += kcInt8 {
		kb := min(kcInt8, j.k-p0)
		kq := (kb + 3) / 4
		kqIn := kb / 4 // groups read in place
		packS8(s.b, j.b, j.ldb, c0, c1, p0, kb, nr)
		add := 0
		if p0 > 0 {
			add = 1
		}
		for it := 0; it < mt; it++ {
			i := r0 + it*mr
			h := min(mr, r1-i)
			inPlace := rowA && h == mr
			var ap *uint8
			if inPlace {
				if kqIn < kq {
					packU8Tail(s.a, j.a[i*j.lda+p0+4*kqIn:], j.lda, kb-4*kqIn, mr)
				}
			} else {
				packU8(s.a, j.a, j.lda, i, i+h, p0, kb, mr)
				ap = &s.a[0]
			}
			for jt := 0; jt < nt; jt++ {
				jj := c0 + jt*nr
				w := min(nr, c1-jj)
				panel := s.b[jt*nr*kq*4 : (jt+1)*nr*kq*4]
				dst, ld := &tile[0], nr
				if h == mr && w == nr {
					dst, ld = &c[i*ldc+jj], ldc
				} else if add != 0 {
					for r := 0; r < h; r++ {
						copy(tile[r*nr:r*nr+w], c[(i+r)*ldc+jj:])
					}
				}
				if !inPlace {
					fn(kq, ap, 0, &panel[0], dst, ld, add)
				} else {
					a := add
					if kqIn > 0 {
						j.kern.fnRowA(kqIn, &j.a[i*j.lda+p0], j.lda, &panel[0], dst, ld, add)
						a = 1
					}
					if kqIn < kq {
						fn(1, &s.a[0], 0, &panel[kqIn*nr*4], dst, ld, a)
					}
				}
				if dst == &tile[0] {
					for r := 0; r < h; r++ {
						copy(c[(i+r)*ldc+jj:(i+r)*ldc+jj+w], tile[r*nr:])
					}
				}
			}
		}
	}
}

// taskPairs is task for kernels with fnPairs.
func (j *int8Job) taskPairs(s *int8Scratch, r0, r1, c0, c1 int) {
	mr, nr, fn := j.kern.mr, j.kern.nr, j.kern.fnPairs
	nt := (c1 - c0 + nr - 1) / nr
	kmax := (min(kcInt8, j.k) + 1) &^ 1
	if cap(s.a16) < mr*kmax {
		s.a16 = make([]int16, mr*kmax)
	}
	if cap(s.b16) < nt*nr*kmax {
		s.b16 = make([]int16, nt*nr*kmax)
	}
	if cap(s.tile) < mr*nr {
		s.tile = make([]int32, mr*nr)
	}
	c, ldc, tile := j.c, j.ldc, s.tile[:mr*nr]
	for p0 := 0; p0 < j.k; p0 += kcInt8 {
		kb := min(kcInt8, j.k-p0)
		kp := (kb + 1) / 2
		packS8Pairs(s.b16[:nt*nr*kp*2], j.b, j.ldb, c0, c1, p0, kb, nr)
		add := 0
		if p0 > 0 {
			add = 1
		}
		for i := r0; i < r1; i += mr {
			h := min(mr, r1-i)
			packU8Pairs(s.a16[:mr*kp*2], j.a, j.lda, i, i+h, p0, kb)
			for jt := 0; jt < nt; jt++ {
				jj := c0 + jt*nr
				w := min(nr, c1-jj)
				dst, ld := &tile[0], nr
				if h == mr && w == nr {
					dst, ld = &c[i*ldc+jj], ldc
				} else if add != 0 {
					for r := 0; r < h; r++ {
						copy(tile[r*nr:r*nr+w], c[(i+r)*ldc+jj:])
					}
				}
				fn(kp, &s.a16[0], &s.b16[jt*nr*kp*2], dst, ld, add)
				if dst == &tile[0] {
					for r := 0; r < h; r++ {
						copy(c[(i+r)*ldc+jj:(i+r)*ldc+jj+w], tile[r*nr:])
					}
				}
			}
		}
	}
}

// packU8Pairs widens rows [r0,r1) and columns [p0,p0+kb) of A into one
// panel in the pairs layout; len(dst) fixes the panel height.
func packU8Pairs(dst []int16, a []uint8, lda, r0, r1, p0, kb int) {
	clear(dst)
	kp := (kb + 1) / 2
	mr := len(dst) / (2 * kp)
	for r := 0; r < r1-r0; r++ {
		for p, v := range a[(r0+r)*lda+p0:][:kb] {
			dst[((p/2)*mr+r)*2+p%2] = int16(v)
		}
	}
}

// packS8Pairs widens rows [p0,p0+kb) and columns [c0,c1) of B into
// nr-column panels in the pairs layout.
func packS8Pairs(dst []int16, b []int8, ldb, c0, c1, p0, kb, nr int) {
	clear(dst)
	kp := (kb + 1) / 2
	for j0 := c0; j0 < c1; j0 += nr {
		panel := dst[:nr*kp*2]
		dst = dst[nr*kp*2:]
		w := min(nr, c1-j0)
		for p := 0; p < kb; p++ {
			d := panel[(p/2)*nr*2+p%2:]
			for c, v := range b[(p0+p)*ldb+j0:][:w] {
				d[2*c] = int16(v)
			}
		}
	}
}

// packU8 copies rows [r0,r1) and columns [p0,p0+kb) of A into one mr-row
// panel in the int8Kernel layout, zero-padding rows past r1 and k to a
// multiple of 4.
func packU8(dst, a []uint8, lda, r0, r1, p0, kb, mr int) {
	kq := (kb + 3) / 4
	panel := dst[:mr*kq*4]
	h := r1 - r0
	for r := 0; r < mr; r++ {
		if r >= h {
			for q := 0; q < kq; q++ {
				clear(panel[(q*mr+r)*4 : (q*mr+r)*4+4])
			}
			continue
		}
		src := a[(r0+r)*lda+p0:][:kb]
		q := 0
		for ; 4*q+4 <= kb; q++ {
			*(*[4]uint8)(panel[(q*mr+r)*4:]) = *(*[4]uint8)(src[4*q:])
		}
		if q < kq {
			d := panel[(q*mr+r)*4 : (q*mr+r)*4+4]
			clear(d)
			copy(d, src[4*q:])
		}
	}
}

// packU8Tail packs the last rem (< 4) columns of mr rows of A, starting at
// a (row stride lda), as one zero-padded group of the packed layout.
func packU8Tail(dst, a []uint8, lda, rem, mr int) {
	for r := 0; r < mr; r++ {
		d := dst[4*r : 4*r+4]
		clear(d)
		copy(d, a[r*lda:r*lda+rem])
	}
}

// packS8 copies rows [p0,p0+kb) and columns [c0,c1) of B into nr-column
// panels in the int8Kernel layout, zero-padding columns past c1 and k to a
// multiple of 4.
func packS8(dst, b []int8, ldb, c0, c1, p0, kb, nr int) {
	kq := (kb + 3) / 4
	for j0 := c0; j0 < c1; j0 += nr {
		panel := dst[:nr*kq*4]
		dst = dst[nr*kq*4:]
		w := min(nr, c1-j0)
		if w < nr || kb%4 != 0 {
			clear(panel)
		}
		p := 0
		// Four rows in step write each column's 4 bytes together.
		for ; p+4 <= kb; p += 4 {
			r0 := b[(p0+p)*ldb+j0:][:w]
			r1 := b[(p0+p+1)*ldb+j0:][:w]
			r2 := b[(p0+p+2)*ldb+j0:][:w]
			r3 := b[(p0+p+3)*ldb+j0:][:w]
			d := panel[(p/4)*nr*4:][:4*w]
			// Whole groups of 16 columns go through interleave4.
			if v := w &^ 15; v > 0 {
				interleave4(&d[0], &r0[0], ldb, v)
				r0, r1, r2, r3 = r0[v:], r1[v:], r2[v:], r3[v:]
				d = d[4*v:]
			}
			for c := range r0 {
				q := d[4*c : 4*c+4 : 4*c+4]
				q[0], q[1], q[2], q[3] = r0[c], r1[c], r2[c], r3[c]
			}
		}
		for ; p < kb; p++ {
			q, t := p/4, p%4
			d := panel[q*nr*4+t:]
			for c, v := range b[(p0+p)*ldb+j0:][:w] {
				d[4*c] = v
			}
		}
	}
}

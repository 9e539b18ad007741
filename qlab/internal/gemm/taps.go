package gemm

import (
	"fmt"
	"math"
	"sync"
	"unsafe"
)

// Implicit-GEMM convolution on uint8 x int8. A convolution over NHWC input
// multiplies, for each output pixel, the concatenation of a few contiguous
// runs of input bytes (one per kernel tap: k·C channel bytes of one input
// pixel... or a whole row of them) by the weights. GemmU8S8Taps reads those
// runs in place, at fixed offsets ("taps") from the pixel's base address,
// instead of copying them into an im2col matrix first, and can requantize
// the int32 sums to uint8 in registers (RequantS8's output stage), so
// neither the patch matrix nor the accumulators ever reach memory.

// tapsNR is the column width of a PackedS8 panel, the kernels' tile width.
const tapsNR = 32

// tapsMR is the row height of a tile.
const tapsMR = 8

// PackedS8 is a k x n int8 matrix B, k = taps·kTap, packed once for
// GemmU8S8Taps: each tap's kTap rows padded with zero rows to a multiple of
// 4, then split into 32-column panels of 4-row groups (the VPDPBUSD
// layout). Packing constant weights once keeps it out of every call.
type PackedS8 struct {
	taps, kTap, n int
	kq            int    // 4-row groups per tap
	data          []int8 // panel jp at jp*taps*kq*128: group g, column c, byte u at (g*32+c)*4+u
}

// PackS8Taps packs B (taps·kTap rows of n columns, row stride ldb); row
// t·kTap + p of B multiplies byte p of tap t's run.
func PackS8Taps(taps, kTap, n int, b []int8, ldb int) *PackedS8 {
	if taps <= 0 || kTap <= 0 || n <= 0 {
		panic(fmt.Sprintf("gemm: PackS8Taps: bad dimensions taps=%d kTap=%d n=%d", taps, kTap, n))
	}
	checkLen("b", len(b), taps*kTap, n, ldb)
	kq := (kTap + 3) / 4
	panels := (n + tapsNR - 1) / tapsNR
	pb := &PackedS8{taps: taps, kTap: kTap, n: n, kq: kq, data: make([]int8, panels*taps*kq*tapsNR*4)}
	for jp := 0; jp < panels; jp++ {
		panel := pb.data[jp*taps*kq*tapsNR*4:]
		for t := 0; t < taps; t++ {
			for p := 0; p < kTap; p++ {
				g, u := t*kq+p/4, p%4
				row := b[(t*kTap+p)*ldb:]
				for c := 0; c < tapsNR && jp*tapsNR+c < n; c++ {
					panel[(g*tapsNR+c)*4+u] = row[jp*tapsNR+c]
				}
			}
		}
	}
	return pb
}

// N returns the number of columns of B.
func (b *PackedS8) N() int { return b.n }

// RequantS8 is the output stage GemmU8S8TapsRequant applies to each int32
// sum acc of column j in row i, exactly as gemmlowp/TFLite requantize:
//
//	v = acc + Bias[j] - ZB[j]·rowsum[i]     (int32, wrapping)
//	h = SaturatingRoundingDoublingHighMul(v, Mult[j])
//	q = RoundingDivideByPOT(h, Shift[j])
//	out = uint8(min(max(q, Lo), Hi) + Offset)
//
// Mult[j] must not be math.MinInt32 and 0 <= Shift[j] <= 31 (a real
// multiplier below 1); Lo+Offset and Hi+Offset must lie in [0, 255].
type RequantS8 struct {
	n              int
	tab            []int32 // per 32-column panel: tabRows rows of 32 (see NewRequantS8)
	consts         [3]int32
	bias, mult, zb []int32
	shift          []uint
	// Bounds for the kernels' shorter output stage (fastFor): the largest
	// |bias|, |zb| and rounding half 2^(shift-1).
	maxBias, maxZb, maxHalf int64
}

// tabRows is the number of 32-entry rows per panel of RequantS8.tab: bias,
// mult, rs, mask, thr, zb (int32 per column), then ke and ko (the int64
// rounding constant 2^30 + half·2^31 of the even and odd columns, 8 per
// 16-column half) and tf (half, or MinInt32 when shift is 0).
const tabRows = 9

// requantFast lets the kernels use the shorter output stage when fastFor
// allows it; tests turn it off to run the general one on the same data.
var requantFast = true

// NewRequantS8 builds the output stage for n = len(bias) columns; zb may be
// nil (symmetric weights: no row-sum term).
func NewRequantS8(bias, mult []int32, shift []int, zb []int32, lo, hi, offset int32) (*RequantS8, error) {
	n := len(bias)
	if len(mult) != n || len(shift) != n || (zb != nil && len(zb) != n) {
		return nil, fmt.Errorf("gemm: RequantS8: %d biases, %d multipliers, %d shifts, %d weight zero points", n, len(mult), len(shift), len(zb))
	}
	if lo > hi || lo+offset < 0 || hi+offset > 255 {
		return nil, fmt.Errorf("gemm: RequantS8: clamp [%d, %d] + %d outside [0, 255]", lo, hi, offset)
	}
	panels := (n + tapsNR - 1) / tapsNR
	r := &RequantS8{n: n, tab: make([]int32, panels*tabRows*tapsNR), consts: [3]int32{lo, hi, offset},
		bias: bias, mult: mult, zb: zb, shift: make([]uint, n)}
	for j := 0; j < n; j++ {
		if mult[j] == math.MinInt32 || shift[j] < 0 || shift[j] > 31 {
			return nil, fmt.Errorf("gemm: RequantS8: column %d: multiplier %d, shift %d", j, mult[j], shift[j])
		}
		r.shift[j] = uint(shift[j])
		c := j % tapsNR
		panel := r.tab[(j/tapsNR)*tabRows*tapsNR:]
		t := panel[c:]
		mask := int32(int64(1)<<shift[j] - 1)
		t[0], t[tapsNR], t[2*tapsNR], t[3*tapsNR], t[4*tapsNR] = bias[j], mult[j], int32(shift[j]), mask, mask>>1
		if zb != nil {
			t[5*tapsNR] = zb[j]
			r.maxZb = max(r.maxZb, abs64(int64(zb[j])))
		}
		var half int64
		thrFast := int32(math.MinInt32)
		if shift[j] > 0 {
			half = 1 << (shift[j] - 1)
			thrFast = int32(half)
		}
		// Lane l of a 16-column half is qword l/2 of the even (ke) or
		// odd (ko) row's 64 bytes for that half.
		k := int64(1)<<30 + half<<31
		row := 6 + c%2
		slot := row*tapsNR + (c/16)*16 + (c%16)/2*2
		panel[slot], panel[slot+1] = int32(uint32(k)), int32(k>>32)
		t[8*tapsNR] = thrFast
		r.maxBias = max(r.maxBias, abs64(int64(bias[j])))
		r.maxHalf = max(r.maxHalf, half)
	}
	return r, nil
}

func abs64(x int64) int64 { return max(x, -x) }

// fastFor reports whether the kernels' shorter output stage is exact for
// sums with |acc| <= accMax and row sums up to rowMax. That stage adds the
// rounding half of RoundingDivideByPOT to h = SRDHM(v, mult) in the 64-bit
// product and tells h < 0 from h + half < half, which holds while h + half
// fits int32; |h| <= |v| (mult < 2^31), so |v| + half < 2^31 suffices.
func (r *RequantS8) fastFor(accMax, rowMax int64) bool {
	v := accMax + r.maxBias + r.maxZb*rowMax
	return requantFast && v+r.maxHalf < 1<<31-1
}

// apply is the output stage for one value of column j (the portable path,
// and the oracle the assembly is tested against).
func (r *RequantS8) apply(acc int32, j int, rowsum int32) uint8 {
	v := acc + r.bias[j]
	if r.zb != nil {
		v -= r.zb[j] * rowsum
	}
	ab := int64(v) * int64(r.mult[j])
	h := int32((ab + 1<<30) >> 31) // equals gemmlowp's nudge-and-truncate form
	sh := r.shift[j]
	mask := int32(int64(1)<<sh - 1)
	thr := mask >> 1
	if h < 0 {
		thr++
	}
	q := h >> sh
	if h&mask > thr {
		q++
	}
	return uint8(min(max(q, r.consts[0]), r.consts[1]) + r.consts[2])
}

// tapsArgs is the argument block of tapsKernelVNNI; the assembly reads the
// fields at the offsets noted.
type tapsArgs struct {
	a      *uint8         // 0
	lda    int            // 8
	taps   *int           // 16
	ntaps  int            // 24
	kq     int            // 32
	b      *int8          // 40: the panel
	tab    *int32         // 48: RequantS8 table of the panel, nil for int32 output
	rowsum *int32         // 56: per row, nil when there is no row-sum term
	dst    unsafe.Pointer // 64: *uint8 or *int32
	ldd    int            // 72: elements
	rows   int            // 80: rows to store, 1..8
	mask0  uint64         // 88: columns 0-15 to store
	mask1  uint64         // 96: columns 16-31
	consts *int32         // 104: lo, hi, offset
	fast   uint64         // 112: nonzero: the shorter output stage (RequantS8.fastFor)
}

// tapsScratch holds a gathered tile for rows the kernel cannot read in
// place. A free list (not a sync.Pool, which the GC empties) keeps steady
// state calls allocation-free.
type tapsScratch struct {
	a []uint8
}

var (
	tapsMu   sync.Mutex
	tapsFree []*tapsScratch
)

func getTapsScratch() *tapsScratch {
	tapsMu.Lock()
	defer tapsMu.Unlock()
	if n := len(tapsFree); n > 0 {
		s := tapsFree[n-1]
		tapsFree = tapsFree[:n-1]
		return s
	}
	return new(tapsScratch)
}

func putTapsScratch(s *tapsScratch) {
	tapsMu.Lock()
	tapsFree = append(tapsFree, s)
	tapsMu.Unlock()
}

// GemmU8S8TapsInt32 sets, for rows i < m and columns j < n = b.N(),
//
//	c[i*ldc+j] = Σ_t Σ_{p<kTap} a[i*lda + taps[t] + p] · B[t*kTap+p][j]
//
// exactly (int32, wrapping as GemmU8S8 does): the product of B with the
// implicit matrix whose row i concatenates the runs a[i*lda+taps[t]:][:kTap].
// len(taps) and kTap must match b. It runs on the calling goroutine.
func GemmU8S8TapsInt32(m int, a []uint8, lda int, taps []int, b *PackedS8, c []int32, ldc int) {
	checkTaps(m, a, lda, taps, b)
	checkLen("c", len(c), m, b.n, ldc)
	tapsRun(m, a, lda, taps, b, nil, nil, unsafe.Pointer(unsafe.SliceData(c)), ldc)
}

// GemmU8S8TapsRequant is GemmU8S8TapsInt32 followed by rq's output stage:
// dst[i*ldd+j] = rq(acc[i][j], rowsum[i]). rowsum (m values) is needed only
// when rq has weight zero points: pass RowSumsTaps of the same operands.
func GemmU8S8TapsRequant(m int, a []uint8, lda int, taps []int, b *PackedS8, rq *RequantS8, rowsum []int32, dst []uint8, ldd int) {
	checkTaps(m, a, lda, taps, b)
	checkLen("dst", len(dst), m, b.n, ldd)
	if rq.n != b.n {
		panic(fmt.Sprintf("gemm: RequantS8 for %d columns, B has %d", rq.n, b.n))
	}
	if rq.zb != nil && len(rowsum) < m {
		panic(fmt.Sprintf("gemm: %d row sums for %d rows", len(rowsum), m))
	}
	tapsRun(m, a, lda, taps, b, rq, rowsum, unsafe.Pointer(unsafe.SliceData(dst)), ldd)
}

// RowSumsTaps sets sums[i] to the sum of row i of the implicit matrix of
// GemmU8S8TapsInt32 (kTap bytes at each tap), for the weight zero-point term.
func RowSumsTaps(m int, a []uint8, lda int, taps []int, kTap int, sums []int32) {
	for i := 0; i < m; i++ {
		var s int32
		for _, t := range taps {
			for _, v := range a[i*lda+t:][:kTap] {
				s += int32(v)
			}
		}
		sums[i] = s
	}
}

func checkTaps(m int, a []uint8, lda int, taps []int, b *PackedS8) {
	if len(taps) != b.taps {
		panic(fmt.Sprintf("gemm: %d taps, B packed for %d", len(taps), b.taps))
	}
	if m < 0 || lda < 0 {
		panic(fmt.Sprintf("gemm: m=%d lda=%d", m, lda))
	}
	if m == 0 {
		return
	}
	hi := 0
	for _, t := range taps {
		if t < 0 {
			panic(fmt.Sprintf("gemm: negative tap offset %d", t))
		}
		hi = max(hi, t)
	}
	if need := (m-1)*lda + hi + b.kTap; len(a) < need {
		panic(fmt.Sprintf("gemm: len(a)=%d, the taps of %d rows need %d", len(a), m, need))
	}
}

// tapsRun computes tiles of 8 rows. A whole tile reads A in place when kTap
// is a multiple of 4 (whole VPDPBUSD groups); a last ragged tile of m >= 8
// rows is moved back to end at row m (recomputing a few rows, with the same
// results), so it reads only rows < m; otherwise the tile's rows are
// gathered into a zero-padded scratch matrix first.
func tapsRun(m int, a []uint8, lda int, taps []int, b *PackedS8, rq *RequantS8, rowsum []int32, dst unsafe.Pointer, ldd int) {
	if m == 0 {
		return
	}
	if !hasTapsKernel {
		tapsGo(m, a, lda, taps, b, rq, rowsum, dst, ldd)
		return
	}
	panels := (b.n + tapsNR - 1) / tapsNR
	var args tapsArgs
	gather := b.kTap%4 != 0 || m < tapsMR
	var zeroTap = [1]int{0}
	var s *tapsScratch
	if gather {
		s = getTapsScratch()
		defer putTapsScratch(s)
		s.a = resize8(s.a, tapsMR*b.taps*b.kq*4)
	}
	esize := 4
	fast := false
	if rq != nil {
		esize = 1
		k := int64(b.taps * b.kq * 4)
		fast = rq.fastFor(k*255*128, k*255)
	}
	for i0 := 0; i0 < m; i0 += tapsMR {
		r0 := i0
		if !gather && r0+tapsMR > m {
			r0 = m - tapsMR
		}
		h := min(tapsMR, m-r0)
		args.lda, args.taps, args.ntaps, args.kq = lda, &taps[0], len(taps), b.kq
		args.a = &a[r0*lda]
		if gather {
			tapsGather(s.a, a, lda, taps, b.kTap, b.kq, r0, h)
			args.a, args.lda, args.taps, args.ntaps, args.kq = &s.a[0], b.taps*b.kq*4, &zeroTap[0], 1, b.taps*b.kq
		}
		args.rows = h
		args.rowsum = nil
		if rq != nil && rq.zb != nil {
			args.rowsum = &rowsum[r0]
		}
		if rq != nil {
			args.consts = &rq.consts[0]
			if fast {
				args.fast = 1
			}
		}
		for jp := 0; jp < panels; jp++ {
			w := min(tapsNR, b.n-jp*tapsNR)
			m32 := uint64(1)<<w - 1
			args.mask0, args.mask1 = m32&0xffff, m32>>16
			args.b = &b.data[jp*b.taps*b.kq*tapsNR*4]
			args.dst = unsafe.Add(dst, (r0*ldd+jp*tapsNR)*esize)
			args.ldd = ldd
			args.tab = nil
			if rq != nil {
				args.tab = &rq.tab[jp*tabRows*tapsNR]
			}
			tapsKernelVNNI(&args)
		}
	}
}

// tapsGather copies the h rows from r0 of the implicit matrix into dst as
// an 8-row matrix (row stride taps·kq·4), each tap's run zero-padded to a
// multiple of 4 bytes, rows past h zero.
func tapsGather(dst, a []uint8, lda int, taps []int, kTap, kq, r0, h int) {
	ld := len(taps) * kq * 4
	clear(dst[:tapsMR*ld])
	for r := 0; r < h; r++ {
		for t, off := range taps {
			copy(dst[r*ld+t*kq*4:][:kTap], a[(r0+r)*lda+off:][:kTap])
		}
	}
}

// tapsGo is the portable path, and the oracle for the kernel: the same
// sums (integer, so in any order) and the same output stage.
func tapsGo(m int, a []uint8, lda int, taps []int, b *PackedS8, rq *RequantS8, rowsum []int32, dst unsafe.Pointer, ldd int) {
	var accBuf [tapsNR]int32
	n, kq := b.n, b.kq
	panels := (n + tapsNR - 1) / tapsNR
	for i := 0; i < m; i++ {
		for jp := 0; jp < panels; jp++ {
			panel := b.data[jp*b.taps*kq*tapsNR*4:]
			acc := accBuf[:]
			clear(acc)
			for t, off := range taps {
				run := a[i*lda+off:][:b.kTap]
				for p, v := range run {
					if v == 0 {
						continue
					}
					x := int32(v)
					g := panel[((t*kq+p/4)*tapsNR)*4+p%4:]
					for c := range acc {
						acc[c] += x * int32(g[4*c])
					}
				}
			}
			w := min(tapsNR, n-jp*tapsNR)
			for c := 0; c < w; c++ {
				j := jp*tapsNR + c
				if rq == nil {
					*(*int32)(unsafe.Add(dst, (i*ldd+j)*4)) = acc[c]
					continue
				}
				var rs int32
				if rq.zb != nil {
					rs = rowsum[i]
				}
				*(*uint8)(unsafe.Add(dst, i*ldd+j)) = rq.apply(acc[c], j, rs)
			}
		}
	}
}

func resize8(s []uint8, n int) []uint8 {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]uint8, n)
}

// U8S8TapsFast reports whether GemmU8S8Taps has an assembly kernel on this
// CPU (AVX-512 VNNI); without one it runs a portable loop, and callers with
// an alternative (im2col with GemmU8S8, which has an AVX2 kernel) should
// prefer that.
func U8S8TapsFast() bool { return hasTapsKernel }

// PackedDW holds depthwise weights for DepthwiseTapsRequant: one int16
// weight per tap and channel, widened to int32 lanes.
type PackedDW struct {
	taps, c int
	w       []int32 // [tap][channel]
	maxW    int64   // largest |weight|
}

// PackDW packs w ([tap][channel], taps·c values, each in [-32768, 32767]).
func PackDW(taps, c int, w []int32) (*PackedDW, error) {
	if taps <= 0 || c <= 0 || len(w) != taps*c {
		return nil, fmt.Errorf("gemm: PackDW: %d weights for %d taps x %d channels", len(w), taps, c)
	}
	for i, v := range w {
		if v < math.MinInt16 || v > math.MaxInt16 {
			return nil, fmt.Errorf("gemm: PackDW: weight %d = %d outside int16", i, v)
		}
	}
	pw := &PackedDW{taps: taps, c: c, w: append([]int32(nil), w...)}
	for _, v := range w {
		pw.maxW = max(pw.maxW, abs64(int64(v)))
	}
	return pw, nil
}

// dwArgs is the argument block of dwKernelVNNI; the assembly reads the
// fields at the offsets noted.
type dwArgs struct {
	x      *uint8 // 0: first pixel's base
	xstep  int    // 8: bytes between consecutive pixels' bases
	taps   *int   // 16
	ntaps  int    // 24
	w      *int32 // 32
	c      int    // 40
	pixels int    // 48
	tab    *int32 // 56
	dst    *uint8 // 64
	consts *int32 // 72
	ldd    int    // 80
}

// DepthwiseTapsRequant is a depthwise convolution over in-place taps: for
// pixels i < m and channels j < c,
//
//	acc = Σ_t a[i*lda + taps[t] + j] · W[t][j]
//	dst[i*ldd + j] = rq(acc)   (rq's output stage, without a row-sum term)
//
// so with an input padded by its zero point za, rq's bias should hold
// bias - za·Σ_t W[t][j]. It runs on the calling goroutine.
func DepthwiseTapsRequant(m int, a []uint8, lda int, taps []int, w *PackedDW, rq *RequantS8, dst []uint8, ldd int) {
	if len(taps) != w.taps || rq.n != w.c || rq.zb != nil {
		panic(fmt.Sprintf("gemm: depthwise with %d taps, %d channels and an output stage for %d (row sums %v); weights for %d taps, %d channels",
			len(taps), rq.n, rq.n, rq.zb != nil, w.taps, w.c))
	}
	if m <= 0 {
		return
	}
	hi := 0
	for _, t := range taps {
		if t < 0 {
			panic(fmt.Sprintf("gemm: negative tap offset %d", t))
		}
		hi = max(hi, t)
	}
	if need := (m-1)*lda + hi + w.c; len(a) < need {
		panic(fmt.Sprintf("gemm: len(a)=%d, the taps of %d pixels need %d", len(a), m, need))
	}
	checkLen("dst", len(dst), m, w.c, ldd)
	if !hasTapsKernel {
		dwGo(m, a, lda, taps, w, rq, dst, ldd)
		return
	}
	if len(taps) == 9 && taps[0] == 0 && taps[1] > 0 && taps[2] == 2*taps[1] && taps[3] > 0 &&
		taps[4] == taps[3]+taps[1] && taps[5] == taps[3]+2*taps[1] &&
		taps[6] == 2*taps[3] && taps[7] == 2*taps[3]+taps[1] && taps[8] == 2*taps[3]+2*taps[1] && taps[1] == w.c {
		// A 3x3 window over pixels of w.c channels, rows taps[3] apart.
		args := dw3Args{x: &a[0], xstep: lda, rowb: taps[3], c: w.c, pixels: m, w: &w.w[0],
			tab: &rq.tab[0], dst: &dst[0], consts: &rq.consts[0], ldd: ldd}
		if rq.fastFor(int64(len(taps))*255*w.maxW, 0) {
			args.fast = 1
		}
		dw3x3KernelVNNI(&args)
		return
	}
	args := dwArgs{x: &a[0], xstep: lda, taps: &taps[0], ntaps: len(taps), w: &w.w[0], c: w.c,
		pixels: m, tab: &rq.tab[0], dst: &dst[0], consts: &rq.consts[0], ldd: ldd}
	dwKernelVNNI(&args)
}

// dw3Args is the argument block of dw3x3KernelVNNI.
type dw3Args struct {
	x      *uint8 // 0
	xstep  int    // 8
	rowb   int    // 16: bytes between kernel rows
	c      int    // 24
	pixels int    // 32
	w      *int32 // 40
	tab    *int32 // 48
	consts *int32 // 56
	dst    *uint8 // 64
	ldd    int    // 72
	fast   int    // 80: nonzero: the shorter output stage (RequantS8.fastFor)
}

// dwGo is the portable path of DepthwiseTapsRequant.
func dwGo(m int, a []uint8, lda int, taps []int, w *PackedDW, rq *RequantS8, dst []uint8, ldd int) {
	c := w.c
	for i := 0; i < m; i++ {
		for j := 0; j < c; j++ {
			var acc int32
			for t, off := range taps {
				acc += int32(a[i*lda+off+j]) * w.w[t*c+j]
			}
			dst[i*ldd+j] = rq.apply(acc, j, 0)
		}
	}
}

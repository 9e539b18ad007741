package quant

import (
	"github.com/qlab-dev/qlab/qlab/internal/gemm"
)

// The direct (implicit-GEMM) path of convStep: no im2col. The input is
// copied once into a zero-point-padded NHWC plane whose channel count is
// rounded up to a multiple of 4 (only when the layer pads or the channel
// count needs it), and gemm.GemmU8S8TapsRequant reads each output pixel's
// k·k input pixels in place at fixed offsets from its top-left one, with
// the weights packed once at build time and requantization, clamp and zero
// point applied to the accumulators in registers. Results are those of the
// im2col path bit for bit: the same exact int32 sums, the same fixed-point
// output stage (gemm's tests check both against gemmlowp's definitions).

// directConv is the state of convStep's direct path.
type directConv struct {
	c4   int // input channels rounded up to a multiple of 4
	b    *gemm.PackedS8
	rq   *gemm.RequantS8
	taps []int
	tapW int // padded input width taps was built for

	xpad                  []uint8 // padded input, when the layer pads or c4 > inC
	hp, wp                int
	src                   []uint8 // what the kernel reads: xpad or the input itself
	padFn, rowFn, pixelFn func(lo, hi int)
}

// newDirectConv prepares the direct path of c, or returns nil when it does
// not apply: no fast kernel on this CPU, or a multiplier >= 1 somewhere
// (the output stage takes right shifts only).
func newDirectConv(c *convStep) *directConv {
	if !gemm.U8S8TapsFast() {
		return nil
	}
	mult, shift := make([]int32, c.outC), make([]int, c.outC)
	for o, r := range c.rq {
		if r.shift > 0 {
			return nil
		}
		mult[o], shift[o] = r.mult, int(r.rs)
	}
	var zb []int32
	if c.anyZb {
		zb = c.zb
	}
	rq, err := gemm.NewRequantS8(c.biasEff, mult, shift, zb, c.clamp.lo, c.clamp.hi, c.clamp.zu)
	if err != nil {
		return nil
	}
	d := &directConv{c4: (c.inC + 3) &^ 3, rq: rq}
	if c.dense {
		d.c4 = c.inC // a flat input is never copied; odd widths are gathered by gemm
	}
	// Weights as [(t*c4 + ci), out] with zero rows for padding channels.
	kk := c.k * c.k
	b := make([]int8, kk*d.c4*c.outC)
	for t := 0; t < kk; t++ {
		for ci := 0; ci < c.inC; ci++ {
			copy(b[(t*d.c4+ci)*c.outC:][:c.outC], c.b[(t*c.inC+ci)*c.outC:][:c.outC])
		}
	}
	d.b = gemm.PackS8Taps(kk, d.c4, c.outC, b, c.outC)
	d.padFn, d.rowFn, d.pixelFn = c.padChunk, c.rowChunk, c.pixelChunk
	return d
}

// inPlace reports whether the kernel reads c's input as it is: no padding
// and whole groups of 4 channels (or a flat input).
func (d *directConv) inPlace(c *convStep) bool {
	return c.dense || (c.pad == 0 && d.c4 == c.inC)
}

// runDirect computes c.y from c.x on the direct path (c.y sized by run).
func (c *convStep) runDirect() {
	d, x := c.direct, c.x
	if d.inPlace(c) {
		d.src, d.hp, d.wp = x.u, x.h, x.w
	} else {
		d.hp, d.wp = x.h+2*c.pad, x.w+2*c.pad
		d.xpad = resize(d.xpad, x.n*d.hp*d.wp*d.c4)
		d.src = d.xpad
		gemm.ParallelFor(x.n, max(1, (1<<16)/(d.hp*d.wp*d.c4)), d.padFn)
	}
	if d.tapW != d.wp || d.taps == nil {
		d.taps = d.taps[:0]
		for ky := 0; ky < c.k; ky++ {
			for kx := 0; kx < c.k; kx++ {
				d.taps = append(d.taps, (ky*d.wp+kx)*d.c4)
			}
		}
		d.tapW = d.wp
	}
	macs := c.k * c.k * c.inC * c.outC
	if c.k == 1 && c.stride == 1 && c.pad == 0 {
		// Pixels are independent rows: chunks of whole tiles.
		rows := x.n * x.h * x.w
		gemm.ParallelFor(rows, max(64, (1<<20)/max(macs, 1))&^7, d.pixelFn)
		return
	}
	gemm.ParallelFor(x.n*c.oh, max(1, (1<<18)/max(c.ow*macs, 1)), d.rowFn)
}

// padChunk copies samples [lo, hi) of c.x into the padded plane.
func (c *convStep) padChunk(lo, hi int) {
	d, x := c.direct, c.x
	pv := uint8(c.za)
	C, c4, p := x.c, d.c4, c.pad
	for b := lo; b < hi; b++ {
		plane := d.xpad[b*d.hp*d.wp*c4:][:d.hp*d.wp*c4]
		fillPixels(plane[:p*d.wp*c4], pv, C, c4)
		fillPixels(plane[(p+x.h)*d.wp*c4:], pv, C, c4)
		for y := 0; y < x.h; y++ {
			row := plane[(p+y)*d.wp*c4:][:d.wp*c4]
			fillPixels(row[:p*c4], pv, C, c4)
			fillPixels(row[(p+x.w)*c4:], pv, C, c4)
			src := x.u[(b*x.h+y)*x.w*C:][:x.w*C]
			if c4 == C {
				copy(row[p*c4:], src)
				continue
			}
			dst := row[p*c4 : (p+x.w)*c4]
			for i := 0; i < x.w; i++ {
				// Padding channels hold 0: their weights are 0, and the
				// row sums of asymmetric weights must not see them.
				copy(dst[i*c4:i*c4+C], src[i*C:])
				clear(dst[i*c4+C : (i+1)*c4])
			}
		}
	}
}

// rowChunk computes output rows [lo, hi) of (sample, oy).
func (c *convStep) rowChunk(lo, hi int) {
	d := c.direct
	var s *convScratch
	if c.anyZb {
		s = getScratch()
		s.rows = resize(s.rows, c.ow)
	}
	lda := c.stride * d.c4
	for r := lo; r < hi; r++ {
		b, oy := r/c.oh, r%c.oh
		a := d.src[((b*d.hp+oy*c.stride)*d.wp)*d.c4:]
		dst := c.y.u[r*c.ow*c.outC:][:c.ow*c.outC]
		var rowsum []int32
		if s != nil {
			gemm.RowSumsTaps(c.ow, a, lda, d.taps, d.c4, s.rows)
			rowsum = s.rows
		}
		gemm.GemmU8S8TapsRequant(c.ow, a, lda, d.taps, d.b, d.rq, rowsum, dst, c.outC)
	}
	if s != nil {
		putScratch(s)
	}
}

// pixelChunk computes output pixels [lo, hi) of a 1x1 convolution (or a
// Dense layer): the input rows are the patches.
func (c *convStep) pixelChunk(lo, hi int) {
	d := c.direct
	C := d.c4
	a := d.src[lo*C : hi*C]
	dst := c.y.u[lo*c.outC : hi*c.outC]
	var rowsum []int32
	var s *convScratch
	if c.anyZb {
		s = getScratch()
		s.rows = resize(s.rows, hi-lo)
		gemm.RowSumsTaps(hi-lo, a, C, d.taps, C, s.rows)
		rowsum = s.rows
	}
	gemm.GemmU8S8TapsRequant(hi-lo, a, C, d.taps, d.b, d.rq, rowsum, dst, c.outC)
	if s != nil {
		putScratch(s)
	}
}

// fillPixels sets the first C of every c4 channels of the pixels in s to v
// (padding pixels: real 0) and the rest to 0.
func fillPixels(s []uint8, v uint8, C, c4 int) {
	if C == c4 {
		fill(s, v)
		return
	}
	for i := 0; i+c4 <= len(s); i += c4 {
		fill(s[i:i+C], v)
		clear(s[i+C : i+c4])
	}
}

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

	in             padder
	rowFn, pixelFn func(lo, hi int)
}

// padder copies an activation into a plane padded by pad pixels of the
// zero point on every side, with c4 >= C channels per pixel (the extra ones
// 0), for kernels that read every tap in place.
type padder struct {
	buf    []uint8
	hp, wp int
	c4     int
	pad    int
	za     uint8
	src    []uint8 // what the kernel reads: buf, or the input itself
	x      *intAct
	fn     func(lo, hi int)
	// The border (and padding channels) of buf depend only on the shape:
	// written for bordered, kept while the shape stays.
	bordered    [3]int
	writeBorder bool
	// prefilled: the interior was written by the caller (IntModel.Forward
	// quantizing its input straight into the plane); build only borders.
	prefilled bool
	// active: between plan and done, chunk has samples to copy or borders
	// to write.
	active bool
}

// build makes p.src the padded x (x itself when nothing needs padding).
func (p *padder) build(x *intAct) {
	p.plan(x)
	if p.active {
		gemm.ParallelFor(x.n, max(1, (1<<16)/(p.hp*p.wp*p.c4)), p.fn)
	}
	p.done()
}

// plan sizes the plane for x and makes p.src what the kernel reads; when
// that is the plane and something in it must be written, p.active is set
// and chunk writes it sample by sample until done.
func (p *padder) plan(x *intAct) {
	p.active = false
	if p.pad == 0 && p.c4 == x.c && !p.prefilled {
		p.src, p.hp, p.wp = x.u, x.h, x.w
		return
	}
	if p.fn == nil {
		p.fn = p.chunk
	}
	p.size(x.n, x.h, x.w)
	if p.prefilled && !p.writeBorder {
		return
	}
	p.x, p.active = x, true
}

// done ends what plan started: the border is written.
func (p *padder) done() {
	if p.active {
		p.x, p.active, p.writeBorder = nil, false, false
	}
}

// size sizes the padded plane for n samples of h x w pixels; the border is
// (re)written by the next build when the shape or the buffer changed.
func (p *padder) size(n, h, w int) {
	p.hp, p.wp = h+2*p.pad, w+2*p.pad
	sz := n * p.hp * p.wp * p.c4
	shape := [3]int{n, h, w}
	p.writeBorder = p.writeBorder || shape != p.bordered || cap(p.buf) < sz
	p.buf = resize(p.buf, sz)
	p.bordered = shape
	p.src = p.buf
}

// row returns interior row y of sample b's plane: w pixels of c4 bytes.
func (p *padder) row(b, y, w int) []uint8 {
	return p.buf[((b*p.hp+y+p.pad)*p.wp+p.pad)*p.c4:][:w*p.c4]
}

// interior returns the padded plane of sample b and the offset of its
// first interior pixel; pixel (y, x) of the input is at
// off + (y*wp + x)*c4.
func (p *padder) interior(b int) (plane []uint8, off int) {
	return p.buf[b*p.hp*p.wp*p.c4:][:p.hp*p.wp*p.c4], (p.pad*p.wp + p.pad) * p.c4
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
	d.in = padder{c4: d.c4, pad: c.pad, za: uint8(c.za)}
	// Weights as [(t*c4 + ci), out] with zero rows for padding channels.
	kk := c.k * c.k
	b := make([]int8, kk*d.c4*c.outC)
	for t := 0; t < kk; t++ {
		for ci := 0; ci < c.inC; ci++ {
			copy(b[(t*d.c4+ci)*c.outC:][:c.outC], c.b[(t*c.inC+ci)*c.outC:][:c.outC])
		}
	}
	// One tap per kernel row: the k pixels of a row are contiguous in the
	// plane, so their k·c4 bytes are one run (row t·k·c4 + kx·c4 + ci of b).
	d.b = gemm.PackS8Taps(c.k, c.k*d.c4, c.outC, b, c.outC)
	d.rowFn, d.pixelFn = c.rowChunk, c.pixelChunk
	return d
}

// planDirect prepares the direct path for c.x (c.y sized by plan).
func (c *convStep) planDirect() {
	d, x := c.direct, c.x
	if c.dense {
		d.in.src, d.in.hp, d.in.wp, d.in.active = x.u, 1, 1, false
	} else {
		d.in.plan(x)
	}
	d.taps = d.taps[:0]
	for ky := 0; ky < c.k; ky++ {
		d.taps = append(d.taps, ky*d.in.wp*d.c4)
	}
}

// samplesDirect computes samples [lo, hi) on the direct path.
func (c *convStep) samplesDirect(lo, hi int) {
	d := c.direct
	if d.in.active {
		d.in.chunk(lo, hi)
	}
	if c.k == 1 && c.stride == 1 && c.pad == 0 {
		hw := c.x.h * c.x.w
		c.pixelChunk(lo*hw, hi*hw)
		return
	}
	c.rowChunk(lo*c.oh, hi*c.oh)
}

// runDirect computes c.y from c.x on the direct path, layer-parallel
// (planDirect done).
func (c *convStep) runDirect() {
	d, x := c.direct, c.x
	if d.in.active {
		gemm.ParallelFor(x.n, max(1, (1<<16)/(d.in.hp*d.in.wp*d.in.c4)), d.in.fn)
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

// tapOffsets returns the byte offsets of the k x k taps in a plane of
// width wp with c4 bytes per pixel, reusing s.
func tapOffsets(s []int, k, wp, c4 int) []int {
	s = s[:0]
	for ky := 0; ky < k; ky++ {
		for kx := 0; kx < k; kx++ {
			s = append(s, (ky*wp+kx)*c4)
		}
	}
	return s
}

// chunk copies samples [lo, hi) of p.x into the padded plane.
func (p *padder) chunk(lo, hi int) {
	x, pv, C, c4, pd, hp, wp := p.x, p.za, p.x.c, p.c4, p.pad, p.hp, p.wp
	for b := lo; b < hi; b++ {
		plane := p.buf[b*hp*wp*c4:][:hp*wp*c4]
		if p.writeBorder {
			fillPixels(plane[:pd*wp*c4], pv, C, c4)
			fillPixels(plane[(pd+x.h)*wp*c4:], pv, C, c4)
		}
		for y := 0; y < x.h; y++ {
			row := plane[(pd+y)*wp*c4:][:wp*c4]
			if p.writeBorder {
				fillPixels(row[:pd*c4], pv, C, c4)
				fillPixels(row[(pd+x.w)*c4:], pv, C, c4)
			}
			if p.prefilled {
				continue
			}
			src := x.u[(b*x.h+y)*x.w*C:][:x.w*C]
			if c4 == C {
				copy(row[pd*c4:], src)
				continue
			}
			// Padding channels hold 0 (written with the border): their
			// weights are 0, and the row sums of asymmetric weights must
			// not see them.
			dst := row[pd*c4 : (pd+x.w)*c4]
			if p.writeBorder {
				clear(dst)
			}
			for i := 0; i < x.w; i++ {
				d, s := dst[i*c4:i*c4+C], src[i*C:i*C+C]
				for j := range d {
					d[j] = s[j]
				}
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
		a := d.in.src[((b*d.in.hp+oy*c.stride)*d.in.wp)*d.c4:]
		dst := c.y.u[r*c.ow*c.outC:][:c.ow*c.outC]
		if c.link != nil {
			dst = c.link.row(b, oy, c.ow)
		}
		var rowsum []int32
		if s != nil {
			gemm.RowSumsTaps(c.ow, a, lda, d.taps, c.k*d.c4, s.rows)
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
	var s *convScratch
	if c.anyZb {
		s = getScratch()
		defer putScratch(s)
	}
	for lo < hi {
		end := hi
		var dst []uint8
		if c.link != nil {
			// One image row at a time: rows are apart in the padded plane.
			hw := c.oh * c.ow
			b, rem := lo/hw, lo%hw
			oy, ox := rem/c.ow, rem%c.ow
			end = min(hi, lo+c.ow-ox)
			dst = c.link.row(b, oy, c.ow)[ox*c.outC:][:(end-lo)*c.outC]
		} else {
			dst = c.y.u[lo*c.outC : end*c.outC]
		}
		a := d.in.src[lo*C : end*C]
		var rowsum []int32
		if s != nil {
			s.rows = resize(s.rows, end-lo)
			gemm.RowSumsTaps(end-lo, a, C, d.taps, C, s.rows) // k = 1
			rowsum = s.rows
		}
		gemm.GemmU8S8TapsRequant(end-lo, a, C, d.taps, d.b, d.rq, rowsum, dst, c.outC)
		lo = end
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

// directDW is the state of dwStep's direct path: gemm.DepthwiseTapsRequant
// on a zero-point-padded copy of the input, the zero point folded into the
// bias (padding taps then add 0), requantization in registers.
type directDW struct {
	w     *gemm.PackedDW
	rq    *gemm.RequantS8
	in    padder
	taps  []int
	rowFn func(lo, hi int)
}

// newDirectDW prepares d's direct path, or returns nil when it does not
// apply (no fast kernel, a channel multiplier, a multiplier >= 1).
func newDirectDW(d *dwStep) *directDW {
	if !gemm.U8S8TapsFast() || d.mult != 1 {
		return nil
	}
	kk, C := d.k*d.k, d.ch
	mult, shift, bias := make([]int32, C), make([]int, C), make([]int32, C)
	for o, r := range d.rq {
		if r.shift > 0 {
			return nil
		}
		mult[o], shift[o] = r.mult, int(r.rs)
		bias[o] = d.bias[o]
		for t := 0; t < kk; t++ {
			bias[o] -= d.za * d.w[t*C+o]
		}
	}
	rq, err := gemm.NewRequantS8(bias, mult, shift, nil, d.clamp.lo, d.clamp.hi, d.clamp.zu)
	if err != nil {
		return nil
	}
	w, err := gemm.PackDW(kk, C, d.w)
	if err != nil {
		return nil
	}
	dd := &directDW{w: w, rq: rq, in: padder{c4: C, pad: d.pad, za: uint8(d.za)}}
	dd.rowFn = d.rowChunk
	return dd
}

// planDirect prepares the direct path for d.x.
func (d *dwStep) planDirect() {
	dd := d.direct
	dd.in.plan(d.x)
	dd.taps = tapOffsets(dd.taps, d.k, dd.in.wp, d.ch)
}

// samplesDirect computes samples [lo, hi) on the direct path.
func (d *dwStep) samplesDirect(lo, hi int) {
	if d.direct.in.active {
		d.direct.in.chunk(lo, hi)
	}
	d.rowChunk(lo*d.oh, hi*d.oh)
}

// runDirect computes d.y from d.x on the direct path, layer-parallel
// (planDirect done).
func (d *dwStep) runDirect() {
	dd := d.direct
	if dd.in.active {
		gemm.ParallelFor(d.x.n, max(1, (1<<16)/(dd.in.hp*dd.in.wp*dd.in.c4)), dd.in.fn)
	}
	gemm.ParallelFor(d.x.n*d.oh, max(1, (1<<15)/(d.ow*d.ch*d.k*d.k)), dd.rowFn)
}

// rowChunk computes output rows [lo, hi) of (sample, oy).
func (d *dwStep) rowChunk(lo, hi int) {
	dd, C := d.direct, d.ch
	for r := lo; r < hi; r++ {
		b, oy := r/d.oh, r%d.oh
		a := dd.in.src[((b*dd.in.hp+oy*d.stride)*dd.in.wp)*C:]
		dst := d.y.u[r*d.ow*C:][:d.ow*C]
		if d.link != nil {
			dst = d.link.row(b, oy, d.ow)
		}
		gemm.DepthwiseTapsRequant(d.ow, a, d.stride*C, dd.taps, dd.w, dd.rq, dst, C)
	}
}

// A link lets a step write its output straight into the padded input
// plane of the step after it (IntModel.Forward sets links for the length
// of a forward; a step run on its own writes its y). The consumer's
// padder then only writes its border.
type planeLink struct {
	set      func(*padder) // the producer's link field
	consumer *padder
}

// padderOf returns the padded plane s reads when it is a consumer a
// producer can write into: a direct 3x3-like convolution or depthwise
// step that pads and takes its input's channels as they are.
func padderOf(s intStep) *padder {
	switch t := s.(type) {
	case *convStep:
		if t.direct != nil && !t.dense && t.pad > 0 && t.direct.c4 == t.inC {
			return &t.direct.in
		}
	case *dwStep:
		if t.direct != nil && t.pad > 0 {
			return &t.direct.in
		}
	}
	return nil
}

// linker returns how to point producer s at a consumer's plane, or nil
// when s cannot write into one.
func linker(s intStep) func(*padder) {
	switch t := s.(type) {
	case *convStep:
		if t.direct != nil && !t.dense {
			return func(p *padder) { t.link = p }
		}
	case *dwStep:
		if t.direct != nil {
			return func(p *padder) { t.link = p }
		}
	case *maxPoolStep:
		return func(p *padder) { t.link = p }
	}
	return nil
}

// findLinks returns the producer/consumer pairs of consecutive steps.
func findLinks(steps []intStep) []planeLink {
	var ls []planeLink
	for i := 0; i+1 < len(steps); i++ {
		if set, p := linker(steps[i]), padderOf(steps[i+1]); set != nil && p != nil {
			ls = append(ls, planeLink{set: set, consumer: p})
		}
	}
	return ls
}

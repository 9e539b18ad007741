package quant

import (
	"fmt"
	"math"
	"math/bits"
	"sync"

	"github.com/qlab-dev/qlab/qlab/internal/gemm"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// The integer engine keeps activations as uint8 in NHWC order between
// layers: a convolution's GEMM output [pixel, channel] is then already the
// next layer's input layout (no transpose), im2col copies whole channel
// vectors, and a 1x1 convolution or Dense reads its input in place. Signed
// 8-bit codes are stored shifted by 128 (u = code + off), so one unsigned
// GEMM kernel serves every 8-bit scheme. Every step owns its output buffer
// and reuses it across calls, so a steady-state forward allocates nothing;
// parallel work is split into chunks fixed by the shapes alone and integer
// arithmetic is exact, so results are bit-identical for any GOMAXPROCS.
//
// On CPUs with AVX-512 VNNI, convolutions and depthwise convolutions take
// the direct path of intexec_taps.go instead of im2col: the kernels read
// each output pixel's taps in place in a zero-point-padded plane and
// requantize in registers. In IntModel.Forward the input is quantized
// straight into the first such plane, and a layer whose successor reads a
// padded plane writes its rows into it (see planeLink); the im2col path and
// the portable loops remain for other CPUs and the purego build.

// intAct is an activation inside the integer engine.
type intAct struct {
	n, h, w, c int
	flat       bool    // logical shape (N, C), with h = w = 1
	u          []uint8 // NHWC; code = int32(u) - off
	p          *QParams
	off        int32
}

// intStep is one layer (or fused group) of the integer engine. run returns
// the step's own output, valid until its next run, computed with the work
// of this one layer split over the cores.
//
// IntModel.Forward instead runs the whole network sample-parallel: plan
// checks the input shape, sizes every buffer for the batch and returns the
// output (whose bytes are not yet written), then samples computes samples
// [lo, hi) of that output from samples [lo, hi) of the planned input, in
// chunks of samples that each pass through every layer while their
// activations are in cache, with one fork and join per forward instead of
// one per layer; finish ends the batch. Every output byte is the same
// function of the same input bytes on either path.
type intStep interface {
	run(x *intAct) (*intAct, error)
	plan(x *intAct) (*intAct, error)
	samples(lo, hi int)
	finish()
}

// codeOffset is what the engine adds to codes of p to store them as uint8.
func codeOffset(p *QParams) int32 {
	if p.QMin < 0 {
		return 128
	}
	return 0
}

// is8Bit reports whether p's codes fit the engine's uint8 storage.
func is8Bit(p *QParams) bool {
	return p != nil && len(p.Scale) == 1 && len(p.ZeroPoint) == 1 &&
		p.QMax-p.QMin <= 255 && p.QMin >= -128 && p.QMax <= 255
}

// requant holds one output channel's fixed-point rescale: mult with a right
// shift (rs) when the real multiplier is below 1, the common case, or the
// general shift for requantize otherwise.
type requant struct {
	mult  int32
	shift int
	rs    uint
	mask  int32
}

func newRequant(real float64) (requant, error) {
	m, sh := QuantizeMultiplier(real)
	if sh > 30 || sh < -31 {
		return requant{}, fmt.Errorf("requantization multiplier %g out of range", real)
	}
	r := requant{mult: m, shift: sh}
	if sh <= 0 {
		r.rs = uint(-sh)
		r.mask = int32(int64(1)<<r.rs - 1)
	}
	return r, nil
}

// apply is requantize(x, r.mult, r.shift): SaturatingRoundingDoublingHighMul
// then RoundingDivideByPOT, written out so the hot loops inline it (mult is
// never math.MinInt32 here, so the saturating case cannot occur).
func (r *requant) apply(x int32) int32 {
	if r.shift > 0 {
		return requantize(x, r.mult, r.shift)
	}
	ab := int64(x) * int64(r.mult)
	if ab >= 0 {
		ab += 1 << 30
	} else {
		ab += 1 - 1<<30
	}
	h := int32(ab / (1 << 31))
	thr := r.mask >> 1
	if h < 0 {
		thr++
	}
	q := h >> r.rs
	if h&r.mask > thr {
		q++
	}
	return q
}

// outClamp is the output side of a requantizing step: codes q (before the
// zero point) are clamped to [lo, hi] and stored as q + zu.
type outClamp struct {
	lo, hi, zu int32
}

// newOutClamp returns the clamp for out with fused activation act.
func newOutClamp(out *QParams, act string) (outClamp, error) {
	lo, hi, err := actClamp(out, act)
	if err != nil {
		return outClamp{}, err
	}
	zo := out.ZeroPoint[0]
	return outClamp{lo: lo - zo, hi: hi - zo, zu: zo + codeOffset(out)}, nil
}

func (c *outClamp) store(q int32) uint8 { return uint8(min(max(q, c.lo), c.hi) + c.zu) }

// rqTable is a requantizing output pass over whole rows of accumulators:
// per-channel requant and one clamp, with the int64 lane tables of the
// AVX-512 kernel when every channel's multiplier is below 1.
type rqTable struct {
	rq                  []requant
	clamp               outClamp
	simd                bool
	mult, rs, half, neg []int64
	clamp64             [3]int64
}

func newRQTable(rq []requant, cl outClamp) *rqTable {
	t := &rqTable{rq: rq, clamp: cl, simd: hasRequantAVX512}
	for _, r := range rq {
		t.simd = t.simd && r.shift <= 0
	}
	if !t.simd {
		return t
	}
	n := len(rq)
	t.mult, t.rs, t.half, t.neg = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	for o, r := range rq {
		t.mult[o], t.rs[o] = int64(r.mult), int64(r.rs)
		if r.rs > 0 {
			t.half[o], t.neg[o] = 1<<(r.rs-1), -1
		}
	}
	t.clamp64 = [3]int64{int64(cl.lo), int64(cl.hi), int64(cl.zu)}
	return t
}

// rows writes dst[i*n+o] = requant(acc[i*n+o] + bias[o]) for rows x n
// accumulators, n = len(bias) = len(t.rq).
func (t *rqTable) rows(rows int, acc, bias []int32, dst []uint8) {
	n := len(bias)
	if rows == 0 || n == 0 {
		return
	}
	_, _ = acc[rows*n-1], dst[rows*n-1]
	n8 := 0
	if t.simd {
		n8 = n &^ 7
		if n8 > 0 {
			requantAVX512(rows, n8, n, &acc[0], &bias[0], &t.mult[0], &t.rs[0], &t.half[0], &t.neg[0], &t.clamp64, &dst[0])
		}
	}
	if n8 == n {
		return
	}
	rq, cl := t.rq[:n], t.clamp
	for i := 0; i < rows; i++ {
		a, d := acc[i*n:(i+1)*n], dst[i*n:(i+1)*n]
		for o := n8; o < n; o++ {
			d[o] = cl.store(rq[o].apply(a[o] + bias[o]))
		}
	}
}

// convScratch is one chunk's working memory; a free list (not a sync.Pool,
// which the GC empties) keeps steady-state forwards allocation-free.
type convScratch struct {
	col             []uint8
	acc, rows, bias []int32
}

var (
	scratchMu   sync.Mutex
	scratchFree []*convScratch
)

func getScratch() *convScratch {
	scratchMu.Lock()
	defer scratchMu.Unlock()
	if n := len(scratchFree); n > 0 {
		s := scratchFree[n-1]
		scratchFree = scratchFree[:n-1]
		return s
	}
	return new(convScratch)
}

func putScratch(s *convScratch) {
	scratchMu.Lock()
	scratchFree = append(scratchFree, s)
	scratchMu.Unlock()
}

func fill(s []uint8, v uint8) {
	for i := range s {
		s[i] = v
	}
}

// convStep is a GEMM-based convolution (Dense is a 1x1 convolution on a
// flat input): uint8 im2col with the input zero point as padding, exact
// int32 products on gemm.GemmU8S8Serial, the zero-point correction folded
// into a per-channel bias (plus weight zero point × patch row sum for
// asymmetric weights), and requantization with the clamp fused into the
// pass that reads the accumulators, chunk by chunk while they are in cache.
type convStep struct {
	name                      string
	dense                     bool
	inC, outC, k, stride, pad int
	in, out                   *QParams
	inOff                     int32
	za                        int32   // input zero point + inOff: the padding byte
	b                         []int8  // weights [(ky*k+kx)*inC+ci, out], shifted to int8
	zb                        []int32 // weight zero point per output channel, after the shift
	anyZb                     bool
	biasEff                   []int32 // bias - za·colsum + patch·za·zb
	rq                        []requant
	clamp                     outClamp
	tab                       *rqTable

	direct *directConv // nil: im2col and GemmU8S8Serial
	link   *padder     // set: output rows go into this plane, not y.u

	y      intAct
	x      *intAct
	oh, ow int
	fn     func(lo, hi int)
}

// newConvStep builds the convolution from the weight codes wq ([out, in, k,
// k], per tensor or per output channel) and int32 bias codes (nil: none).
func newConvStep(name string, inC, outC, k, stride, pad int, in *QParams, wq *QTensor, bias []int32, out *QParams, act string) (*convStep, error) {
	errf := func(format string, a ...any) error {
		return fmt.Errorf("quant: integer conv %q: "+format, append([]any{name}, a...)...)
	}
	if in == nil || out == nil || wq == nil || len(in.Scale) != 1 || len(out.Scale) != 1 {
		return nil, errf("needs per-tensor input and output params and weight codes")
	}
	for _, q := range []*QParams{in, out, wq.Params} {
		if q.QMax-q.QMin > 255 || q.QMin < -128 || q.QMax > 255 {
			return nil, errf("params %v are not 8-bit", q)
		}
	}
	patch := inC * k * k
	if tensor.Size(wq.Shape) != outC*patch || len(wq.Shape) == 0 || wq.Shape[0] != outC {
		return nil, errf("%w: weight shape %v, want %v", tensor.ErrShape, wq.Shape, []int{outC, inC, k, k})
	}
	wp := wq.Params
	if !(wp.Axis < 0 || (wp.Axis == 0 && len(wp.Scale) == outC)) {
		return nil, errf("weight params must be per tensor or per output channel (axis 0)")
	}
	if bias != nil && len(bias) != outC {
		return nil, errf("%d bias values for %d channels", len(bias), outC)
	}
	c := &convStep{name: name, inC: inC, outC: outC, k: k, stride: stride, pad: pad, in: in, out: out,
		inOff: codeOffset(in)}
	c.za = in.ZeroPoint[0] + c.inOff
	var wOff int32
	if wp.QMax > 127 {
		wOff = -128
	}
	c.b = make([]int8, patch*outC)
	c.zb = make([]int32, outC)
	c.biasEff = make([]int32, outC)
	c.rq = make([]requant, outC)
	for o := 0; o < outC; o++ {
		ch := 0
		if wp.Axis == 0 {
			ch = o
		}
		c.zb[o] = wp.ZeroPoint[ch] + wOff
		c.anyZb = c.anyZb || c.zb[o] != 0
		var colSum int32
		for ci := 0; ci < inC; ci++ {
			for t := 0; t < k*k; t++ {
				v := int8(wq.Data[o*patch+ci*k*k+t] + wOff)
				c.b[(t*inC+ci)*outC+o] = v
				colSum += int32(v)
			}
		}
		// Σ (qa-za)(qb-zb) = C - zb·rowsum - za·colsum + patch·za·zb; all
		// but the row-sum term are constants of the channel.
		c.biasEff[o] = -c.za*colSum + int32(patch)*c.za*c.zb[o]
		if bias != nil {
			c.biasEff[o] += bias[o]
		}
		// TFLite: effective scale in double from the float params.
		var err error
		if c.rq[o], err = newRequant(float64(in.Scale[0]) * float64(wp.Scale[ch]) / float64(out.Scale[0])); err != nil {
			return nil, errf("%v", err)
		}
	}
	var err error
	if c.clamp, err = newOutClamp(out, act); err != nil {
		return nil, errf("%v", err)
	}
	c.tab = newRQTable(c.rq, c.clamp)
	c.fn = c.chunk
	c.direct = newDirectConv(c)
	return c, nil
}

// chunkRows is the number of output pixels per parallel chunk: an im2col
// block of about 128 KiB, a multiple of the kernels' 8-row tiles.
func chunkRows(patch int) int {
	return max(64, min(1024, (1<<17)/max(patch, 1))) &^ 7
}

func (c *convStep) run(x *intAct) (*intAct, error) {
	y, err := c.plan(x)
	if err != nil {
		return nil, err
	}
	if c.direct != nil {
		c.runDirect()
	} else {
		gemm.ParallelFor(y.n*c.oh*c.ow, chunkRows(c.k*c.k*c.inC), c.fn)
	}
	c.finish()
	return y, nil
}

func (c *convStep) plan(x *intAct) (*intAct, error) {
	if x.c != c.inC || x.flat != c.dense {
		want := fmt.Sprintf("(N, %d, H, W)", c.inC)
		if c.dense {
			want = fmt.Sprintf("(N, %d)", c.inC)
		}
		return nil, fmt.Errorf("quant: integer conv %q: %w: input with %d channels (flat %v), want %s", c.name, tensor.ErrShape, x.c, x.flat, want)
	}
	oh := (x.h+2*c.pad-c.k)/c.stride + 1
	ow := (x.w+2*c.pad-c.k)/c.stride + 1
	if oh <= 0 || ow <= 0 {
		return nil, fmt.Errorf("quant: integer conv %q: %w: input %dx%d too small for kernel %d", c.name, tensor.ErrShape, x.h, x.w, c.k)
	}
	rows := x.n * oh * ow
	c.y = intAct{n: x.n, h: oh, w: ow, c: c.outC, flat: c.dense, u: resize(c.y.u, rows*c.outC), p: c.out, off: codeOffset(c.out)}
	c.x, c.oh, c.ow = x, oh, ow
	if c.link != nil {
		c.link.size(x.n, oh, ow)
	}
	if c.direct != nil {
		c.planDirect()
	}
	return &c.y, nil
}

func (c *convStep) samples(lo, hi int) {
	if c.direct != nil {
		c.samplesDirect(lo, hi)
		return
	}
	hw, step := c.oh*c.ow, chunkRows(c.k*c.k*c.inC)
	for r := lo * hw; r < hi*hw; r += step {
		c.chunk(r, min(r+step, hi*hw))
	}
}

func (c *convStep) finish() {
	c.x = nil
	if c.direct != nil {
		c.direct.in.done()
	}
}

// chunk computes output pixels [lo, hi).
func (c *convStep) chunk(lo, hi int) {
	s := getScratch()
	x, m, patch, outC := c.x, hi-lo, c.k*c.k*c.inC, c.outC
	var a []uint8
	if c.k == 1 && c.stride == 1 && c.pad == 0 {
		a = x.u[lo*patch : hi*patch] // NHWC rows are the patches
	} else {
		s.col = resize(s.col, m*patch)
		c.im2col(s.col, lo, hi)
		a = s.col
	}
	s.acc = resize(s.acc, m*outC)
	gemm.GemmU8S8Serial(m, outC, patch, a, patch, c.b, outC, s.acc, outC)
	if c.anyZb {
		s.rows = resize(s.rows, m)
		gemm.RowSumsU8(m, patch, a, patch, s.rows)
	}
	dst := c.y.u[lo*outC : hi*outC]
	if !c.anyZb {
		c.tab.rows(m, s.acc, c.biasEff, dst)
	} else {
		// Asymmetric weights: the row-sum term makes the bias per row.
		s.bias = resize(s.bias, outC)
		for i := 0; i < m; i++ {
			rs := s.rows[i]
			for o := range s.bias {
				s.bias[o] = c.biasEff[o] - c.zb[o]*rs
			}
			c.tab.rows(1, s.acc[i*outC:(i+1)*outC], s.bias, dst[i*outC:(i+1)*outC])
		}
	}
	putScratch(s)
}

// im2col writes the patches of output pixels [lo, hi) as rows of col, in
// (ky, kx, ci) order, padding with the input zero point (real 0). A patch
// row of a pixel away from the left and right borders is k contiguous runs
// of k·C input bytes.
func (c *convStep) im2col(col []uint8, lo, hi int) {
	x, k, C := c.x, c.k, c.inC
	patch, seg := k*k*C, k*C
	pv := uint8(c.za)
	for r := lo; r < hi; {
		b, rem := r/(c.oh*c.ow), r%(c.oh*c.ow)
		oy, ox := rem/c.ow, rem%c.ow
		y0 := oy*c.stride - c.pad
		plane := x.u[b*x.h*x.w*C : (b+1)*x.h*x.w*C]
		for end := min(hi, r+c.ow-ox); r < end; r, ox = r+1, ox+1 {
			row := col[(r-lo)*patch : (r-lo+1)*patch]
			x0 := ox*c.stride - c.pad
			kxLo, kxHi := max(0, -x0), min(k, x.w-x0)
			for ky := 0; ky < k; ky++ {
				s := row[ky*seg : (ky+1)*seg]
				iy := y0 + ky
				switch {
				case iy < 0 || iy >= x.h || kxLo >= kxHi:
					fill(s, pv)
				case kxLo == 0 && kxHi == k:
					copySmall(s, plane[(iy*x.w+x0)*C:])
				default:
					fill(s[:kxLo*C], pv)
					copySmall(s[kxLo*C:kxHi*C], plane[(iy*x.w+x0+kxLo)*C:])
					fill(s[kxHi*C:], pv)
				}
			}
		}
	}
}

// copySmall is copy(dst, src) for the short runs of im2col, in 32- and
// 8-byte moves the compiler inlines instead of a call to memmove.
func copySmall(dst, src []uint8) {
	src = src[:len(dst)]
	for len(dst) >= 32 {
		*(*[32]byte)(dst) = *(*[32]byte)(src)
		dst, src = dst[32:], src[32:]
	}
	for len(dst) >= 8 {
		*(*[8]byte)(dst) = *(*[8]byte)(src)
		dst, src = dst[8:], src[8:]
	}
	for i := range dst {
		dst[i] = src[i]
	}
}

// dwStep is a direct integer depthwise convolution:
// acc = bias + Σ (qx - zx)(qw - zw) over the in-bounds taps (padding is
// real 0), then requantization per channel.
type dwStep struct {
	name                     string
	ch, mult, k, stride, pad int
	za                       int32   // input zero point in storage
	w                        []int32 // [(ky*k+kx), out channel]: weight code - zero point
	bias                     []int32
	rq                       []requant
	clamp                    outClamp
	out                      *QParams
	tab                      *rqTable
	simd                     bool // dwPixelAVX512 and the AVX-512 requantization
	direct                   *directDW
	link                     *padder

	y      intAct
	x      *intAct
	oh, ow int
	fn     func(lo, hi int)
}

func (d *dwStep) run(x *intAct) (*intAct, error) {
	y, err := d.plan(x)
	if err != nil {
		return nil, err
	}
	if d.direct != nil {
		d.runDirect()
	} else {
		gemm.ParallelFor(x.n*d.oh, max(1, (1<<15)/(d.ow*y.c*d.k*d.k)), d.fn)
	}
	d.finish()
	return y, nil
}

func (d *dwStep) plan(x *intAct) (*intAct, error) {
	if x.flat || x.c != d.ch {
		return nil, fmt.Errorf("quant: integer depthwise %q: %w: input with %d channels, want (N, %d, H, W)", d.name, tensor.ErrShape, x.c, d.ch)
	}
	oh, ow := (x.h+2*d.pad-d.k)/d.stride+1, (x.w+2*d.pad-d.k)/d.stride+1
	if oh <= 0 || ow <= 0 {
		return nil, fmt.Errorf("quant: integer depthwise %q: %w: input %dx%d too small for kernel %d", d.name, tensor.ErrShape, x.h, x.w, d.k)
	}
	co := d.ch * d.mult
	d.y = intAct{n: x.n, h: oh, w: ow, c: co, u: resize(d.y.u, x.n*oh*ow*co), p: d.out, off: codeOffset(d.out)}
	d.x, d.oh, d.ow = x, oh, ow
	if d.link != nil {
		d.link.size(x.n, oh, ow)
	}
	if d.direct != nil {
		d.planDirect()
	}
	return &d.y, nil
}

func (d *dwStep) samples(lo, hi int) {
	if d.direct != nil {
		d.samplesDirect(lo, hi)
		return
	}
	d.chunk(lo*d.oh, hi*d.oh)
}

func (d *dwStep) finish() {
	d.x = nil
	if d.direct != nil {
		d.direct.in.done()
	}
}

// chunk computes output rows [lo, hi) of (sample, oy).
func (d *dwStep) chunk(lo, hi int) {
	if d.simd {
		d.chunkSIMD(lo, hi)
		return
	}
	x, k, C, co := d.x, d.k, d.ch, d.ch*d.mult
	for r := lo; r < hi; r++ {
		b, oy := r/d.oh, r%d.oh
		y0 := oy*d.stride - d.pad
		kyLo, kyHi := max(0, -y0), min(k, x.h-y0)
		for ox := 0; ox < d.ow; ox++ {
			x0 := ox*d.stride - d.pad
			kxLo, kxHi := max(0, -x0), min(k, x.w-x0)
			dst := d.y.u[((b*d.oh+oy)*d.ow+ox)*co:][:co]
			for o := range dst {
				ci := o
				if d.mult > 1 {
					ci = o / d.mult
				}
				acc := d.bias[o]
				for ky := kyLo; ky < kyHi; ky++ {
					base := ((b*x.h+y0+ky)*x.w+x0)*C + ci
					for kx := kxLo; kx < kxHi; kx++ {
						acc += (int32(x.u[base+kx*C]) - d.za) * d.w[(ky*k+kx)*co+o]
					}
				}
				dst[o] = d.clamp.store(d.rq[o].apply(acc))
			}
		}
	}
}

// chunkSIMD is chunk for multiplier 1 and channel counts that are
// multiples of 16: each output pixel's sums over its in-bounds taps come
// from dwPixelAVX512, then one requantization pass over the channels.
func (d *dwStep) chunkSIMD(lo, hi int) {
	x, k, C := d.x, d.k, d.ch
	s := getScratch()
	s.acc = resize(s.acc, C)
	acc := s.acc
	for r := lo; r < hi; r++ {
		b, oy := r/d.oh, r%d.oh
		y0 := oy*d.stride - d.pad
		kyLo, kyHi := max(0, -y0), min(k, x.h-y0)
		for ox := 0; ox < d.ow; ox++ {
			x0 := ox*d.stride - d.pad
			kxLo, kxHi := max(0, -x0), min(k, x.w-x0)
			if kyLo >= kyHi || kxLo >= kxHi {
				clear(acc)
			} else {
				xi := ((b*x.h+y0+kyLo)*x.w + x0 + kxLo) * C
				wi := (kyLo*k + kxLo) * C
				_ = x.u[xi+((kyHi-kyLo-1)*x.w+kxHi-kxLo)*C-1] // last tap in range
				_ = d.w[wi+((kyHi-kyLo-1)*k+kxHi-kxLo)*C-1]
				dwPixelAVX512(&acc[0], &x.u[xi], &d.w[wi], kyHi-kyLo, kxHi-kxLo, x.w*C, k*C, C, d.za)
			}
			d.tab.rows(1, acc, d.bias, d.y.u[((b*d.oh+oy)*d.ow+ox)*C:][:C])
		}
	}
	putScratch(s)
}

// newDWStep builds the depthwise step from weight codes wq ([ch*mult, 1, k,
// k]) and int32 bias codes (nil: none).
func newDWStep(name string, ch, mult, k, stride, pad int, in *QParams, wq *QTensor, bias []int32, out *QParams, act string) (*dwStep, error) {
	wp := wq.Params
	co := ch * mult
	if !is8Bit(in) || !is8Bit(out) || wp.QMax-wp.QMin > 255 {
		return nil, fmt.Errorf("input, weight or output params are not 8-bit per tensor")
	}
	if tensor.Size(wq.Shape) != co*k*k || !(wp.Axis < 0 || (wp.Axis == 0 && len(wp.Scale) == co)) {
		return nil, fmt.Errorf("%w: weight shape %v or params axis %d", tensor.ErrShape, wq.Shape, wp.Axis)
	}
	d := &dwStep{name: name, ch: ch, mult: mult, k: k, stride: stride, pad: pad, out: out,
		za: in.ZeroPoint[0] + codeOffset(in), w: make([]int32, k*k*co), bias: make([]int32, co), rq: make([]requant, co)}
	for o := 0; o < co; o++ {
		c := 0
		if wp.Axis == 0 {
			c = o
		}
		for t := 0; t < k*k; t++ {
			d.w[t*co+o] = wq.Data[o*k*k+t] - wp.ZeroPoint[c]
		}
		if bias != nil {
			d.bias[o] = bias[o]
		}
		var err error
		if d.rq[o], err = newRequant(float64(in.Scale[0]) * float64(wp.Scale[c]) / float64(out.Scale[0])); err != nil {
			return nil, err
		}
	}
	var err error
	if d.clamp, err = newOutClamp(out, act); err != nil {
		return nil, err
	}
	d.tab = newRQTable(d.rq, d.clamp)
	d.simd = d.tab.simd && mult == 1 && ch%16 == 0
	d.fn = d.chunk
	d.direct = newDirectDW(d)
	return d, nil
}

// maxPoolStep takes the maximum code of each window: codes are monotonic in
// the real value (scale > 0), so this is exact and keeps the params.
type maxPoolStep struct {
	name string
	link *padder // set: output rows go into this plane, not y.u
	k, s int
	y    intAct
	x    *intAct
	fn   func(lo, hi int)
}

func (p *maxPoolStep) run(x *intAct) (*intAct, error) {
	y, err := p.plan(x)
	if err != nil {
		return nil, err
	}
	gemm.ParallelFor(x.n*y.h, max(1, (1<<14)/(y.w*x.c)), p.fn)
	p.finish()
	return y, nil
}

func (p *maxPoolStep) plan(x *intAct) (*intAct, error) {
	if x.flat || x.h < p.k || x.w < p.k {
		return nil, fmt.Errorf("quant: integer max pool %q: %w: input %dx%d (flat %v), kernel %d", p.name, tensor.ErrShape, x.h, x.w, x.flat, p.k)
	}
	oh, ow := (x.h-p.k)/p.s+1, (x.w-p.k)/p.s+1
	p.y = intAct{n: x.n, h: oh, w: ow, c: x.c, u: resize(p.y.u, x.n*oh*ow*x.c), p: x.p, off: x.off}
	p.x = x
	if p.link != nil {
		p.link.size(x.n, oh, ow)
	}
	return &p.y, nil
}

func (p *maxPoolStep) samples(lo, hi int) { p.chunk(lo*p.y.h, hi*p.y.h) }

func (p *maxPoolStep) finish() { p.x = nil }

func (p *maxPoolStep) chunk(lo, hi int) {
	x, C, oh, ow := p.x, p.x.c, p.y.h, p.y.w
	for r := lo; r < hi; r++ {
		b, oy := r/oh, r%oh
		if hasMaxU8AVX2 && C%32 == 0 && p.k == 2 && p.s == 2 && ow > 0 {
			// Whole output row: input rows 2oy and 2oy+1, pixels < 2ow.
			r0 := x.u[(b*x.h+2*oy)*x.w*C:][:2*ow*C]
			r1 := x.u[(b*x.h+2*oy+1)*x.w*C:][:2*ow*C]
			dst := p.y.u[(b*oh+oy)*ow*C:][:ow*C]
			if p.link != nil {
				dst = p.link.row(b, oy, ow)
			}
			maxPool2RowAVX2(&dst[0], &r0[0], &r1[0], ow, C)
			continue
		}
		for ox := 0; ox < ow; ox++ {
			dst := p.y.u[((b*oh+oy)*ow+ox)*C:][:C]
			if p.link != nil {
				dst = p.link.row(b, oy, ow)[ox*C:][:C]
			}
			if hasMaxU8AVX2 && C%32 == 0 {
				p.pixelSIMD(dst, ((b*x.h+oy*p.s)*x.w+ox*p.s)*C)
				continue
			}
			first := true
			for ky := 0; ky < p.k; ky++ {
				for kx := 0; kx < p.k; kx++ {
					src := x.u[((b*x.h+oy*p.s+ky)*x.w+ox*p.s+kx)*C:][:C]
					if first {
						copy(dst, src)
						first = false
						continue
					}
					for i, v := range src {
						dst[i] = max(dst[i], v)
					}
				}
			}
		}
	}
}

// pixelSIMD is one output pixel of chunk with VPMAXUB: the window whose
// top-left input pixel starts at byte base, C = len(dst) a multiple of 32.
func (p *maxPoolStep) pixelSIMD(dst []uint8, base int) {
	x, C := p.x, len(dst)
	row := x.w * C
	_ = x.u[base+(p.k-1)*row+p.k*C-1] // the whole window is in range
	at := func(ky, kx int) *uint8 { return &x.u[base+ky*row+kx*C] }
	if p.k == 2 {
		max4U8AVX2(&dst[0], at(0, 0), at(0, 1), at(1, 0), at(1, 1), C)
		return
	}
	copy(dst, x.u[base:base+C])
	for t := 1; t < p.k*p.k; t++ {
		a := at(t/p.k, t%p.k)
		max4U8AVX2(&dst[0], &dst[0], a, a, a, C)
	}
}

// avgPoolStep averages k x k windows with stride s (no padding; global: the
// whole plane, giving (N, C)): zo + requant(Σ (q - zi)) with the real
// multiplier s_in / (s_out · window size), as TFLite's integer average pool
// rescales a window sum.
type avgPoolStep struct {
	name   string
	global bool
	k, s   int
	out    *QParams
	clamp  outClamp
	y      intAct
	x      *intAct
	rq     requant
	lshift uint // applied to window sums before rq
	zi     int32
	win    int // pixels per window
	fn     func(lo, hi int)
	// tab applies rq and the clamp to a whole pixel of channel sums (the
	// same requant in every channel); rebuilt when rq or C changes.
	tab    *rqTable
	tabRQ  requant
	noBias []int32
}

func (p *avgPoolStep) run(x *intAct) (*intAct, error) {
	y, err := p.plan(x)
	if err != nil {
		return nil, err
	}
	gemm.ParallelFor(x.n*y.h, max(1, (1<<14)/(y.w*x.c*p.win)), p.fn)
	p.finish()
	return y, nil
}

func (p *avgPoolStep) plan(x *intAct) (*intAct, error) {
	kind := "average pool"
	if p.global {
		kind = "global average pool"
	}
	if x.flat || len(x.p.Scale) != 1 {
		return nil, fmt.Errorf("quant: integer %s %q: %w: input is not (N, C, H, W) per tensor", kind, p.name, tensor.ErrShape)
	}
	k, s := p.k, p.s
	oh, ow, win := 1, 1, x.h*x.w
	if !p.global {
		if x.h < k || x.w < k {
			return nil, fmt.Errorf("quant: integer %s %q: %w: input %dx%d, kernel %d", kind, p.name, tensor.ErrShape, x.h, x.w, k)
		}
		oh, ow, win = (x.h-k)/s+1, (x.w-k)/s+1, k*k
	}
	// The window sum is shifted left as far as int32 allows before the
	// fixed-point multiply: with the small sums of pooling, the multiply's
	// own rounding would otherwise leave only a bit or two below the final
	// rounding point, and rounding twice can miss the nearest code by up to
	// 3/4 LSB (as TFLite's integer Add shifts its inputs by 20 bits for the
	// same reason).
	real := float64(x.p.Scale[0]) / (float64(p.out.Scale[0]) * float64(win))
	_, e := math.Frexp(real)
	p.lshift = uint(max(0, min(31-bits.Len(uint(255*win)), e+31)))
	var err error
	if p.rq, err = newRequant(math.Ldexp(real, -int(p.lshift))); err != nil {
		return nil, fmt.Errorf("quant: integer %s %q: %v", kind, p.name, err)
	}
	p.zi = x.p.ZeroPoint[0] + x.off
	if p.global && (p.tab == nil || p.tabRQ != p.rq || len(p.tab.rq) != x.c) {
		rqs := make([]requant, x.c)
		for i := range rqs {
			rqs[i] = p.rq
		}
		p.tab, p.tabRQ, p.noBias = newRQTable(rqs, p.clamp), p.rq, make([]int32, x.c)
	}
	p.y = intAct{n: x.n, h: oh, w: ow, c: x.c, flat: p.global, u: resize(p.y.u, x.n*oh*ow*x.c), p: p.out, off: codeOffset(p.out)}
	p.x, p.win = x, win
	return &p.y, nil
}

func (p *avgPoolStep) samples(lo, hi int) { p.chunk(lo*p.y.h, hi*p.y.h) }

func (p *avgPoolStep) finish() { p.x = nil }

func (p *avgPoolStep) chunk(lo, hi int) {
	x, C, oh, ow := p.x, p.x.c, p.y.h, p.y.w
	for r := lo; r < hi; r++ {
		b, oy := r/oh, r%oh
		for ox := 0; ox < ow; ox++ {
			dst := p.y.u[((b*oh+oy)*ow+ox)*C:][:C]
			if p.global {
				p.globalPixel(dst, x.u[b*x.h*x.w*C:][:x.h*x.w*C], x.h*x.w)
				continue
			}
			for c := range dst {
				var acc int32
				for ky := 0; ky < p.k; ky++ {
					base := ((b*x.h+oy*p.s+ky)*x.w+ox*p.s)*C + c
					for kx := 0; kx < p.k; kx++ {
						acc += int32(x.u[base+kx*C]) - p.zi
					}
				}
				dst[c] = p.clamp.store(p.rq.apply(acc << p.lshift))
			}
		}
	}
}

// globalPixel averages hw pixels of one sample (src NHWC) into dst.
func (p *avgPoolStep) globalPixel(dst, src []uint8, hw int) {
	C := len(dst)
	s := getScratch()
	s.acc = resize(s.acc, C)
	acc := s.acc
	clear(acc)
	for i := 0; i < hw; i++ {
		px := src[i*C : (i+1)*C]
		for c, v := range px {
			acc[c] += int32(v)
		}
	}
	for c := range acc {
		acc[c] = (acc[c] - int32(hw)*p.zi) << p.lshift
	}
	p.tab.rows(1, acc, p.noBias, dst)
	putScratch(s)
}

// flattenStep flattens to (N, C·H·W) in the NCHW order of the float model.
type flattenStep struct {
	name string
	y    intAct
	x    *intAct // set between plan and finish when the bytes move
	buf  []uint8
}

func (f *flattenStep) run(x *intAct) (*intAct, error) {
	y, err := f.plan(x)
	if err == nil {
		f.samples(0, x.n)
		f.finish()
	}
	return y, err
}

func (f *flattenStep) plan(x *intAct) (*intAct, error) {
	f.y = *x
	f.y.flat, f.y.c, f.y.h, f.y.w = true, x.c*x.h*x.w, 1, 1
	f.x = nil
	if x.flat || (x.h == 1 && x.w == 1) {
		return &f.y, nil // same bytes
	}
	f.buf = resize(f.buf, len(x.u))
	f.y.u, f.x = f.buf, x
	return &f.y, nil
}

func (f *flattenStep) samples(lo, hi int) {
	x := f.x
	if x == nil {
		return
	}
	hw := x.h * x.w
	for b := lo; b < hi; b++ {
		src, dst := x.u[b*hw*x.c:][:hw*x.c], f.y.u[b*hw*x.c:][:hw*x.c]
		for p := 0; p < hw; p++ {
			for c := 0; c < x.c; c++ {
				dst[c*hw+p] = src[p*x.c+c]
			}
		}
	}
}

func (f *flattenStep) finish() { f.x = nil }

// residualStep runs the body and the shortcut on the same input and adds
// them with TFLite's integer Add.
type residualStep struct {
	name     string
	body, sc []intStep
	out      *QParams
	clamp    outClamp
	y        intAct
	a, b     *intAct
	ra, rb   requant // input rescales: multipliers <= 1/2, so apply is MultiplyByQuantizedMultiplier
	mo       requant
	fn       func(lo, hi int)
}

const addLeftShift = 20

func (r *residualStep) run(x *intAct) (*intAct, error) {
	a, err := runSteps(r.body, x)
	if err != nil {
		return nil, err
	}
	b, err := runSteps(r.sc, x)
	if err != nil {
		return nil, err
	}
	y, err := r.add(a, b)
	if err != nil {
		return nil, err
	}
	gemm.ParallelFor(len(a.u), 1<<14, r.fn)
	r.a, r.b = nil, nil
	return y, nil
}

func (r *residualStep) plan(x *intAct) (*intAct, error) {
	a, err := planSteps(r.body, x)
	if err != nil {
		return nil, err
	}
	b, err := planSteps(r.sc, x)
	if err != nil {
		return nil, err
	}
	return r.add(a, b)
}

func (r *residualStep) samples(lo, hi int) {
	for _, s := range r.body {
		s.samples(lo, hi)
	}
	for _, s := range r.sc {
		s.samples(lo, hi)
	}
	per := len(r.a.u) / r.a.n
	r.chunk(lo*per, hi*per)
}

func (r *residualStep) finish() {
	finishSteps(r.body)
	finishSteps(r.sc)
	r.a, r.b = nil, nil
}

// add sizes the output of the sum of a and b and derives its rescales.
func (r *residualStep) add(a, b *intAct) (*intAct, error) {
	var err error
	if a.n != b.n || a.h != b.h || a.w != b.w || a.c != b.c || a.flat != b.flat {
		return nil, fmt.Errorf("quant: integer add %q: %w: inputs (%d, %d, %d, %d) and (%d, %d, %d, %d)", r.name, tensor.ErrShape, a.n, a.c, a.h, a.w, b.n, b.c, b.h, b.w)
	}
	// TFLite's reference integer Add (add.h): both inputs left-shifted by
	// 20 bits, rescaled to twice the larger input scale, summed, and
	// requantized to the output.
	sa, sb := float64(a.p.Scale[0]), float64(b.p.Scale[0])
	twiceMax := 2 * math.Max(sa, sb)
	r.ra, _ = newRequant(sa / twiceMax) // in (0, 1/2]: never out of range
	r.rb, _ = newRequant(sb / twiceMax)
	if r.mo, err = newRequant(twiceMax / (float64(1<<addLeftShift) * float64(r.out.Scale[0]))); err != nil {
		return nil, fmt.Errorf("quant: integer add %q: %v", r.name, err)
	}
	r.y = *a
	r.y.u, r.y.p, r.y.off = resize(r.y.u, len(a.u)), r.out, codeOffset(r.out)
	r.a, r.b = a, b
	return &r.y, nil
}

func (r *residualStep) chunk(lo, hi int) {
	za, zb := r.a.p.ZeroPoint[0]+r.a.off, r.b.p.ZeroPoint[0]+r.b.off
	ua, ub, dst := r.a.u[lo:hi], r.b.u[lo:hi], r.y.u[lo:hi]
	for i := range dst {
		x1 := r.ra.apply((int32(ua[i]) - za) << addLeftShift)
		x2 := r.rb.apply((int32(ub[i]) - zb) << addLeftShift)
		dst[i] = r.clamp.store(r.mo.apply(x1 + x2))
	}
}

func runSteps(steps []intStep, x *intAct) (*intAct, error) {
	var err error
	for _, s := range steps {
		if x, err = s.run(x); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// planSteps plans steps in turn from x and returns the last output; on an
// error the steps planned so far are finished.
func planSteps(steps []intStep, x *intAct) (*intAct, error) {
	var err error
	for i, s := range steps {
		if x, err = s.plan(x); err != nil {
			finishSteps(steps[:i])
			return nil, err
		}
	}
	return x, nil
}

func finishSteps(steps []intStep) {
	for _, s := range steps {
		s.finish()
	}
}

// toQTensor writes a's codes into q as int32, (N, C) or (N, C, H, W) in
// NCHW order, reusing q's slices.
func (a *intAct) toQTensor(q *QTensor) {
	if a.flat {
		q.Shape = append(q.Shape[:0], a.n, a.c)
	} else {
		q.Shape = append(q.Shape[:0], a.n, a.c, a.h, a.w)
	}
	q.Data = resize(q.Data, len(a.u))
	q.Params = a.p
	hw := a.h * a.w
	for b := 0; b < a.n; b++ {
		src, dst := a.u[b*hw*a.c:][:hw*a.c], q.Data[b*hw*a.c:][:hw*a.c]
		for p := 0; p < hw; p++ {
			for c := 0; c < a.c; c++ {
				dst[c*hw+p] = int32(src[p*a.c+c]) - a.off
			}
		}
	}
}

// fromQTensor stores x's codes (N, C, H, W) or (N, C) in a, NHWC.
func (a *intAct) fromQTensor(x *QTensor) error {
	if !is8Bit(x.Params) {
		return fmt.Errorf("%w: codes are not 8-bit per tensor", ErrRange)
	}
	if (len(x.Shape) != 4 && len(x.Shape) != 2) || len(x.Data) != tensor.Size(x.Shape) {
		return fmt.Errorf("%w: input %v, want (N, C, H, W) or (N, C)", tensor.ErrShape, x.Shape)
	}
	*a = intAct{n: x.Shape[0], c: x.Shape[1], h: 1, w: 1, flat: len(x.Shape) == 2, u: a.u, p: x.Params, off: codeOffset(x.Params)}
	if !a.flat {
		a.h, a.w = x.Shape[2], x.Shape[3]
	}
	a.u = resize(a.u, len(x.Data))
	hw := a.h * a.w
	lo, hi := x.Params.QMin, x.Params.QMax
	for b := 0; b < a.n; b++ {
		src, dst := x.Data[b*hw*a.c:][:hw*a.c], a.u[b*hw*a.c:][:hw*a.c]
		for c := 0; c < a.c; c++ {
			for p := 0; p < hw; p++ {
				v := src[c*hw+p]
				if v < lo || v > hi {
					return fmt.Errorf("%w: code %d at element %d outside [%d, %d]", ErrRange, v, b*hw*a.c+c*hw+p, lo, hi)
				}
				dst[p*a.c+c] = uint8(v + a.off)
			}
		}
	}
	return nil
}

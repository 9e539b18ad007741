package nn

import (
	"fmt"

	"github.com/qlab-dev/qlab/qlab/initializers"
	"github.com/qlab-dev/qlab/qlab/internal/gemm"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// sgemm is the single-goroutine GEMM the layers call from inside their own
// parallel tasks (one sample or one chunk per task).
var sgemm = gemm.SgemmSerial

// Conv2DConfig configures a Conv2D. The zero value is not valid: In, Out
// and Kernel must be positive.
type Conv2DConfig struct {
	// In and Out are the input and output channel counts.
	In, Out int
	// Kernel is the square kernel size (3 for 3x3).
	Kernel int
	// Stride is the step in both spatial axes; 0 means 1.
	Stride int
	// Padding is Same (zero value: kernel/2 zeros on every side, PyTorch
	// padding=k//2) or Valid (none).
	Padding Padding
	// Bias adds a learned per-output-channel bias (off by default: convs
	// followed by BatchNorm do not need one).
	Bias bool
}

// Conv2D is a 2-D convolution (PyTorch nn.Conv2d with groups=1) over NCHW
// input; weight (Out, In, Kernel, Kernel), optional bias (Out).
type Conv2D struct {
	base
	cfg          Conv2DConfig
	stride, pad  int
	weight, bias *Param

	// Per-call state and buffers, reused between calls.
	x            *tensor.Tensor
	y, dx        tensor.Tensor
	h, w, oh, ow int
	direct       bool        // 1x1, stride 1, no padding: x is its own im2col
	col          [][]float32 // per-worker im2col scratch
	dcol         [][]float32 // per-worker col2im (or im2col of dy) scratch
	wflip        []float32   // (In, Out*k*k) flipped kernel for stride-1 dx
	colB, dyB    [][]float32 // per-worker chunk im2col and dY for the weight GEMM
	noDX         bool        // skip the input gradient (first layer of a model)
	part         []float32   // per-chunk weight-gradient partial sums
	partB        []float32   // per-chunk bias-gradient partial sums
	nchunk       int
	dy           *tensor.Tensor
	fwdTask      taskFunc
	bwdTask      taskFunc
	reduceTask   taskFunc
	// post, when not nil during an inference-mode Forward, is the
	// BatchNorm2D (and the activation it fuses) that directly follows in a
	// Sequential: each sample's output planes get its per-plane pass right
	// after the GEMM, while they are still in cache (see forwardChain).
	post     *BatchNorm2D
	postAct  *elementwise
	postPool *pool2D // a pool after postAct, run per plane after it
}

// NewConv2D returns a convolution named name (its parameters are
// "<name>/weight" and "<name>/bias"). Weights start at zero; Model
// initializes them.
func NewConv2D(name string, c Conv2DConfig) (*Conv2D, error) {
	if c.In <= 0 || c.Out <= 0 || c.Kernel <= 0 || c.Stride < 0 {
		return nil, fmt.Errorf("%w: Conv2D %q: In=%d Out=%d Kernel=%d Stride=%d must be positive", ErrConfig, name, c.In, c.Out, c.Kernel, c.Stride)
	}
	if c.Padding != Same && c.Padding != Valid {
		return nil, fmt.Errorf("%w: Conv2D %q: unknown padding %v", ErrConfig, name, c.Padding)
	}
	if name == "" {
		return nil, fmt.Errorf("%w: Conv2D needs a name", ErrConfig)
	}
	l := &Conv2D{base: base{name: name}, cfg: c, stride: max(c.Stride, 1)}
	if c.Padding == Same {
		l.pad = c.Kernel / 2
	}
	l.weight = newParam(name+"/weight", Weight, initializers.Conv, c.Out, c.In, c.Kernel, c.Kernel)
	if c.Bias {
		l.bias = newParam(name+"/bias", Bias, initializers.Conv, c.Out)
	}
	l.fwdTask, l.bwdTask, l.reduceTask = l.forwardSample, l.backwardChunk, l.reduceRows
	return l, nil
}

// NewPointwise returns a 1x1 convolution (stride 1, no padding) from in to
// out channels.
func NewPointwise(name string, in, out int, bias bool) (*Conv2D, error) {
	return NewConv2D(name, Conv2DConfig{In: in, Out: out, Kernel: 1, Padding: Valid, Bias: bias})
}

// Kind returns "Conv2D".
func (l *Conv2D) Kind() string { return "Conv2D" }

// Config returns the layer's configuration.
func (l *Conv2D) Config() Conv2DConfig { return l.cfg }

// Weight returns the weight parameter, shape (Out, In, Kernel, Kernel).
func (l *Conv2D) Weight() *Param { return l.weight }

// Bias returns the bias parameter (shape (Out)), or nil without bias.
func (l *Conv2D) Bias() *Param { return l.bias }

// Params returns the weight and, if present, the bias.
func (l *Conv2D) Params() []*Param {
	if l.bias != nil {
		return []*Param{l.weight, l.bias}
	}
	return []*Param{l.weight}
}

// OutputShape maps (In, H, W) to (Out, OH, OW).
func (l *Conv2D) OutputShape(in []int) ([]int, error) {
	if len(in) != 3 || in[0] != l.cfg.In {
		return nil, l.shapeErr("Conv2D", in, fmt.Sprintf("(%d, H, W)", l.cfg.In))
	}
	oh, ow := convOut(in[1], l.cfg.Kernel, l.stride, l.pad), convOut(in[2], l.cfg.Kernel, l.stride, l.pad)
	if oh <= 0 || ow <= 0 {
		return nil, l.shapeErr("Conv2D", in, fmt.Sprintf("spatial size at least %d after padding %d", l.cfg.Kernel, l.pad))
	}
	return []int{l.cfg.Out, oh, ow}, nil
}

func (l *Conv2D) flops(in []int) int64 {
	out, err := l.OutputShape(in)
	if err != nil {
		return 0
	}
	return 2 * int64(l.cfg.In*l.cfg.Kernel*l.cfg.Kernel) * int64(tensor.Size(out))
}

func (l *Conv2D) kdim() int { return l.cfg.In * l.cfg.Kernel * l.cfg.Kernel }

func (l *Conv2D) ensureScratch(w int, size int, s [][]float32) [][]float32 {
	for len(s) < w {
		s = append(s, nil)
	}
	for i := range w {
		if cap(s[i]) < size {
			s[i] = make([]float32, size)
		}
		s[i] = s[i][:size]
	}
	return s
}

// Forward computes the convolution of x, shape (N, In, H, W), into a
// layer-owned buffer of shape (N, Out, OH, OW).
func (l *Conv2D) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	if len(x.Shape) != 4 {
		return nil, l.shapeErr("Conv2D", x.Shape, fmt.Sprintf("(N, %d, H, W)", l.cfg.In))
	}
	n, h, w := x.Shape[0], x.Shape[2], x.Shape[3]
	oh, ow := convOut(h, l.cfg.Kernel, l.stride, l.pad), convOut(w, l.cfg.Kernel, l.stride, l.pad)
	if x.Shape[1] != l.cfg.In || oh <= 0 || ow <= 0 {
		_, err := l.OutputShape(x.Shape[1:])
		return nil, err
	}
	l.x = x
	l.h, l.w, l.oh, l.ow = h, w, oh, ow
	l.direct = l.cfg.Kernel == 1 && l.stride == 1 && l.pad == 0
	l.y.Resize(n, l.cfg.Out, oh, ow)
	if l.post != nil {
		if err := l.post.prepareFused(&l.y, l.postAct); err != nil {
			return nil, err
		}
		if l.postPool != nil {
			if err := l.postPool.prepare(&l.postAct.y); err != nil {
				return nil, err
			}
		}
	}
	if !l.direct {
		l.col = l.ensureScratch(workers(n), l.kdim()*l.oh*l.ow, l.col)
	}
	parallel(n, l.fwdTask)
	return &l.y, nil
}

func (l *Conv2D) forwardSample(w, i int) {
	c := l.cfg
	ohw, kd := l.oh*l.ow, l.kdim()
	xs := l.x.Data[i*c.In*l.h*l.w : (i+1)*c.In*l.h*l.w]
	ys := l.y.Data[i*c.Out*ohw : (i+1)*c.Out*ohw]
	col := xs
	if !l.direct {
		col = l.col[w]
		if rows := convBlockRows(kd, l.w); convRowBlocks && rows < l.h && im2col3x3Applies(c.Kernel, l.stride, l.pad, l.w) {
			// Blocks of output rows whose patch matrix stays in L2 for the
			// GEMM that reads it. Every output element still sums the same
			// K products in the same order (the GEMM's K blocks depend on K
			// only), so the result is that of one whole-plane GEMM.
			for oy0 := 0; oy0 < l.h; oy0 += rows {
				oy1 := min(oy0+rows, l.h)
				nb := (oy1 - oy0) * l.w
				im2col3x3Rows(col, xs, c.In, l.h, l.w, nb, oy0, oy1)
				sgemm(false, false, c.Out, nb, kd, 1, l.weight.Value.Data, kd, col, nb, 0, ys[oy0*l.w:], ohw)
			}
			l.addBias(ys, ohw)
			l.postSample(i)
			return
		}
		im2col(col, xs, c.In, l.h, l.w, c.Kernel, l.stride, l.pad, l.oh, l.ow, ohw)
	}
	sgemm(false, false, c.Out, ohw, kd, 1, l.weight.Value.Data, kd, col, ohw, 0, ys, ohw)
	l.addBias(ys, ohw)
	l.postSample(i)
}

// postSample runs the fused BatchNorm2D's per-plane pass on sample i.
func (l *Conv2D) postSample(i int) {
	if l.post != nil {
		for o := range l.cfg.Out {
			l.post.applyPlane(i, o)
			if l.postPool != nil {
				l.postPool.forwardPlane(0, i*l.cfg.Out+o)
			}
		}
	}
}

// forwardFused is Forward followed by bn's inference-mode Forward (and
// act's, when not nil, and then pool's, when act and pool are not nil)
// with bn's and pool's per-plane passes done per sample in the conv's
// tasks. The result and the state of all the layers are those of the
// separate calls.
func (l *Conv2D) forwardFused(x *tensor.Tensor, bn *BatchNorm2D, act *elementwise, pool *pool2D) (*tensor.Tensor, error) {
	if act == nil {
		pool = nil
	}
	l.post, l.postAct, l.postPool = bn, act, pool
	_, err := l.Forward(x)
	l.post, l.postAct, l.postPool = nil, nil, nil
	if err != nil {
		return nil, err
	}
	if pool != nil {
		return &pool.y, nil
	}
	if act != nil {
		return &act.y, nil
	}
	return &bn.y, nil
}

// convRowBlocks enables forwardSample's row blocks (tests turn it off for
// the whole-plane reference).
var convRowBlocks = true

// convBlockRows is the number of output rows of w pixels whose patch
// matrix (kd rows) fits in about 256 KiB.
func convBlockRows(kd, w int) int { return max(1, (1<<16)/max(kd*w, 1)) }

// addBias adds the bias to each output plane of ys.
func (l *Conv2D) addBias(ys []float32, ohw int) {
	if l.bias != nil {
		for o, b := range l.bias.Value.Data {
			row := ys[o*ohw : (o+1)*ohw]
			for j := range row {
				row[j] += b
			}
		}
	}
}

// Backward takes dy, shape (N, Out, OH, OW), adds the weight (and bias)
// gradients and returns dx, shape (N, In, H, W), in a layer-owned buffer.
func (l *Conv2D) Backward(dy *tensor.Tensor) (*tensor.Tensor, error) {
	if l.x == nil {
		return nil, fmt.Errorf("nn: Conv2D %q: Backward before Forward", l.name)
	}
	n := l.x.Shape[0]
	if !tensor.SameShape(dy.Shape, l.y.Shape) {
		return nil, fmt.Errorf("%w: Conv2D %q: gradient shape %v, want %v", ErrShape, l.name, dy.Shape, l.y.Shape)
	}
	l.dy = dy
	if l.noDX {
		l.dx.Data, l.dx.Shape = l.dx.Data[:0], l.dx.Shape[:0]
	} else {
		l.dx.Resize(l.x.Shape...)
	}
	kd, ohw := l.kdim(), l.oh*l.ow
	wk := workers(n)
	l.nchunk = l.chunks(n)
	g := l.groupSize(n)
	l.colB = l.ensureScratch(wk, kd*g*ohw, l.colB)
	l.dyB = l.ensureScratch(wk, l.cfg.Out*g*ohw, l.dyB)
	if !l.direct {
		if l.flipDX() && !l.noDX {
			// dx is the correlation of dy, padded by k-1-pad, with the
			// flipped, transposed kernel: one im2col copy of dy and a GEMM
			// with K = Out*k*k, instead of a short-K GEMM and a col2im
			// scatter.
			kk := l.cfg.Kernel * l.cfg.Kernel
			l.dcol = l.ensureScratch(wk, l.cfg.Out*kk*l.h*l.w, l.dcol)
			if cap(l.wflip) < l.cfg.Out*kd {
				l.wflip = make([]float32, l.cfg.Out*kd)
			}
			l.wflip = l.wflip[:l.cfg.Out*kd]
			w := l.weight.Value.Data
			for o := 0; o < l.cfg.Out; o++ {
				for ci := 0; ci < l.cfg.In; ci++ {
					for j := 0; j < kk; j++ {
						l.wflip[ci*l.cfg.Out*kk+o*kk+j] = w[(o*l.cfg.In+ci)*kk+kk-1-j]
					}
				}
			}
		} else {
			l.dcol = l.ensureScratch(wk, kd*ohw, l.dcol)
		}
	}
	wsz := l.cfg.Out * kd
	if cap(l.part) < l.nchunk*wsz {
		l.part = make([]float32, l.nchunk*wsz)
	}
	l.part = l.part[:l.nchunk*wsz]
	if cap(l.partB) < l.nchunk*l.cfg.Out {
		l.partB = make([]float32, l.nchunk*l.cfg.Out)
	}
	l.partB = l.partB[:l.nchunk*l.cfg.Out]
	parallel(l.nchunk, l.bwdTask)
	parallel(l.cfg.Out, l.reduceTask)
	return &l.dx, nil
}

func (l *Conv2D) skipInputGrad(on bool) { l.noDX = on }

// flipDX reports whether the input gradient is computed as a correlation
// of dy with the flipped kernel (stride 1). With very few input channels
// that GEMM has M = In rows, mostly wasted in the GEMM's register tiles,
// so the transposed GEMM plus col2im is used instead.
func (l *Conv2D) flipDX() bool { return l.stride == 1 && l.cfg.In >= 8 }

// colBudget bounds a worker's chunk im2col buffer (floats), so many
// workers on a wide layer do not hold hundreds of megabytes.
var colBudget = 1 << 21

// groupSize is how many samples of a chunk share one weight-gradient GEMM:
// the whole chunk unless its patch matrix would exceed colBudget. It
// depends only on the shapes, never on the worker count.
func (l *Conv2D) groupSize(n int) int {
	maxS := (n + l.chunks(n) - 1) / l.chunks(n)
	return max(1, min(maxS, colBudget/(l.kdim()*l.oh*l.ow)))
}

// partBudget bounds the per-chunk weight-gradient partial sums (floats).
const partBudget = 1 << 23

// chunks is the fixed number of sample chunks whose weight-gradient
// partial sums are reduced in order: up to 16 (enough to balance many
// workers), fewer for very wide layers so the partial sums stay within
// partBudget, never below 4. A function of the shapes only.
func (l *Conv2D) chunks(n int) int {
	return max(1, min(n, 16, max(4, partBudget/(l.cfg.Out*l.kdim()))))
}

func (l *Conv2D) backwardChunk(w, ch int) {
	c := l.cfg
	n := l.x.Shape[0]
	kd, ohw, hw := l.kdim(), l.oh*l.ow, l.h*l.w
	part := l.part[ch*c.Out*kd : (ch+1)*c.Out*kd]
	partB := l.partB[ch*c.Out : (ch+1)*c.Out]
	clear(partB)
	lo, hi := chunkLo(n, l.nchunk, ch), chunkLo(n, l.nchunk, ch+1)
	// Weight gradient of a group of samples in one GEMM, dY[Out, S*OHW] x
	// col[kd, S*OHW]^T: the samples' columns side by side give the GEMM a
	// long K even when a sample's OH*OW is small. Groups add into the
	// chunk's partial sum in sample order.
	g := l.groupSize(n)
	for glo := lo; glo < hi; glo += g {
		ghi := min(glo+g, hi)
		ld := (ghi - glo) * ohw
		colB, dyB := l.colB[w][:kd*ld], l.dyB[w][:c.Out*ld]
		for i := glo; i < ghi; i++ {
			j := (i - glo) * ohw
			xs := l.x.Data[i*c.In*hw : (i+1)*c.In*hw]
			dys := l.dy.Data[i*c.Out*ohw : (i+1)*c.Out*ohw]
			if l.direct {
				for ci := 0; ci < c.In; ci++ {
					copy(colB[ci*ld+j:ci*ld+j+ohw], xs[ci*hw:(ci+1)*hw])
				}
			} else {
				im2col(colB[j:], xs, c.In, l.h, l.w, c.Kernel, l.stride, l.pad, l.oh, l.ow, ld)
			}
			for o := 0; o < c.Out; o++ {
				copy(dyB[o*ld+j:o*ld+j+ohw], dys[o*ohw:(o+1)*ohw])
			}
		}
		beta := float32(1)
		if glo == lo {
			beta = 0
		}
		sgemm(false, true, c.Out, kd, ld, 1, dyB, ld, colB, ld, beta, part, kd)
	}
	for i := lo; i < hi; i++ {
		dys := l.dy.Data[i*c.Out*ohw : (i+1)*c.Out*ohw]
		var dxs []float32
		if !l.noDX {
			dxs = l.dx.Data[i*c.In*hw : (i+1)*c.In*hw]
		}
		switch {
		case l.noDX:
		case l.direct:
			sgemm(true, false, kd, ohw, c.Out, 1, l.weight.Value.Data, kd, dys, ohw, 0, dxs, ohw)
		case l.flipDX():
			kk := c.Kernel * c.Kernel
			dcol := l.dcol[w]
			im2col(dcol, dys, c.Out, l.oh, l.ow, c.Kernel, 1, c.Kernel-1-l.pad, l.h, l.w, hw)
			sgemm(false, false, c.In, hw, c.Out*kk, 1, l.wflip, c.Out*kk, dcol, hw, 0, dxs, hw)
		default:
			dcol := l.dcol[w]
			sgemm(true, false, kd, ohw, c.Out, 1, l.weight.Value.Data, kd, dys, ohw, 0, dcol, ohw)
			col2im(dxs, dcol, c.In, l.h, l.w, c.Kernel, l.stride, l.pad, l.oh, l.ow)
		}
		if l.bias != nil {
			for o := range partB {
				var s float32
				for _, v := range dys[o*ohw : (o+1)*ohw] {
					s += v
				}
				partB[o] += s
			}
		}
	}
}

// reduceRows adds the chunk partials of output channel o into the
// gradients, chunk 0 first.
func (l *Conv2D) reduceRows(_, o int) {
	kd := l.kdim()
	g := l.weight.Grad.Data[o*kd : (o+1)*kd]
	for ch := 0; ch < l.nchunk; ch++ {
		p := l.part[(ch*l.cfg.Out+o)*kd : (ch*l.cfg.Out+o+1)*kd]
		for j := range g {
			g[j] += p[j]
		}
	}
	if l.bias != nil {
		for ch := 0; ch < l.nchunk; ch++ {
			l.bias.Grad.Data[o] += l.partB[ch*l.cfg.Out+o]
		}
	}
}

// im2col writes the (c*k*k, oh*ow) patch matrix of one image x (c, h, w)
// into col with row stride ld: row (ci, ky, kx), column (oy, ox) holds x[ci, oy*s-p+ky, ox*s-p+kx] or 0
// outside the image. Rows of output positions that fall wholly in the
// padding are cleared in one block, and the few padded columns at the
// edges of a row are zeroed inline rather than by a call.
func im2col(col, x []float32, c, h, w, k, s, p, oh, ow, ld int) {
	if im2col3x3Applies(k, s, p, w) {
		im2col3x3(col, x, c, h, w, ld)
		return
	}
	ohw := oh * ow
	r := 0
	for ci := 0; ci < c; ci++ {
		plane := x[ci*h*w : (ci+1)*h*w]
		for ky := 0; ky < k; ky++ {
			// Valid oy range: 0 <= oy*s-p+ky < h.
			oyLo, oyHi := validRange(oh, s, ky-p, h)
			for kx := 0; kx < k; kx++ {
				dst := col[r*ld : r*ld+ohw]
				r++
				oxLo, oxHi := validRange(ow, s, kx-p, w)
				if oyLo >= oyHi || oxLo >= oxHi {
					clear(dst)
					continue
				}
				clear(dst[:oyLo*ow])
				clear(dst[oyHi*ow:])
				off := kx - p
				for oy := oyLo; oy < oyHi; oy++ {
					d := dst[oy*ow : (oy+1)*ow]
					for j := 0; j < oxLo; j++ {
						d[j] = 0
					}
					for j := oxHi; j < ow; j++ {
						d[j] = 0
					}
					src := plane[(oy*s-p+ky)*w : (oy*s-p+ky+1)*w]
					if s == 1 {
						if oxHi-oxLo > 24 {
							copy(d[oxLo:oxHi], src[oxLo+off:oxHi+off])
						} else {
							// Short rows: an inline loop beats a memmove call.
							dd, ss := d[oxLo:oxHi], src[oxLo+off:oxHi+off]
							ss = ss[:len(dd)]
							for j, v := range ss {
								dd[j] = v
							}
						}
					} else {
						for ox := oxLo; ox < oxHi; ox++ {
							d[ox] = src[ox*s+off]
						}
					}
				}
			}
		}
	}
}

// im2col3x3 is im2col for a 3x3 kernel, stride 1, padding 1 and a width
// that is a multiple of 8, with the SIMD row kernel: each input row is read
// once and written to the three patch rows (kx = 0, 1, 2) it feeds.
func im2col3x3(col, x []float32, c, h, w, ld int) {
	im2col3x3Rows(col, x, c, h, w, ld, 0, h)
}

// im2col3x3Applies reports whether im2col takes im2col3x3.
func im2col3x3Applies(k, s, p, w int) bool {
	return useSIMD && k == 3 && s == 1 && p == 1 && w%8 == 0 && w >= 8
}

// im2col3x3Rows is im2col3x3 for output rows [oy0, oy1) only: column
// (oy-oy0)*w + ox of col (row stride ld) holds output pixel (oy, ox).
func im2col3x3Rows(col, x []float32, c, h, w, ld, oy0, oy1 int) {
	hw := h * w
	nb := (oy1 - oy0) * w
	for ci := 0; ci < c; ci++ {
		plane := x[ci*hw : (ci+1)*hw]
		for ky := 0; ky < 3; ky++ {
			r := (ci*3 + ky) * 3
			d0 := col[r*ld : r*ld+nb]
			d1 := col[(r+1)*ld : (r+1)*ld+nb]
			d2 := col[(r+2)*ld : (r+2)*ld+nb]
			// Output rows whose input row is padding: oy = 0 for ky = 0,
			// oy = h-1 for ky = 2.
			lo, hi := oy0, oy1
			if ky == 0 && lo == 0 {
				lo = 1
				clear(d0[:w])
				clear(d1[:w])
				clear(d2[:w])
			}
			if ky == 2 && hi == h {
				hi = h - 1
				clear(d0[nb-w:])
				clear(d1[nb-w:])
				clear(d2[nb-w:])
			}
			if lo < hi {
				// Rows lo..hi-1 read input rows lo+ky-1..hi+ky-2.
				src := plane[(lo+ky-1)*w : (hi+ky-1)*w]
				o := (lo - oy0) * w
				_ = d0[o+(hi-lo)*w-1]
				_ = d1[o+(hi-lo)*w-1]
				_ = d2[o+(hi-lo)*w-1]
				im2col3RowsAVX2(&d0[o], &d1[o], &d2[o], &src[0], w, hi-lo)
			}
		}
	}
}

// col2im overwrites dx (c, h, w) with the sum of dcol's patch entries, the
// adjoint of im2col.
func col2im(dx, dcol []float32, c, h, w, k, s, p, oh, ow int) {
	clear(dx)
	ohw := oh * ow
	r := 0
	for ci := 0; ci < c; ci++ {
		plane := dx[ci*h*w : (ci+1)*h*w]
		for ky := 0; ky < k; ky++ {
			for kx := 0; kx < k; kx++ {
				src := dcol[r*ohw : (r+1)*ohw]
				r++
				oxLo, oxHi := validRange(ow, s, kx-p, w)
				if oxLo >= oxHi {
					continue
				}
				for oy := 0; oy < oh; oy++ {
					iy := oy*s - p + ky
					if iy < 0 || iy >= h {
						continue
					}
					sr := src[oy*ow : (oy+1)*ow]
					dst := plane[iy*w : (iy+1)*w]
					if s == 1 {
						off := kx - p
						d := dst[oxLo+off : oxHi+off]
						sv := sr[oxLo:oxHi]
						for j := range d {
							d[j] += sv[j]
						}
					} else {
						for ox := oxLo; ox < oxHi; ox++ {
							dst[ox*s-p+kx] += sr[ox]
						}
					}
				}
			}
		}
	}
}

// validRange returns the half-open range of output positions o in [0, n)
// whose input position o*s+off lies in [0, size).
func validRange(n, s, off, size int) (lo, hi int) {
	// o*s+off >= 0  <=>  o >= ceil(-off/s)
	if off < 0 {
		lo = (-off + s - 1) / s
	}
	// o*s+off <= size-1  <=>  o <= floor((size-1-off)/s)
	if size-1-off < 0 {
		return 0, 0
	}
	hi = min(n, (size-1-off)/s+1)
	if lo > hi {
		lo = hi
	}
	return lo, hi
}

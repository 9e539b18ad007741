package nn

import (
	"fmt"

	"github.com/qlab-dev/qlab/qlab/tensor"
)

// pool2D is the shared body of MaxPool2D and AvgPool2D: square window,
// no padding, floor output size (PyTorch's defaults, ceil_mode=False).
type pool2D struct {
	base
	kind  string
	k, s  int
	isMax bool
	x, dy *tensor.Tensor
	y, dx tensor.Tensor
	arg   []int32 // max: index within the input plane of each output
	// argStale: the last Forward ran in inference mode and left arg
	// unwritten (2x2 max pool); Backward computes it from x first.
	argStale     bool
	h, w, oh, ow int
	fwd, bwd     taskFunc
	argFn        taskFunc
}

// MaxPool2D takes the maximum over Kernel x Kernel windows with the given
// stride, no padding (PyTorch nn.MaxPool2d; the gradient goes to the first
// maximal element of each window, as in PyTorch).
type MaxPool2D struct{ pool2D }

// AvgPool2D averages Kernel x Kernel windows with the given stride, no
// padding (PyTorch nn.AvgPool2d).
type AvgPool2D struct{ pool2D }

func (p *pool2D) init(name, kind string, kernel, stride int, isMax bool) error {
	if name == "" {
		return fmt.Errorf("%w: %s needs a name", ErrConfig, kind)
	}
	if kernel <= 0 || stride < 0 {
		return fmt.Errorf("%w: %s %q: kernel %d, stride %d", ErrConfig, kind, name, kernel, stride)
	}
	if stride == 0 {
		stride = kernel
	}
	p.name, p.kind, p.k, p.s, p.isMax = name, kind, kernel, stride, isMax
	p.fwd, p.bwd, p.argFn = p.forwardPlane, p.backwardPlane, p.argPlane
	return nil
}

// NewMaxPool2D returns a max pool; stride 0 means stride = kernel.
func NewMaxPool2D(name string, kernel, stride int) (*MaxPool2D, error) {
	l := &MaxPool2D{}
	if err := l.init(name, "MaxPool2D", kernel, stride, true); err != nil {
		return nil, err
	}
	return l, nil
}

// NewAvgPool2D returns an average pool; stride 0 means stride = kernel.
func NewAvgPool2D(name string, kernel, stride int) (*AvgPool2D, error) {
	l := &AvgPool2D{}
	if err := l.init(name, "AvgPool2D", kernel, stride, false); err != nil {
		return nil, err
	}
	return l, nil
}

// Kind returns "MaxPool2D" or "AvgPool2D".
func (p *pool2D) Kind() string { return p.kind }

// KernelStride returns the window size and stride.
func (p *pool2D) KernelStride() (kernel, stride int) { return p.k, p.s }

// OutputShape maps (C, H, W) to (C, (H-k)/s+1, (W-k)/s+1).
func (p *pool2D) OutputShape(in []int) ([]int, error) {
	if len(in) != 3 || in[1] < p.k || in[2] < p.k {
		return nil, p.shapeErr(p.kind, in, fmt.Sprintf("(C, H, W) with H, W >= %d", p.k))
	}
	return []int{in[0], convOut(in[1], p.k, p.s, 0), convOut(in[2], p.k, p.s, 0)}, nil
}

func (p *pool2D) flops(in []int) int64 {
	out, err := p.OutputShape(in)
	if err != nil {
		return 0
	}
	return int64(p.k*p.k) * int64(tensor.Size(out))
}

// Forward pools x, shape (N, C, H, W), into a layer-owned buffer.
func (p *pool2D) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	if err := p.prepare(x); err != nil {
		return nil, err
	}
	parallel(x.Shape[0]*x.Shape[1], p.fwd)
	return &p.y, nil
}

// prepare checks x and sizes the buffers for a Forward on it; planes are
// then pooled by forwardPlane, each independently of the others.
func (p *pool2D) prepare(x *tensor.Tensor) error {
	if len(x.Shape) != 4 {
		return p.shapeErr(p.kind, x.Shape, "(N, C, H, W)")
	}
	if x.Shape[2] < p.k || x.Shape[3] < p.k {
		_, err := p.OutputShape(x.Shape[1:])
		return err
	}
	p.x = x
	p.h, p.w = x.Shape[2], x.Shape[3]
	p.oh, p.ow = convOut(p.h, p.k, p.s, 0), convOut(p.w, p.k, p.s, 0)
	p.y.Resize(x.Shape[0], x.Shape[1], p.oh, p.ow)
	if p.isMax {
		if cap(p.arg) < len(p.y.Data) {
			p.arg = make([]int32, len(p.y.Data))
		}
		p.arg = p.arg[:len(p.y.Data)]
	}
	p.argStale = p.isMax && p.k == 2 && p.s == 2 && !p.training
	return nil
}

func (p *pool2D) forwardPlane(_, i int) {
	hw, ohw := p.h*p.w, p.oh*p.ow
	x := p.x.Data[i*hw : (i+1)*hw]
	y := p.y.Data[i*ohw : (i+1)*ohw]
	inv := 1 / float32(p.k*p.k)
	if p.isMax && p.k == 2 && p.s == 2 {
		if p.argStale {
			p.maxPool2Values(x, y)
			return
		}
		p.maxPool2(x, y, p.arg[i*ohw:(i+1)*ohw])
		return
	}
	for oy := 0; oy < p.oh; oy++ {
		for ox := 0; ox < p.ow; ox++ {
			base := oy*p.s*p.w + ox*p.s
			if p.isMax {
				best, bi := x[base], base
				for ky := 0; ky < p.k; ky++ {
					row := x[base+ky*p.w : base+ky*p.w+p.k]
					for kx, v := range row {
						// v != v: a NaN wins, so it propagates as in PyTorch.
						if v > best || (v != v && best == best) {
							best, bi = v, base+ky*p.w+kx
						}
					}
				}
				y[oy*p.ow+ox] = best
				p.arg[i*ohw+oy*p.ow+ox] = int32(bi)
			} else {
				var s float32
				for ky := 0; ky < p.k; ky++ {
					for _, v := range x[base+ky*p.w : base+ky*p.w+p.k] {
						s += v
					}
				}
				y[oy*p.ow+ox] = s * inv
			}
		}
	}
}

// maxPool2 is the 2x2, stride-2 max pool of one plane, written without
// data-dependent branches (the winner of random data is unpredictable).
// Ties keep the first element in window order, as the general path does.
func (p *pool2D) maxPool2(x, y []float32, arg []int32) {
	maxPool2Rows(x, y, arg, p.w, p.oh, p.ow)
}

// maxPool2Rows is maxPool2 on oh rows of ow outputs, input rows w apart.
func maxPool2Rows(x, y []float32, arg []int32, w, oh, ow int) {
	for oy := 0; oy < oh; oy++ {
		r0 := x[2*oy*w : 2*oy*w+2*ow]
		r1 := x[(2*oy+1)*w : (2*oy+1)*w+2*ow]
		yr := y[oy*ow : (oy+1)*ow]
		ar := arg[oy*ow : (oy+1)*ow]
		base := int32(2 * oy * w)
		for ox := range yr {
			v0, v1, v2, v3 := r0[2*ox], r0[2*ox+1], r1[2*ox], r1[2*ox+1]
			best := max(max(v0, v1), max(v2, v3)) // NaN-propagating, branchless
			// The first window element equal to the maximum, by integer
			// conditional moves; a NaN maximum keeps the last element.
			off := int32(w + 2*ox + 1)
			if v2 == best {
				off = int32(w + 2*ox)
			}
			if v1 == best {
				off = int32(2*ox + 1)
			}
			if v0 == best {
				off = int32(2 * ox)
			}
			yr[ox], ar[ox] = best, base+off
		}
	}
}

// maxPool2Values is maxPool2 without the argmax, for inference: the same
// maxima.
func (p *pool2D) maxPool2Values(x, y []float32) {
	w := p.w
	for oy := 0; oy < p.oh; oy++ {
		r0 := x[2*oy*w : 2*oy*w+2*p.ow]
		r1 := x[(2*oy+1)*w : (2*oy+1)*w+2*p.ow]
		yr := y[oy*p.ow : (oy+1)*p.ow]
		ox := 0
		if n := p.ow &^ 7; useSIMD && n > 0 {
			maxPool2RowAVX2(&yr[0], &r0[0], &r1[0], n)
			ox = n
		}
		for ; ox < len(yr); ox++ {
			yr[ox] = max(max(r0[2*ox], r0[2*ox+1]), max(r1[2*ox], r1[2*ox+1]))
		}
	}
}

// argPlane computes the argmax of plane i as maxPool2 does (for a
// Backward after an inference-mode Forward), leaving y alone.
func (p *pool2D) argPlane(_, i int) {
	hw, ohw := p.h*p.w, p.oh*p.ow
	var buf [64]float32
	x, arg := p.x.Data[i*hw:(i+1)*hw], p.arg[i*ohw:(i+1)*ohw]
	// Row by row, in pieces of up to 64 outputs whose maxima go to buf.
	for oy := 0; oy < p.oh; oy++ {
		for ox0 := 0; ox0 < p.ow; ox0 += len(buf) {
			n := min(len(buf), p.ow-ox0)
			base := 2*oy*p.w + 2*ox0
			a := arg[oy*p.ow+ox0:][:n]
			maxPool2Rows(x[base:], buf[:n], a, p.w, 1, n)
			for j := range a {
				a[j] += int32(base)
			}
		}
	}
}

// Backward routes dy back to the window elements (max: the argmax; avg:
// evenly) and returns dx in a layer-owned buffer.
func (p *pool2D) Backward(dy *tensor.Tensor) (*tensor.Tensor, error) {
	if p.x == nil {
		return nil, fmt.Errorf("nn: %s %q: Backward before Forward", p.kind, p.name)
	}
	if !tensor.SameShape(dy.Shape, p.y.Shape) {
		return nil, fmt.Errorf("%w: %s %q: gradient shape %v, want %v", ErrShape, p.kind, p.name, dy.Shape, p.y.Shape)
	}
	p.dy = dy
	p.dx.Resize(p.x.Shape...)
	if p.argStale {
		parallel(p.x.Shape[0]*p.x.Shape[1], p.argFn)
		p.argStale = false
	}
	parallel(p.x.Shape[0]*p.x.Shape[1], p.bwd)
	return &p.dx, nil
}

func (p *pool2D) backwardPlane(_, i int) {
	hw, ohw := p.h*p.w, p.oh*p.ow
	dx := p.dx.Data[i*hw : (i+1)*hw]
	dy := p.dy.Data[i*ohw : (i+1)*ohw]
	clear(dx)
	if p.isMax {
		arg := p.arg[i*ohw : (i+1)*ohw]
		for j, d := range dy {
			dx[arg[j]] += d
		}
		return
	}
	inv := 1 / float32(p.k*p.k)
	for oy := 0; oy < p.oh; oy++ {
		for ox := 0; ox < p.ow; ox++ {
			g := dy[oy*p.ow+ox] * inv
			base := oy*p.s*p.w + ox*p.s
			for ky := 0; ky < p.k; ky++ {
				row := dx[base+ky*p.w : base+ky*p.w+p.k]
				for kx := range row {
					row[kx] += g
				}
			}
		}
	}
}

// GlobalAvgPool averages each channel over all spatial positions: (N, C,
// H, W) to (N, C), ready for a Dense layer (PyTorch AdaptiveAvgPool2d(1)
// followed by flatten).
type GlobalAvgPool struct {
	base
	x, dy    *tensor.Tensor
	y, dx    tensor.Tensor
	hw       int
	fwd, bwd taskFunc
}

// NewGlobalAvgPool returns a global average pool named name.
func NewGlobalAvgPool(name string) (*GlobalAvgPool, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: GlobalAvgPool needs a name", ErrConfig)
	}
	l := &GlobalAvgPool{base: base{name: name}}
	l.fwd, l.bwd = l.forwardPlane, l.backwardPlane
	return l, nil
}

// Kind returns "GlobalAvgPool".
func (l *GlobalAvgPool) Kind() string { return "GlobalAvgPool" }

// OutputShape maps (C, H, W) to (C).
func (l *GlobalAvgPool) OutputShape(in []int) ([]int, error) {
	if len(in) != 3 || in[1] <= 0 || in[2] <= 0 {
		return nil, l.shapeErr("GlobalAvgPool", in, "(C, H, W)")
	}
	return []int{in[0]}, nil
}

func (l *GlobalAvgPool) flops(in []int) int64 { return int64(tensor.Size(in)) }

// Forward averages x, shape (N, C, H, W), into a layer-owned (N, C) buffer.
func (l *GlobalAvgPool) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	if len(x.Shape) != 4 {
		return nil, l.shapeErr("GlobalAvgPool", x.Shape, "(N, C, H, W)")
	}
	if x.Shape[2] <= 0 || x.Shape[3] <= 0 {
		_, err := l.OutputShape(x.Shape[1:])
		return nil, err
	}
	l.x = x
	l.hw = x.Shape[2] * x.Shape[3]
	l.y.Resize(x.Shape[0], x.Shape[1])
	parallel(chunks(len(l.y.Data), 64), l.fwd)
	return &l.y, nil
}

func (l *GlobalAvgPool) forwardPlane(_, ch int) {
	n := len(l.y.Data)
	c := chunks(n, 64)
	inv := 1 / float64(l.hw)
	for i := chunkLo(n, c, ch); i < chunkLo(n, c, ch+1); i++ {
		l.y.Data[i] = float32(sum32(l.x.Data[i*l.hw:(i+1)*l.hw]) * inv)
	}
}

// Backward spreads dy, shape (N, C), evenly over each plane.
func (l *GlobalAvgPool) Backward(dy *tensor.Tensor) (*tensor.Tensor, error) {
	if l.x == nil {
		return nil, fmt.Errorf("nn: GlobalAvgPool %q: Backward before Forward", l.name)
	}
	if !tensor.SameShape(dy.Shape, l.y.Shape) {
		return nil, fmt.Errorf("%w: GlobalAvgPool %q: gradient shape %v, want %v", ErrShape, l.name, dy.Shape, l.y.Shape)
	}
	l.dy = dy
	l.dx.Resize(l.x.Shape...)
	parallel(chunks(len(l.y.Data), 64), l.bwd)
	return &l.dx, nil
}

func (l *GlobalAvgPool) backwardPlane(_, ch int) {
	n := len(l.y.Data)
	c := chunks(n, 64)
	inv := 1 / float32(l.hw)
	for i := chunkLo(n, c, ch); i < chunkLo(n, c, ch+1); i++ {
		g := l.dy.Data[i] * inv
		d := l.dx.Data[i*l.hw : (i+1)*l.hw]
		for j := range d {
			d[j] = g
		}
	}
}

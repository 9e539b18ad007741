package nn

import (
	"fmt"
	"math"

	"github.com/qlab-dev/qlab/qlab/tensor"
)

// elementwise is the shared body of ReLU and ReLU6: y = clamp(x, 0, hi),
// gradient passes where lo < x < hi (PyTorch's convention: 0 at the kinks).
type elementwise struct {
	base
	kind string
	hi   float32 // upper clamp; +Inf for ReLU
	x    *tensor.Tensor
	y    tensor.Tensor
	dx   tensor.Tensor
	dy   *tensor.Tensor
	fwd  taskFunc
	bwd  taskFunc
}

// ReLU is max(x, 0) elementwise, any input shape.
type ReLU struct{ elementwise }

// ReLU6 is min(max(x, 0), 6) elementwise, any input shape.
type ReLU6 struct{ elementwise }

func (e *elementwise) init(name, kind string, hi float32) error {
	if name == "" {
		return fmt.Errorf("%w: %s needs a name", ErrConfig, kind)
	}
	e.name, e.kind, e.hi = name, kind, hi
	e.fwd, e.bwd = e.forwardChunk, e.backwardChunk
	return nil
}

// NewReLU returns a ReLU named name.
func NewReLU(name string) (*ReLU, error) {
	l := &ReLU{}
	if err := l.init(name, "ReLU", maxFloat32); err != nil {
		return nil, err
	}
	return l, nil
}

// NewReLU6 returns a ReLU6 named name.
func NewReLU6(name string) (*ReLU6, error) {
	l := &ReLU6{}
	if err := l.init(name, "ReLU6", 6); err != nil {
		return nil, err
	}
	return l, nil
}

// Kind returns "ReLU" or "ReLU6".
func (e *elementwise) Kind() string { return e.kind }

// OutputShape returns in unchanged.
func (e *elementwise) OutputShape(in []int) ([]int, error) { return copyShape(in), nil }

func (e *elementwise) flops(in []int) int64 { return int64(tensor.Size(in)) }

// elemChunk is the fixed chunk size of elementwise passes.
const elemChunk = 1 << 15

// Forward applies the activation into a layer-owned buffer.
func (e *elementwise) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	e.x = x
	e.y.Resize(x.Shape...)
	parallel((len(x.Data)+elemChunk-1)/elemChunk, e.fwd)
	return &e.y, nil
}

func (e *elementwise) forwardChunk(_, i int) {
	lo, hi := i*elemChunk, min((i+1)*elemChunk, len(e.x.Data))
	xs, ys := e.x.Data[lo:hi], e.y.Data[lo:hi]
	clamp(ys, xs, e.hi)
}

// Backward returns dy masked to where the input was strictly inside
// (0, hi), in a layer-owned buffer.
func (e *elementwise) Backward(dy *tensor.Tensor) (*tensor.Tensor, error) {
	if e.x == nil {
		return nil, fmt.Errorf("nn: %s %q: Backward before Forward", e.kind, e.name)
	}
	if !tensor.SameShape(dy.Shape, e.x.Shape) {
		return nil, fmt.Errorf("%w: %s %q: gradient shape %v, want %v", ErrShape, e.kind, e.name, dy.Shape, e.x.Shape)
	}
	e.dy = dy
	e.dx.Resize(dy.Shape...)
	parallel((len(dy.Data)+elemChunk-1)/elemChunk, e.bwd)
	return &e.dx, nil
}

func (e *elementwise) backwardChunk(_, i int) {
	lo, hi := i*elemChunk, min((i+1)*elemChunk, len(e.x.Data))
	xs, ds, dx := e.x.Data[lo:hi], e.dy.Data[lo:hi], e.dx.Data[lo:hi]
	ds, dx = ds[:len(xs)], dx[:len(xs)]
	passMask(dx, ds, xs, e.passLimit())
}

// passLimit is the bit-pattern bound for passMask: a float32 v lets the
// gradient through when bits(v)-1 < limit (unsigned), which holds exactly
// for 0 < v < hi (and v = +Inf for ReLU); it excludes 0, -0, negatives and
// NaNs.
func (e *elementwise) passLimit() uint32 {
	if e.hi >= maxFloat32 {
		return 0x7f800000 // bits(+Inf)+1-1: +Inf passes, NaNs do not
	}
	return math.Float32bits(e.hi) - 1
}

// passMask sets dx[j] = dy[j] where x[j] is inside the activation's linear
// range and 0 elsewhere, without data-dependent branches (ReLU masks are
// random, so a branch would mispredict half the time).
func passMask(dx, dy, x []float32, limit uint32) {
	dy, x = dy[:len(dx)], x[:len(dx)]
	for j, v := range x {
		m := uint32(0)
		if math.Float32bits(v)-1 < limit {
			m = ^uint32(0)
		}
		dx[j] = math.Float32frombits(math.Float32bits(dy[j]) & m)
	}
}

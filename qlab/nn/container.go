package nn

import (
	"fmt"

	"github.com/qlab-dev/qlab/qlab/tensor"
)

// hook is called after each leaf layer's Forward with its output; nil when
// nobody observes, so an unobserved forward pays one nil check per layer.
type hook func(Layer, *tensor.Tensor)

// hookedForwarder is implemented by the built-in containers so observers
// see the leaves inside them.
type hookedForwarder interface {
	forwardHooked(x *tensor.Tensor, h hook) (*tensor.Tensor, error)
}

// forwardLayer runs l on x and calls h on the outputs of leaves. A
// Container not built by this package is run as one step; its inner layers
// are not observed.
func forwardLayer(l Layer, x *tensor.Tensor, h hook) (*tensor.Tensor, error) {
	if h != nil {
		if c, ok := l.(hookedForwarder); ok {
			return c.forwardHooked(x, h)
		}
	}
	y, err := l.Forward(x)
	if err != nil {
		return nil, err
	}
	if h != nil {
		if _, isContainer := l.(Container); !isContainer {
			h(l, y)
		}
	}
	return y, nil
}

// Sequential runs its layers one after the other.
type Sequential struct {
	name   string
	layers []Layer
}

// NewSequential returns a container running layers in order. It is an
// error for a layer to be nil.
func NewSequential(name string, layers ...Layer) (*Sequential, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: Sequential needs a name", ErrConfig)
	}
	for i, l := range layers {
		if l == nil {
			return nil, fmt.Errorf("%w: Sequential %q: layer %d is nil", ErrConfig, name, i)
		}
	}
	return &Sequential{name: name, layers: append([]Layer(nil), layers...)}, nil
}

// Name returns the container's name.
func (s *Sequential) Name() string { return s.name }

// Kind returns "Sequential".
func (s *Sequential) Kind() string { return "Sequential" }

// Children returns the layers in forward order.
func (s *Sequential) Children() []Layer { return append([]Layer(nil), s.layers...) }

// Params returns the parameters of every layer, in forward order.
func (s *Sequential) Params() []*Param { return collectParams(s.layers) }

// Buffers returns the buffers of every layer, in forward order.
func (s *Sequential) Buffers() []*Param { return collectBuffers(s.layers) }

// SetTraining sets the mode of every layer.
func (s *Sequential) SetTraining(on bool) {
	for _, l := range s.layers {
		l.SetTraining(on)
	}
}

// OutputShape chains the layers' OutputShape.
func (s *Sequential) OutputShape(in []int) ([]int, error) { return chainShapes(s.layers, in) }

// Forward runs the layers in order; the result is owned by the last layer.
func (s *Sequential) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	return s.forwardHooked(x, nil)
}

func (s *Sequential) forwardHooked(x *tensor.Tensor, h hook) (*tensor.Tensor, error) {
	return forwardChain(s.layers, x, h)
}

// Backward runs the layers' Backward in reverse order.
func (s *Sequential) Backward(dy *tensor.Tensor) (*tensor.Tensor, error) {
	return backwardChain(s.layers, dy)
}

// forwardChain runs layers in order. A BatchNorm2D directly followed by a
// ReLU or ReLU6 runs as one fused pass when nobody observes (an observer
// may modify the BatchNorm output before the activation reads it); in
// inference mode a Conv2D directly followed by a BatchNorm2D (and
// activation, and then a pooling layer) also does those passes per sample
// right after its GEMM (see Conv2D.forwardFused). The results are identical either way.
func forwardChain(layers []Layer, x *tensor.Tensor, h hook) (*tensor.Tensor, error) {
	var err error
	for i := 0; i < len(layers); i++ {
		l := layers[i]
		if h == nil && i+1 < len(layers) {
			if conv, ok := l.(*Conv2D); ok && !conv.training {
				if bn, ok := layers[i+1].(*BatchNorm2D); ok && !bn.training {
					var act *elementwise
					var pool *pool2D
					if i+2 < len(layers) {
						act = asActivation(layers[i+2])
					}
					if act != nil && i+3 < len(layers) {
						pool = asPool(layers[i+3])
					}
					if x, err = conv.forwardFused(x, bn, act, pool); err != nil {
						return nil, err
					}
					i++
					if act != nil {
						i++
					}
					if pool != nil {
						i++
					}
					continue
				}
			}
			if bn, ok := l.(*BatchNorm2D); ok {
				if act := asActivation(layers[i+1]); act != nil {
					if x, err = bn.forward(x, act); err != nil {
						return nil, err
					}
					i++
					continue
				}
			}
		}
		if x, err = forwardLayer(l, x, h); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// backwardChain runs the layers' Backward in reverse order, fusing an
// activation's mask into the BatchNorm2D before it when the activation's
// last input was that BatchNorm's output.
func backwardChain(layers []Layer, dy *tensor.Tensor) (*tensor.Tensor, error) {
	var err error
	for i := len(layers) - 1; i >= 0; i-- {
		if i >= 1 {
			if act := asActivation(layers[i]); act != nil {
				if bn, ok := layers[i-1].(*BatchNorm2D); ok && bn.x != nil && (act.x == &bn.y || act.x == &act.y && bn.act == act) {
					if !tensor.SameShape(dy.Shape, act.x.Shape) {
						return nil, fmt.Errorf("%w: %s %q: gradient shape %v, want %v", ErrShape, act.kind, act.name, dy.Shape, act.x.Shape)
					}
					if dy, err = bn.backward(dy, act); err != nil {
						return nil, err
					}
					i--
					continue
				}
			}
		}
		if dy, err = layers[i].Backward(dy); err != nil {
			return nil, err
		}
	}
	return dy, nil
}

func asActivation(l Layer) *elementwise {
	switch a := l.(type) {
	case *ReLU:
		return &a.elementwise
	case *ReLU6:
		return &a.elementwise
	}
	return nil
}

func asPool(l Layer) *pool2D {
	switch p := l.(type) {
	case *MaxPool2D:
		return &p.pool2D
	case *AvgPool2D:
		return &p.pool2D
	}
	return nil
}

func chainShapes(layers []Layer, in []int) ([]int, error) {
	s := copyShape(in)
	var err error
	for _, l := range layers {
		if s, err = l.OutputShape(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func collectParams(layers []Layer) []*Param {
	var ps []*Param
	for _, l := range layers {
		ps = append(ps, l.Params()...)
	}
	return ps
}

func collectBuffers(layers []Layer) []*Param {
	var ps []*Param
	for _, l := range layers {
		if b, ok := l.(Bufferer); ok {
			ps = append(ps, b.Buffers()...)
		}
	}
	return ps
}

// Add is the leaf layer at the end of a Residual that sums the body's
// output and the shortcut's. It exists as a layer so observers and
// quantizers see the sum; its Forward works only inside a Residual, which
// hands it the shortcut operand first.
type Add struct {
	base
	skip *tensor.Tensor
	y    tensor.Tensor
	dx   tensor.Tensor
}

// Kind returns "Add".
func (a *Add) Kind() string { return "Add" }

// OutputShape returns in unchanged.
func (a *Add) OutputShape(in []int) ([]int, error) { return copyShape(in), nil }

func (a *Add) flops(in []int) int64 { return int64(tensor.Size(in)) }

// Forward returns x plus the shortcut operand set by the enclosing
// Residual, in a layer-owned buffer.
func (a *Add) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	if a.skip == nil {
		return nil, fmt.Errorf("nn: Add %q: no shortcut operand (Add runs only inside a Residual)", a.name)
	}
	if !tensor.SameShape(x.Shape, a.skip.Shape) {
		return nil, fmt.Errorf("%w: Add %q: body output %v, shortcut output %v", ErrShape, a.name, x.Shape, a.skip.Shape)
	}
	a.y.Resize(x.Shape...)
	s := a.skip.Data[:len(x.Data)]
	y := a.y.Data[:len(x.Data)]
	for i, v := range x.Data {
		y[i] = v + s[i]
	}
	return &a.y, nil
}

// Backward returns a copy of dy: the gradient of a sum reaches both
// operands unchanged.
func (a *Add) Backward(dy *tensor.Tensor) (*tensor.Tensor, error) {
	a.dx.Resize(dy.Shape...)
	copy(a.dx.Data, dy.Data)
	return &a.dx, nil
}

// Residual computes body(x) + shortcut(x); an empty shortcut is the
// identity. The sum is the leaf layer "<name>/add" (kind "Add").
type Residual struct {
	name     string
	body     []Layer
	shortcut []Layer
	add      *Add
	dx       tensor.Tensor
}

// NewResidual returns a residual block. body must not be empty; shortcut
// may be nil (identity).
func NewResidual(name string, body, shortcut []Layer) (*Residual, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: Residual needs a name", ErrConfig)
	}
	if len(body) == 0 {
		return nil, fmt.Errorf("%w: Residual %q: empty body", ErrConfig, name)
	}
	for i, l := range append(append([]Layer(nil), body...), shortcut...) {
		if l == nil {
			return nil, fmt.Errorf("%w: Residual %q: layer %d is nil", ErrConfig, name, i)
		}
	}
	return &Residual{
		name:     name,
		body:     append([]Layer(nil), body...),
		shortcut: append([]Layer(nil), shortcut...),
		add:      &Add{base: base{name: name + "/add"}},
	}, nil
}

// Name returns the block's name.
func (r *Residual) Name() string { return r.name }

// Kind returns "Residual".
func (r *Residual) Kind() string { return "Residual" }

// Body returns the body layers; Shortcut the shortcut layers (empty for
// the identity); AddLayer the summing leaf.
func (r *Residual) Body() []Layer     { return append([]Layer(nil), r.body...) }
func (r *Residual) Shortcut() []Layer { return append([]Layer(nil), r.shortcut...) }
func (r *Residual) AddLayer() *Add    { return r.add }

// Children returns body layers, then shortcut layers, then the Add leaf:
// the forward order.
func (r *Residual) Children() []Layer {
	c := append(append([]Layer(nil), r.body...), r.shortcut...)
	return append(c, r.add)
}

// Params returns body then shortcut parameters.
func (r *Residual) Params() []*Param { return collectParams(r.Children()) }

// Buffers returns body then shortcut buffers.
func (r *Residual) Buffers() []*Param { return collectBuffers(r.Children()) }

// SetTraining sets the mode of every layer.
func (r *Residual) SetTraining(on bool) {
	for _, l := range r.Children() {
		l.SetTraining(on)
	}
}

// OutputShape checks that body and shortcut agree and returns their shape.
func (r *Residual) OutputShape(in []int) ([]int, error) {
	b, err := chainShapes(r.body, in)
	if err != nil {
		return nil, err
	}
	s, err := chainShapes(r.shortcut, in)
	if err != nil {
		return nil, err
	}
	if !tensor.SameShape(b, s) {
		return nil, fmt.Errorf("%w: Residual %q: input %v gives body output %v but shortcut output %v", ErrShape, r.name, in, b, s)
	}
	return b, nil
}

// Forward returns body(x) + shortcut(x), owned by the Add leaf.
func (r *Residual) Forward(x *tensor.Tensor) (*tensor.Tensor, error) { return r.forwardHooked(x, nil) }

func (r *Residual) forwardHooked(x *tensor.Tensor, h hook) (*tensor.Tensor, error) {
	b, err := forwardChain(r.body, x, h)
	if err != nil {
		return nil, err
	}
	s, err := forwardChain(r.shortcut, x, h)
	if err != nil {
		return nil, err
	}
	r.add.skip = s
	return forwardLayer(r.add, b, h)
}

// Backward sends dy through the Add, then the body and the shortcut, and
// returns the sum of their input gradients in a block-owned buffer.
func (r *Residual) Backward(dy *tensor.Tensor) (*tensor.Tensor, error) {
	g, err := r.add.Backward(dy)
	if err != nil {
		return nil, err
	}
	db, err := backwardChain(r.body, g)
	if err != nil {
		return nil, err
	}
	ds, err := backwardChain(r.shortcut, g)
	if err != nil {
		return nil, err
	}
	if !tensor.SameShape(db.Shape, ds.Shape) {
		return nil, fmt.Errorf("%w: Residual %q: body input gradient %v, shortcut %v", ErrShape, r.name, db.Shape, ds.Shape)
	}
	r.dx.Resize(db.Shape...)
	s := ds.Data[:len(db.Data)]
	dx := r.dx.Data[:len(db.Data)]
	for i, v := range db.Data {
		dx[i] = v + s[i]
	}
	return &r.dx, nil
}

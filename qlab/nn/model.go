package nn

import (
	"fmt"

	"github.com/qlab-dev/qlab/qlab/initializers"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// Model is a named network: top-level layers run in order on input of a
// fixed per-sample shape. It starts in training mode. A Model (like its
// layers) is not safe for concurrent use: run one Forward/Backward at a
// time, or Clone it per goroutine.
type Model struct {
	name      string
	input     []int
	output    []int
	top       []Layer
	leaves    []Layer
	byName    map[string]Layer
	params    []*Param
	buffers   []*Param
	paramBy   map[string]*Param
	training  bool
	observers []*observer
	hook      hook
	lastOut   *tensor.Tensor
	skipDX    bool
}

type observer struct {
	fn func(l Layer, out *tensor.Tensor)
}

// NewModel validates the layers' shapes from inputShape (per sample, e.g.
// (3, 32, 32)) through OutputShape, checks that layer and parameter names
// are unique, and initializes the weights with Glorot uniform, seed 0, so
// the model is usable at once (call Initialize for another scheme).
func NewModel(name string, inputShape []int, layers ...Layer) (*Model, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: model needs a name", ErrConfig)
	}
	if len(layers) == 0 {
		return nil, fmt.Errorf("%w: model %q has no layers", ErrConfig, name)
	}
	if len(inputShape) == 0 || tensor.Size(inputShape) <= 0 {
		return nil, fmt.Errorf("%w: model %q: input shape %v", ErrShape, name, inputShape)
	}
	m := &Model{name: name, input: copyShape(inputShape), byName: map[string]Layer{}, paramBy: map[string]*Param{}, training: true}
	for i, l := range layers {
		if l == nil {
			return nil, fmt.Errorf("%w: model %q: layer %d is nil", ErrConfig, name, i)
		}
	}
	m.top = append([]Layer(nil), layers...)
	out, err := chainShapes(m.top, m.input)
	if err != nil {
		return nil, fmt.Errorf("nn: model %q: %w", name, err)
	}
	m.output = out
	var walk func(l Layer) error
	walk = func(l Layer) error {
		if _, dup := m.byName[l.Name()]; dup {
			return fmt.Errorf("%w: model %q: duplicate layer name %q", ErrConfig, name, l.Name())
		}
		m.byName[l.Name()] = l
		if c, ok := l.(Container); ok {
			for _, ch := range c.Children() {
				if err := walk(ch); err != nil {
					return err
				}
			}
			return nil
		}
		m.leaves = append(m.leaves, l)
		m.params = append(m.params, l.Params()...)
		if b, ok := l.(Bufferer); ok {
			m.buffers = append(m.buffers, b.Buffers()...)
		}
		return nil
	}
	for _, l := range m.top {
		if err := walk(l); err != nil {
			return nil, err
		}
	}
	for _, p := range append(append([]*Param(nil), m.params...), m.buffers...) {
		if _, dup := m.paramBy[p.Name]; dup {
			return nil, fmt.Errorf("%w: model %q: duplicate parameter name %q", ErrConfig, name, p.Name)
		}
		m.paramBy[p.Name] = p
	}
	m.SetTraining(true)
	if err := m.Initialize(initializers.GlorotUniform(), 0); err != nil {
		return nil, err
	}
	return m, nil
}

// Name returns the model's name.
func (m *Model) Name() string { return m.name }

// InputShape returns the per-sample input shape.
func (m *Model) InputShape() []int { return copyShape(m.input) }

// OutputShape returns the per-sample output shape.
func (m *Model) OutputShape() []int { return copyShape(m.output) }

// TopLayers returns the layers passed to NewModel.
func (m *Model) TopLayers() []Layer { return append([]Layer(nil), m.top...) }

// Layers returns every leaf layer (containers expanded) in forward order.
func (m *Model) Layers() []Layer { return append([]Layer(nil), m.leaves...) }

// Layer returns the layer (leaf or container) with the given name, or nil.
func (m *Model) Layer(name string) Layer { return m.byName[name] }

// Params returns the trainable parameters in forward order.
func (m *Model) Params() []*Param { return append([]*Param(nil), m.params...) }

// Buffers returns the non-trainable buffers (BatchNorm running statistics)
// in forward order.
func (m *Model) Buffers() []*Param { return append([]*Param(nil), m.buffers...) }

// Param returns the parameter or buffer with the given name, or nil.
func (m *Model) Param(name string) *Param { return m.paramBy[name] }

// SetTraining switches every layer to training (true) or inference mode.
func (m *Model) SetTraining(on bool) {
	m.training = on
	for _, l := range m.top {
		l.SetTraining(on)
	}
}

// Train is SetTraining(true); Eval is SetTraining(false).
func (m *Model) Train() { m.SetTraining(true) }
func (m *Model) Eval()  { m.SetTraining(false) }

// Training reports whether the model is in training mode.
func (m *Model) Training() bool { return m.training }

// ZeroGrad sets every parameter gradient to 0.
func (m *Model) ZeroGrad() {
	for _, p := range m.params {
		p.Grad.Zero()
	}
}

// Forward runs x, shape (N, input shape...), through the model and
// returns the output (owned by the last layer; copy it to keep it). Each
// observer is called after each leaf layer.
func (m *Model) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	if x == nil || len(x.Shape) != len(m.input)+1 || !tensor.SameShape(x.Shape[1:], m.input) || x.Shape[0] <= 0 {
		var got []int
		if x != nil {
			got = x.Shape
		}
		return nil, fmt.Errorf("%w: model %q: input shape %v, want (N, %v)", ErrShape, m.name, got, m.input)
	}
	if len(x.Data) != tensor.Size(x.Shape) {
		return nil, fmt.Errorf("%w: model %q: input of shape %v holds %d values", ErrShape, m.name, x.Shape, len(x.Data))
	}
	y, err := forwardChain(m.top, x, m.hook)
	if err != nil {
		return nil, err
	}
	m.lastOut = y
	return y, nil
}

// Backward propagates dy (the gradient of the loss with respect to the
// last Forward's output) back through every layer, adding into parameter
// gradients, and returns the gradient with respect to the input (owned by
// the first layer).
func (m *Model) Backward(dy *tensor.Tensor) (*tensor.Tensor, error) {
	if m.lastOut == nil {
		return nil, fmt.Errorf("nn: model %q: Backward before Forward", m.name)
	}
	if dy == nil || !tensor.SameShape(dy.Shape, m.lastOut.Shape) {
		var got []int
		if dy != nil {
			got = dy.Shape
		}
		return nil, fmt.Errorf("%w: model %q: gradient shape %v, want %v", ErrShape, m.name, got, m.lastOut.Shape)
	}
	dx, err := backwardChain(m.top, dy)
	if m.skipDX {
		return nil, err
	}
	return dx, err
}

// SkipInputGradient, when skip is true, makes Backward skip the gradient
// with respect to the model input, which training never uses, and return
// a nil tensor; the first layer, if it is a top-level Conv2D, then saves its
// input-gradient GEMM. The default (false) computes it.
func (m *Model) SkipInputGradient(skip bool) {
	m.skipDX = skip
	// Only a first layer that is itself a leaf: inside a container its
	// input gradient is combined with others.
	if s, ok := m.top[0].(inputGradSkipper); ok {
		s.skipInputGrad(skip)
	}
}

// Observe registers fn to be called after every leaf layer's Forward
// (training and inference), in forward order, with the layer and its
// output. fn may read the output and may modify it in place (fake
// quantization does); it must not keep it past the call without copying.
// The returned function removes the observer. Without observers Forward
// pays nothing for this feature.
func (m *Model) Observe(fn func(l Layer, out *tensor.Tensor)) (remove func()) {
	o := &observer{fn: fn}
	m.observers = append(m.observers, o)
	m.updateHook()
	return func() {
		for i, x := range m.observers {
			if x == o {
				m.observers = append(m.observers[:i:i], m.observers[i+1:]...)
				break
			}
		}
		m.updateHook()
	}
}

func (m *Model) updateHook() {
	switch len(m.observers) {
	case 0:
		m.hook = nil
	case 1:
		m.hook = m.observers[0].fn
	default:
		obs := append([]*observer(nil), m.observers...)
		m.hook = func(l Layer, out *tensor.Tensor) {
			for _, o := range obs {
				o.fn(l, out)
			}
		}
	}
}

// Initialize fills every Weight parameter with weights.Fill(p.Value,
// p.Layout, initializers.SeedFor(seed, p.Name)), so each layer's draw
// depends only on the seed and its own name; biases and BatchNorm beta
// become 0, gamma 1, running means 0 and running variances 1; gradients
// are zeroed.
func (m *Model) Initialize(weights initializers.Initializer, seed uint64) error {
	for _, p := range m.params {
		switch p.Kind {
		case Weight:
			if err := weights.Fill(p.Value, p.Layout, initializers.SeedFor(seed, p.Name)); err != nil {
				return fmt.Errorf("nn: model %q: initializing %q: %w", m.name, p.Name, err)
			}
		case Gamma:
			fill(p.Value.Data, 1)
		default:
			fill(p.Value.Data, 0)
		}
		p.Grad.Zero()
	}
	for _, b := range m.buffers {
		if b.Kind == RunningVar {
			fill(b.Value.Data, 1)
		} else {
			fill(b.Value.Data, 0)
		}
	}
	return nil
}

func fill(d []float32, v float32) {
	for i := range d {
		d[i] = v
	}
}

// CheckFinite returns an error naming the first leaf layer whose last
// output holds a NaN or Inf, or nil. Call it after Forward (its outputs
// are valid until the next Forward); it costs one pass over every output.
// Without observers, a BatchNorm2D followed by a ReLU or ReLU6 runs fused
// and keeps no output of its own, so a NaN it produces is reported at the
// activation; attach an observer (even a no-op) to have every layer
// checked separately.
func (m *Model) CheckFinite() error {
	for _, l := range m.leaves {
		if o, ok := l.(interface{ lastOutput() *tensor.Tensor }); ok {
			if err := CheckFinite(l.Name(), o.lastOutput()); err != nil {
				return fmt.Errorf("nn: model %q: %w", m.name, err)
			}
		}
	}
	return nil
}

// CheckParams returns an error naming the first parameter whose value or
// gradient holds a NaN or Inf, or nil.
func (m *Model) CheckParams() error {
	for _, p := range m.params {
		if err := CheckFinite(p.Name, p.Value); err != nil {
			return fmt.Errorf("nn: model %q: parameter value: %w", m.name, err)
		}
		if err := CheckFinite(p.Name, p.Grad); err != nil {
			return fmt.Errorf("nn: model %q: parameter gradient: %w", m.name, err)
		}
	}
	return nil
}

package nn

import (
	"fmt"
)

// Clone returns an independent copy of the model: same structure, names,
// mode, parameter values and buffers; gradients zeroed; no observers.
// Quantization works on a clone so the float model stays intact. Only
// layers built by this package can be cloned.
func (m *Model) Clone() (*Model, error) {
	top := make([]Layer, len(m.top))
	for i, l := range m.top {
		c, err := cloneLayer(l)
		if err != nil {
			return nil, fmt.Errorf("nn: model %q: clone: %w", m.name, err)
		}
		top[i] = c
	}
	c, err := NewModel(m.name, m.input, top...)
	if err != nil {
		return nil, err
	}
	if err := c.CopyFrom(m); err != nil {
		return nil, err
	}
	c.SetTraining(m.training)
	c.SkipInputGradient(m.skipDX)
	return c, nil
}

// CopyFrom copies every parameter value and buffer of src into m; the two
// must have the same parameter names and shapes.
func (m *Model) CopyFrom(src *Model) error {
	return m.LoadState(src.State())
}

// State returns a copy of every parameter value and buffer, keyed by name.
func (m *Model) State() map[string][]float32 {
	st := make(map[string][]float32, len(m.params)+len(m.buffers))
	for _, p := range m.params {
		st[p.Name] = append([]float32(nil), p.Value.Data...)
	}
	for _, p := range m.buffers {
		st[p.Name] = append([]float32(nil), p.Value.Data...)
	}
	return st
}

// LoadState sets every parameter and buffer from st, which must hold
// exactly m's names with the right sizes; on error m is unchanged.
func (m *Model) LoadState(st map[string][]float32) error {
	all := append(append([]*Param(nil), m.params...), m.buffers...)
	if len(st) != len(all) {
		for name := range st {
			if m.paramBy[name] == nil {
				return fmt.Errorf("nn: model %q: state has unknown tensor %q", m.name, name)
			}
		}
	}
	for _, p := range all {
		v, ok := st[p.Name]
		if !ok {
			return fmt.Errorf("nn: model %q: state lacks %q", m.name, p.Name)
		}
		if len(v) != p.Value.Len() {
			return fmt.Errorf("%w: model %q: state %q has %d values, want %d (shape %v)", ErrShape, m.name, p.Name, len(v), p.Value.Len(), p.Value.Shape)
		}
	}
	for _, p := range all {
		copy(p.Value.Data, st[p.Name])
	}
	for _, p := range m.params {
		p.Grad.Zero()
	}
	return nil
}

func cloneLayers(ls []Layer) ([]Layer, error) {
	out := make([]Layer, len(ls))
	for i, l := range ls {
		c, err := cloneLayer(l)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

// cloneLayer rebuilds l from its configuration; values are copied later by
// LoadState.
func cloneLayer(l Layer) (Layer, error) {
	switch t := l.(type) {
	case *Conv2D:
		return NewConv2D(t.name, t.cfg)
	case *DepthwiseConv2D:
		return NewDepthwiseConv2D(t.name, t.cfg)
	case *BatchNorm2D:
		return NewBatchNorm2D(t.name, t.Config())
	case *ReLU:
		return NewReLU(t.name)
	case *ReLU6:
		return NewReLU6(t.name)
	case *MaxPool2D:
		return NewMaxPool2D(t.name, t.k, t.s)
	case *AvgPool2D:
		return NewAvgPool2D(t.name, t.k, t.s)
	case *GlobalAvgPool:
		return NewGlobalAvgPool(t.name)
	case *Flatten:
		return NewFlatten(t.name)
	case *Dense:
		return NewDense(t.name, t.in, t.out, t.bias != nil)
	case *Dropout:
		return NewDropout(t.name, t.p, t.seed)
	case *Sequential:
		ls, err := cloneLayers(t.layers)
		if err != nil {
			return nil, err
		}
		return NewSequential(t.name, ls...)
	case *Residual:
		b, err := cloneLayers(t.body)
		if err != nil {
			return nil, err
		}
		s, err := cloneLayers(t.shortcut)
		if err != nil {
			return nil, err
		}
		return NewResidual(t.name, b, s)
	}
	return nil, fmt.Errorf("%w: cannot clone layer %q of kind %s (not built by package nn)", ErrConfig, l.Name(), l.Kind())
}

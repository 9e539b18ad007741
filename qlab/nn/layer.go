package nn

import (
	"errors"
	"fmt"

	"github.com/qlab-dev/qlab/qlab/initializers"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// ErrShape is returned (wrapped, with the layer name and the shape) when a
// layer receives an input of the wrong shape.
var ErrShape = errors.New("nn: bad shape")

// ErrConfig is returned (wrapped) by constructors given an invalid config.
var ErrConfig = errors.New("nn: bad config")

// ErrNotFinite is returned (wrapped) by CheckFinite when a tensor holds a
// NaN or an Inf.
var ErrNotFinite = errors.New("nn: non-finite value")

// Layer is one step of a network. Shapes passed to Forward and Backward
// include the batch axis; OutputShape works on per-sample shapes (no batch
// axis).
//
// The tensor returned by Forward (the output) and by Backward (the gradient
// with respect to the input) is a buffer owned by the layer and reused on
// the next call: copy it to keep it. Backward must follow a Forward on the
// same batch; it adds into the gradients of Params and does not modify dy.
type Layer interface {
	// Name is the layer's unique name in its model, e.g. "block1/conv".
	Name() string
	// Kind is the layer type, e.g. "Conv2D", "BatchNorm2D", "Add".
	Kind() string
	Forward(x *tensor.Tensor) (*tensor.Tensor, error)
	Backward(dy *tensor.Tensor) (*tensor.Tensor, error)
	// Params lists the trainable parameters (nil for none).
	Params() []*Param
	// OutputShape maps a per-sample input shape to the per-sample output
	// shape, or returns an error naming the layer and the bad shape.
	OutputShape(in []int) ([]int, error)
	// SetTraining switches between training (true) and inference behaviour
	// (BatchNorm batch statistics, Dropout masks).
	SetTraining(training bool)
}

// Container is a Layer made of other layers. Children are listed in forward
// order.
type Container interface {
	Layer
	Children() []Layer
}

// Bufferer is implemented by layers with non-trainable state (BatchNorm
// running statistics) that checkpoints and BN folding must read and write.
type Bufferer interface {
	Buffers() []*Param
}

// inputGradSkipper is implemented by layers that can skip computing their
// input gradient when it is the model input's (see
// Model.SkipInputGradient).
type inputGradSkipper interface{ skipInputGrad(on bool) }

// ParamKind says what role a parameter plays, so initialization and
// weight decay can treat them differently.
type ParamKind int

const (
	// Weight is a conv, depthwise or dense weight; Model.Initialize fills it
	// with the initializer.
	Weight ParamKind = iota
	// Bias is an additive bias, initialized to 0.
	Bias
	// Gamma is a BatchNorm scale, initialized to 1.
	Gamma
	// Beta is a BatchNorm shift, initialized to 0.
	Beta
	// RunningMean is a BatchNorm running mean buffer (not trainable, Grad
	// nil), initialized to 0.
	RunningMean
	// RunningVar is a BatchNorm running variance buffer (not trainable,
	// Grad nil), initialized to 1.
	RunningVar
)

// String returns the kind's name, e.g. "weight".
func (k ParamKind) String() string {
	switch k {
	case Weight:
		return "weight"
	case Bias:
		return "bias"
	case Gamma:
		return "gamma"
	case Beta:
		return "beta"
	case RunningMean:
		return "running_mean"
	case RunningVar:
		return "running_var"
	}
	return fmt.Sprintf("ParamKind(%d)", int(k))
}

// Param is a named tensor of a layer: a trainable parameter (Grad non-nil,
// same shape as Value) or a buffer (Grad nil).
type Param struct {
	// Name is "<layer name>/<role>", e.g. "block1/conv/weight"; unique in a
	// model and stable, so seeds (initializers.SeedFor) and checkpoints key
	// on it.
	Name string
	// Value holds the parameter; Grad accumulates dLoss/dValue.
	Value, Grad *tensor.Tensor
	// Kind is the parameter's role.
	Kind ParamKind
	// Layout says how Value is laid out (Dense, Conv or Depthwise) for
	// fan computation; meaningful for Kind == Weight.
	Layout initializers.Layout
	// Decay reports whether weight decay should apply (true for weights,
	// false for biases and BatchNorm parameters, the common convention).
	Decay bool
}

func newParam(name string, kind ParamKind, layout initializers.Layout, shape ...int) *Param {
	p := &Param{Name: name, Value: tensor.New(shape...), Kind: kind, Layout: layout, Decay: kind == Weight}
	if kind != RunningMean && kind != RunningVar {
		p.Grad = tensor.New(shape...)
	}
	return p
}

// Padding selects how a convolution pads its input.
type Padding int

const (
	// Same pads each spatial side by kernel/2 (PyTorch padding=k//2), so a
	// stride-1 convolution with an odd kernel keeps the spatial size. The
	// zero value.
	Same Padding = iota
	// Valid does not pad.
	Valid
)

// String returns "same" or "valid".
func (p Padding) String() string {
	switch p {
	case Same:
		return "same"
	case Valid:
		return "valid"
	}
	return fmt.Sprintf("Padding(%d)", int(p))
}

// CheckFinite returns an error wrapping ErrNotFinite that names the layer
// and the first NaN or Inf element of t (its index and value), or nil.
func CheckFinite(layer string, t *tensor.Tensor) error {
	if t == nil {
		return nil
	}
	for i, v := range t.Data {
		if v != v || v > maxFloat32 || v < -maxFloat32 {
			return fmt.Errorf("%w: layer %q: element %d of shape %v is %v", ErrNotFinite, layer, i, t.Shape, v)
		}
	}
	return nil
}

const maxFloat32 = 3.40282346638528859811704183484516925440e+38

// base holds what every leaf layer shares.
type base struct {
	name     string
	training bool
}

func (b *base) Name() string        { return b.name }
func (b *base) SetTraining(on bool) { b.training = on }
func (b *base) Params() []*Param    { return nil }
func (b *base) shapeErr(kind string, got []int, want string) error {
	return fmt.Errorf("%w: %s %q: input shape %v, want %s", ErrShape, kind, b.name, got, want)
}

func copyShape(s []int) []int { return append([]int(nil), s...) }

// convOut is the output extent of a convolution or pool along one axis.
func convOut(in, k, stride, pad int) int {
	return (in+2*pad-k)/stride + 1
}

package arch

import (
	"errors"
	"fmt"

	"github.com/qlab-dev/qlab/qlab/initializers"
	"github.com/qlab-dev/qlab/qlab/nn"
)

// ErrSpec is returned (wrapped, naming the spec and the field) when a spec
// is invalid.
var ErrSpec = errors.New("arch: bad spec")

// Spec is a network description that builds an nn.Model. VGGSpec,
// ResNetSpec, MobileNetV1Spec and MobileNetV2Spec implement it.
type Spec interface {
	Build() (*nn.Model, error)
}

// Build builds spec: Build(arch.RefNetS()) is the same as
// arch.RefNetS().Build().
func Build(spec Spec) (*nn.Model, error) {
	if spec == nil {
		return nil, fmt.Errorf("%w: nil spec", ErrSpec)
	}
	return spec.Build()
}

// BlockKind selects the conv block of a VGG-like network.
type BlockKind string

const (
	// Regular is a 3x3 convolution (+BN) + activation. The zero value ""
	// means Regular.
	Regular BlockKind = "regular"
	// DepthwiseSeparable is a depthwise 3x3 (+BN) + activation followed by
	// a pointwise 1x1 (+BN) + activation.
	DepthwiseSeparable BlockKind = "depthwise_separable"
)

// Activation selects the nonlinearity.
type Activation string

const (
	// ReLU is max(0, x).
	ReLU Activation = "relu"
	// ReLU6 is min(max(0, x), 6), as in MobileNets.
	ReLU6 Activation = "relu6"
)

var defaultInput = []int{3, 32, 32}

// DefaultInput returns the per-sample input shape a nil Input means:
// CIFAR-10's 3x32x32 (channels, height, width). MNIST users set
// []int{1, 28, 28}.
func DefaultInput() []int { return append([]int(nil), defaultInput...) }

// DefaultClasses is the class count a zero Classes means (CIFAR-10, MNIST).
const DefaultClasses = 10

// common holds what every spec shares, resolved to defaults.
type common struct {
	kind       string // spec type, for errors
	name       string
	input      []int
	classes    int
	bn         bool
	act        Activation
	dropout    float32
	init       initializers.Initializer
	seed       uint64
	bnMomentum float32
	bnEps      float32
}

func resolveCommon(kind, name, defName string, input []int, classes int, bn bool, act, defAct Activation,
	dropout float32, init initializers.Initializer, seed uint64, mom, eps float32) (common, error) {
	c := common{kind: kind, name: name, input: input, classes: classes, bn: bn, act: act, dropout: dropout,
		init: init, seed: seed, bnMomentum: mom, bnEps: eps}
	if c.name == "" {
		c.name = defName
	}
	if c.input == nil {
		c.input = DefaultInput()
	}
	if len(c.input) != 3 || c.input[0] < 1 || c.input[1] < 1 || c.input[2] < 1 {
		return c, fmt.Errorf("%w: %s %q: Input %v; want (channels, height, width), all >= 1", ErrSpec, kind, c.name, c.input)
	}
	c.input = append([]int(nil), c.input...)
	if c.classes == 0 {
		c.classes = DefaultClasses
	}
	if c.classes < 1 {
		return c, fmt.Errorf("%w: %s %q: Classes %d; want >= 1", ErrSpec, kind, c.name, c.classes)
	}
	if c.act == "" {
		c.act = defAct
	}
	if c.act != ReLU && c.act != ReLU6 {
		return c, fmt.Errorf("%w: %s %q: Activation %q; want %q or %q", ErrSpec, kind, c.name, string(c.act), ReLU, ReLU6)
	}
	if !(c.dropout >= 0 && c.dropout < 1) {
		return c, fmt.Errorf("%w: %s %q: Dropout %v; want 0 <= p < 1", ErrSpec, kind, c.name, c.dropout)
	}
	if err := c.init.Validate(); err != nil {
		return c, fmt.Errorf("%w: %s %q: Init: %v", ErrSpec, kind, c.name, err)
	}
	if mom < 0 || mom > 1 || eps < 0 {
		return c, fmt.Errorf("%w: %s %q: BNMomentum %v, BNEps %v; want 0 <= momentum <= 1, eps >= 0", ErrSpec, kind, c.name, mom, eps)
	}
	return c, nil
}

// seq accumulates layers and the first constructor error, so builders read
// as a list of layers.
type seq struct {
	c      *common
	layers []nn.Layer
	err    error
}

func (s *seq) push(l nn.Layer, err error) {
	if s.err != nil {
		return
	}
	if err != nil {
		s.err = err
		return
	}
	s.layers = append(s.layers, l)
}

// conv adds a kxk convolution named name; it has a bias only without BN.
func (s *seq) conv(name string, in, out, k, stride int) {
	s.push(nn.NewConv2D(name, nn.Conv2DConfig{In: in, Out: out, Kernel: k, Stride: stride, Padding: nn.Same, Bias: !s.c.bn}))
}

// dw adds a depthwise kxk convolution named name.
func (s *seq) dw(name string, ch, k, stride int) {
	s.push(nn.NewDepthwiseConv2D(name, nn.DepthwiseConfig{Channels: ch, Kernel: k, Stride: stride, Padding: nn.Same, Bias: !s.c.bn}))
}

// pw adds a pointwise 1x1 convolution named name.
func (s *seq) pw(name string, in, out int) {
	s.push(nn.NewPointwise(name, in, out, !s.c.bn))
}

// norm adds name+"/bn" when the spec uses batch norm.
func (s *seq) norm(name string, ch int) {
	if s.c.bn {
		s.push(nn.NewBatchNorm2D(name+"/bn", nn.BatchNormConfig{Channels: ch, Momentum: s.c.bnMomentum, Eps: s.c.bnEps}))
	}
}

// act adds the spec's activation, named name+"/relu" or name+"/relu6".
func (s *seq) act(name string) { s.actAs(name, s.c.act) }

func (s *seq) actAs(name string, a Activation) {
	if a == ReLU6 {
		s.push(nn.NewReLU6(name + "/relu6"))
		return
	}
	s.push(nn.NewReLU(name + "/relu"))
}

// unit adds a conv (already pushed by the caller) followed by BN and the
// activation: the common "conv + BN + act" group.
func (s *seq) unit(name string, ch int) {
	s.norm(name, ch)
	s.act(name)
}

// head adds global average pooling, optional dropout and the classifier.
func (s *seq) head(ch int) {
	s.push(nn.NewGlobalAvgPool("head/gap"))
	if s.c.dropout > 0 {
		s.push(nn.NewDropout("head/dropout", s.c.dropout, initializers.SeedFor(s.c.seed, "head/dropout")))
	}
	s.push(nn.NewDense("head/fc", ch, s.c.classes, true))
}

// model builds and initializes the model from the accumulated layers.
func (s *seq) model() (*nn.Model, error) {
	if s.err != nil {
		return nil, fmt.Errorf("arch: %s %q: %w", s.c.kind, s.c.name, s.err)
	}
	m, err := nn.NewModel(s.c.name, s.c.input, s.layers...)
	if err != nil {
		return nil, fmt.Errorf("arch: %s %q: %w", s.c.kind, s.c.name, err)
	}
	if err := m.Initialize(s.c.init, s.c.seed); err != nil {
		return nil, fmt.Errorf("arch: %s %q: %w", s.c.kind, s.c.name, err)
	}
	return m, nil
}

package arch

import (
	"fmt"

	"github.com/qlab-dev/qlab/qlab/initializers"
	"github.com/qlab-dev/qlab/qlab/nn"
)

// VGGSpec describes a VGG-like macro-architecture, the family of Yun & Wong's
// ablation: stages of 3x3 conv units at stride 1 with "same" padding, each
// stage ending in a 2x2 max pool, then global average pooling, optional
// dropout and a dense classifier. The first conv unit is always a regular
// convolution ("stem/conv"); with Block = DepthwiseSeparable every later
// unit is depthwise 3x3 (+BN) + activation then pointwise 1x1 (+BN) +
// activation, as in the papers' DWS networks.
//
// The zero value builds, for 3x32x32 input and 10 classes, regular-conv
// stages {32, 32}, {64, 64}, {128} without batch norm (convs then carry
// biases), ReLU, no dropout, Glorot uniform weights, seed 0.
type VGGSpec struct {
	// Name is the model name; "" means "vgg".
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	// Input is the per-sample input shape (C, H, W); nil means 3x32x32
	// (CIFAR-10). MNIST: []int{1, 28, 28}.
	Input []int `json:"input,omitempty" yaml:"input,omitempty"`
	// Classes is the number of outputs; 0 means 10.
	Classes int `json:"classes,omitempty" yaml:"classes,omitempty"`
	// Stages lists, per stage, the output widths of its conv units (the
	// first unit of the first stage is the stem); each stage ends in a max
	// pool 2, so H and W must be divisible enough to survive len(Stages)
	// halvings. nil means {{32, 32}, {64, 64}, {128}}.
	Stages [][]int `json:"stages,omitempty" yaml:"stages,omitempty"`
	// Block is Regular ("" means Regular) or DepthwiseSeparable.
	Block BlockKind `json:"block,omitempty" yaml:"block,omitempty"`
	// BatchNorm adds a BatchNorm2D after every conv; without it convs
	// have biases. Default false.
	BatchNorm bool `json:"batch_norm,omitempty" yaml:"batch_norm,omitempty"`
	// BNMomentum and BNEps configure every BatchNorm2D in nn's (PyTorch)
	// convention; 0 means nn's defaults, 0.1 and 1e-5. Keras's defaults
	// are momentum 0.01 (its 0.99) and eps 1e-3.
	BNMomentum float32 `json:"bn_momentum,omitempty" yaml:"bn_momentum,omitempty"`
	BNEps      float32 `json:"bn_eps,omitempty" yaml:"bn_eps,omitempty"`
	// Activation is ReLU ("" means ReLU) or ReLU6.
	Activation Activation `json:"activation,omitempty" yaml:"activation,omitempty"`
	// Dropout is the drop probability before the classifier; 0 means no
	// dropout layer.
	Dropout float32 `json:"dropout,omitempty" yaml:"dropout,omitempty"`
	// Init initializes every conv and dense weight (biases 0, BN gamma 1,
	// beta 0); the zero value is Glorot uniform.
	Init initializers.Initializer `json:"init" yaml:"init"`
	// Seed seeds the weights (per parameter, through initializers.SeedFor)
	// and the dropout mask.
	Seed uint64 `json:"seed,omitempty" yaml:"seed,omitempty"`
}

// DefaultVGGStages returns the stages a nil VGGSpec.Stages means:
// {{32, 32}, {64, 64}, {128}}, RefNet-S's.
func DefaultVGGStages() [][]int { return [][]int{{32, 32}, {64, 64}, {128}} }

// RefNetS returns the spec of RefNet-S, the project's reference network
// (shared/DESIGN.md): input 3x32x32; conv3x3(3->32, pad 1, no bias)+BN+ReLU,
// conv3x3(32->32)+BN+ReLU, maxpool2, conv3x3(32->64)+BN+ReLU,
// conv3x3(64->64)+BN+ReLU, maxpool2, conv3x3(64->128)+BN+ReLU, maxpool2,
// global average pool, dense(128->10) with bias. 141,034 trainable
// parameters. Set Init and Seed on the result to change the weights.
func RefNetS() VGGSpec {
	return VGGSpec{
		Name:      "refnet-s",
		Input:     []int{3, 32, 32},
		Classes:   10,
		Stages:    DefaultVGGStages(),
		Block:     Regular,
		BatchNorm: true,
	}
}

// RefNetDWS returns the spec of RefNet-DWS: RefNet-S with every conv after
// the first replaced by depthwise3x3(C)+BN+ReLU then pointwise1x1(C->C')+
// BN+ReLU. 20,266 trainable parameters.
func RefNetDWS() VGGSpec {
	s := RefNetS()
	s.Name = "refnet-dws"
	s.Block = DepthwiseSeparable
	return s
}

// Build builds the network; see VGGSpec for the layout and Package arch
// for the layer names.
func (v VGGSpec) Build() (*nn.Model, error) {
	c, err := resolveCommon("VGGSpec", v.Name, "vgg", v.Input, v.Classes, v.BatchNorm, v.Activation, ReLU,
		v.Dropout, v.Init, v.Seed, v.BNMomentum, v.BNEps)
	if err != nil {
		return nil, err
	}
	stages := v.Stages
	if stages == nil {
		stages = DefaultVGGStages()
	}
	if len(stages) == 0 || len(stages[0]) == 0 {
		return nil, fmt.Errorf("%w: VGGSpec %q: Stages %v; want at least one stage and a first stage with at least one width", ErrSpec, c.name, stages)
	}
	for i, st := range stages {
		for j, w := range st {
			if w < 1 {
				return nil, fmt.Errorf("%w: VGGSpec %q: Stages[%d][%d] = %d; want >= 1", ErrSpec, c.name, i, j, w)
			}
		}
	}
	block := v.Block
	if block == "" {
		block = Regular
	}
	if block != Regular && block != DepthwiseSeparable {
		return nil, fmt.Errorf("%w: VGGSpec %q: Block %q; want %q or %q", ErrSpec, c.name, string(block), Regular, DepthwiseSeparable)
	}
	s := &seq{c: &c}
	ch, k := c.input[0], 0
	for i, st := range stages {
		for _, w := range st {
			switch {
			case k == 0:
				s.conv("stem/conv", ch, w, 3, 1)
				s.unit("stem/conv", w)
			case block == Regular:
				name := fmt.Sprintf("block%d/conv", k)
				s.conv(name, ch, w, 3, 1)
				s.unit(name, w)
			default:
				b := fmt.Sprintf("block%d", k)
				s.dw(b+"/dw", ch, 3, 1)
				s.unit(b+"/dw", ch)
				s.pw(b+"/pw", ch, w)
				s.unit(b+"/pw", w)
			}
			ch, k = w, k+1
		}
		s.push(nn.NewMaxPool2D(fmt.Sprintf("pool%d", i+1), 2, 2))
	}
	s.head(ch)
	return s.model()
}

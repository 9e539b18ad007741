package arch

import (
	"fmt"

	"github.com/qlab-dev/qlab/qlab/initializers"
	"github.com/qlab-dev/qlab/qlab/nn"
)

// DWSBlock is one depthwise-separable unit of a MobileNetV1Spec: depthwise
// 3x3 at Stride, then pointwise 1x1 to Out channels.
type DWSBlock struct {
	// Out is the pointwise output width (>= 1).
	Out int `json:"out" yaml:"out"`
	// Stride is the depthwise stride; 0 means 1.
	Stride int `json:"stride,omitempty" yaml:"stride,omitempty"`
}

// MobileNetV1Spec describes a small MobileNetV1-style depthwise-separable
// CNN (Howard et al. 2017): a regular 3x3 stem conv unit, then
// depthwise-separable units (depthwise 3x3 (+BN) + act, pointwise 1x1
// (+BN) + act) whose strides downsample, then global average pooling,
// optional dropout and a dense classifier.
//
// The zero value, for 3x32x32 input and 10 classes: stem 32 at stride 1,
// blocks {64,1} {128,2} {128,1} {256,2} {256,1} (DefaultDWSBlocks),
// no batch norm (convs have biases), ReLU, Glorot uniform, seed 0.
type MobileNetV1Spec struct {
	// Name is the model name; "" means "mobilenet_v1".
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	// Input is the per-sample input shape (C, H, W); nil means 3x32x32.
	Input []int `json:"input,omitempty" yaml:"input,omitempty"`
	// Classes is the number of outputs; 0 means 10.
	Classes int `json:"classes,omitempty" yaml:"classes,omitempty"`
	// StemWidth is the stem conv's width; 0 means 32.
	StemWidth int `json:"stem_width,omitempty" yaml:"stem_width,omitempty"`
	// StemStride is the stem conv's stride; 0 means 1 (ImageNet's
	// MobileNet uses 2 on 224x224 input).
	StemStride int `json:"stem_stride,omitempty" yaml:"stem_stride,omitempty"`
	// Blocks lists the depthwise-separable units; nil means
	// DefaultDWSBlocks().
	Blocks []DWSBlock `json:"blocks,omitempty" yaml:"blocks,omitempty"`
	// BatchNorm adds BatchNorm2D after every conv; without it convs have
	// biases. Default false.
	BatchNorm bool `json:"batch_norm,omitempty" yaml:"batch_norm,omitempty"`
	// BNMomentum and BNEps: see VGGSpec.
	BNMomentum float32 `json:"bn_momentum,omitempty" yaml:"bn_momentum,omitempty"`
	BNEps      float32 `json:"bn_eps,omitempty" yaml:"bn_eps,omitempty"`
	// Activation is ReLU ("" means ReLU, as in the paper) or ReLU6 (as in
	// Keras's MobileNet).
	Activation Activation `json:"activation,omitempty" yaml:"activation,omitempty"`
	// Dropout is the drop probability before the classifier; 0 means none.
	Dropout float32 `json:"dropout,omitempty" yaml:"dropout,omitempty"`
	// Init initializes conv and dense weights; zero value Glorot uniform.
	Init initializers.Initializer `json:"init" yaml:"init"`
	// Seed seeds the weights and the dropout mask.
	Seed uint64 `json:"seed,omitempty" yaml:"seed,omitempty"`
}

// DefaultDWSBlocks returns the units a nil MobileNetV1Spec.Blocks means:
// {64,1} {128,2} {128,1} {256,2} {256,1}.
func DefaultDWSBlocks() []DWSBlock {
	return []DWSBlock{{64, 1}, {128, 2}, {128, 1}, {256, 2}, {256, 1}}
}

// Build builds the network; see MobileNetV1Spec and Package arch for the
// names.
func (m MobileNetV1Spec) Build() (*nn.Model, error) {
	c, err := resolveCommon("MobileNetV1Spec", m.Name, "mobilenet_v1", m.Input, m.Classes, m.BatchNorm, m.Activation, ReLU,
		m.Dropout, m.Init, m.Seed, m.BNMomentum, m.BNEps)
	if err != nil {
		return nil, err
	}
	stem, stemStride := orInt(m.StemWidth, 32), orInt(m.StemStride, 1)
	blocks := m.Blocks
	if blocks == nil {
		blocks = DefaultDWSBlocks()
	}
	if stem < 1 || stemStride < 1 {
		return nil, fmt.Errorf("%w: MobileNetV1Spec %q: StemWidth %d, StemStride %d; want >= 1", ErrSpec, c.name, stem, stemStride)
	}
	for i, b := range blocks {
		if b.Out < 1 || b.Stride < 0 {
			return nil, fmt.Errorf("%w: MobileNetV1Spec %q: Blocks[%d] = %+v; want Out >= 1, Stride >= 0", ErrSpec, c.name, i, b)
		}
	}
	s := &seq{c: &c}
	s.conv("stem/conv", c.input[0], stem, 3, stemStride)
	s.unit("stem/conv", stem)
	ch := stem
	for i, b := range blocks {
		name := fmt.Sprintf("block%d", i+1)
		s.dw(name+"/dw", ch, 3, orInt(b.Stride, 1))
		s.unit(name+"/dw", ch)
		s.pw(name+"/pw", ch, b.Out)
		s.unit(name+"/pw", b.Out)
		ch = b.Out
	}
	s.head(ch)
	return s.model()
}

func orInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// Bottleneck is one row of MobileNetV2's architecture table (Sandler et
// al. 2018, Table 2): Repeats inverted-bottleneck blocks with expansion
// factor Expansion and Out output channels, the first with stride Stride.
type Bottleneck struct {
	// Expansion is the expansion factor t; 0 means 6. With t = 1 the
	// expand conv is left out, as in the paper.
	Expansion int `json:"expansion,omitempty" yaml:"expansion,omitempty"`
	// Out is the output width c (>= 1).
	Out int `json:"out" yaml:"out"`
	// Repeats is n; 0 means 1.
	Repeats int `json:"repeats,omitempty" yaml:"repeats,omitempty"`
	// Stride is s, the first block's depthwise stride; 0 means 1.
	Stride int `json:"stride,omitempty" yaml:"stride,omitempty"`
}

// MobileNetV2Spec describes a MobileNetV2 (Sandler et al. 2018): a 3x3 stem
// conv unit, inverted-bottleneck blocks — 1x1 expand to t*C (+BN) + ReLU6,
// depthwise 3x3 at stride s (+BN) + ReLU6, 1x1 project to C' (+BN), linear
// — with a residual add when the stride is 1 and C == C', then a 1x1 head
// conv (+BN) + ReLU6, global average pooling, optional dropout and a dense
// classifier.
//
// The zero value, for 3x32x32 input and 10 classes: stem 32 at stride 1,
// blocks DefaultBottlenecks() (a CIFAR-sized cut of the paper's table),
// head width 4x the last block's width, no batch norm (convs have
// biases), ReLU6, Glorot uniform, seed 0.
type MobileNetV2Spec struct {
	// Name is the model name; "" means "mobilenet_v2".
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	// Input is the per-sample input shape (C, H, W); nil means 3x32x32.
	Input []int `json:"input,omitempty" yaml:"input,omitempty"`
	// Classes is the number of outputs; 0 means 10.
	Classes int `json:"classes,omitempty" yaml:"classes,omitempty"`
	// StemWidth is the stem conv's width; 0 means 32.
	StemWidth int `json:"stem_width,omitempty" yaml:"stem_width,omitempty"`
	// StemStride is the stem conv's stride; 0 means 1 (the paper uses 2
	// on 224x224 input).
	StemStride int `json:"stem_stride,omitempty" yaml:"stem_stride,omitempty"`
	// Blocks lists the bottleneck rows; nil means DefaultBottlenecks().
	// MobileNetV2Bottlenecks() is the paper's full table.
	Blocks []Bottleneck `json:"blocks,omitempty" yaml:"blocks,omitempty"`
	// HeadWidth is the width of the final 1x1 conv; 0 means 4x the last
	// block's width (1280 = 4x320 in the paper); negative leaves the head
	// conv out.
	HeadWidth int `json:"head_width,omitempty" yaml:"head_width,omitempty"`
	// BatchNorm adds BatchNorm2D after every conv (the standard network);
	// without it convs have biases. Default false.
	BatchNorm bool `json:"batch_norm,omitempty" yaml:"batch_norm,omitempty"`
	// BNMomentum and BNEps: see VGGSpec.
	BNMomentum float32 `json:"bn_momentum,omitempty" yaml:"bn_momentum,omitempty"`
	BNEps      float32 `json:"bn_eps,omitempty" yaml:"bn_eps,omitempty"`
	// Activation is ReLU6 ("" means ReLU6, as in the paper) or ReLU.
	Activation Activation `json:"activation,omitempty" yaml:"activation,omitempty"`
	// Dropout is the drop probability before the classifier; 0 means none
	// (torchvision's MobileNetV2 uses 0.2).
	Dropout float32 `json:"dropout,omitempty" yaml:"dropout,omitempty"`
	// Init initializes conv and dense weights; zero value Glorot uniform.
	Init initializers.Initializer `json:"init" yaml:"init"`
	// Seed seeds the weights and the dropout mask.
	Seed uint64 `json:"seed,omitempty" yaml:"seed,omitempty"`
}

// DefaultBottlenecks returns the rows a nil MobileNetV2Spec.Blocks means,
// sized for 32x32 input and CPU training: (t, c, n, s) = (1, 16, 1, 1),
// (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 2, 2).
func DefaultBottlenecks() []Bottleneck {
	return []Bottleneck{{1, 16, 1, 1}, {6, 24, 2, 1}, {6, 32, 3, 2}, {6, 64, 2, 2}}
}

// MobileNetV2Bottlenecks returns the paper's table (Sandler et al. 2018,
// Table 2): (1,16,1,1), (6,24,2,2), (6,32,3,2), (6,64,4,2), (6,96,3,1),
// (6,160,3,2), (6,320,1,1). For 32x32 input, set the second row's stride
// to 1 as CIFAR adaptations do.
func MobileNetV2Bottlenecks() []Bottleneck {
	return []Bottleneck{{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}}
}

// Build builds the network; see MobileNetV2Spec and Package arch for the
// names.
func (m MobileNetV2Spec) Build() (*nn.Model, error) {
	c, err := resolveCommon("MobileNetV2Spec", m.Name, "mobilenet_v2", m.Input, m.Classes, m.BatchNorm, m.Activation, ReLU6,
		m.Dropout, m.Init, m.Seed, m.BNMomentum, m.BNEps)
	if err != nil {
		return nil, err
	}
	stem, stemStride := orInt(m.StemWidth, 32), orInt(m.StemStride, 1)
	blocks := m.Blocks
	if blocks == nil {
		blocks = DefaultBottlenecks()
	}
	if stem < 1 || stemStride < 1 || len(blocks) == 0 {
		return nil, fmt.Errorf("%w: MobileNetV2Spec %q: StemWidth %d, StemStride %d, %d block rows; want >= 1 each", ErrSpec, c.name, stem, stemStride, len(blocks))
	}
	for i, b := range blocks {
		if b.Out < 1 || b.Expansion < 0 || b.Repeats < 0 || b.Stride < 0 {
			return nil, fmt.Errorf("%w: MobileNetV2Spec %q: Blocks[%d] = %+v; want Out >= 1 and no negative field", ErrSpec, c.name, i, b)
		}
	}
	s := &seq{c: &c}
	s.conv("stem/conv", c.input[0], stem, 3, stemStride)
	s.unit("stem/conv", stem)
	ch, k := stem, 1
	for _, b := range blocks {
		t := orInt(b.Expansion, 6)
		for j := 0; j < orInt(b.Repeats, 1); j++ {
			stride := 1
			if j == 0 {
				stride = orInt(b.Stride, 1)
			}
			name := fmt.Sprintf("block%d", k)
			body := &seq{c: &c}
			hidden := ch * t
			if t != 1 {
				body.pw(name+"/expand", ch, hidden)
				body.unit(name+"/expand", hidden)
			}
			body.dw(name+"/dw", hidden, 3, stride)
			body.unit(name+"/dw", hidden)
			body.pw(name+"/project", hidden, b.Out)
			body.norm(name+"/project", b.Out)
			switch {
			case body.err != nil:
				s.push(nil, body.err)
			case stride == 1 && ch == b.Out:
				s.push(nn.NewResidual(name, body.layers, nil))
			default:
				for _, l := range body.layers {
					s.push(l, nil)
				}
			}
			ch, k = b.Out, k+1
		}
	}
	head := m.HeadWidth
	if head == 0 {
		head = 4 * ch
	}
	if head > 0 {
		s.pw("head/conv", ch, head)
		s.unit("head/conv", head)
		ch = head
	}
	s.head(ch)
	return s.model()
}

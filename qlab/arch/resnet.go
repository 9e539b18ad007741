package arch

import (
	"fmt"

	"github.com/qlab-dev/qlab/qlab/initializers"
	"github.com/qlab-dev/qlab/qlab/nn"
)

// ResNetSpec describes a CIFAR-style residual network of basic blocks (He et
// al. 2016): a 3x3 stem conv unit, then stages of blocks
// conv3x3(stride s)+BN+act, conv3x3+BN, plus a shortcut — identity, or a
// 1x1 conv (stride s) + BN when the shape changes — added, then the
// activation; the first block of every stage after the first has stride 2.
// Then global average pooling, optional dropout and a dense classifier.
//
// The zero value is ResNet-20 for 3x32x32 input and 10 classes (stem 16,
// widths {16, 32, 64}, 3 blocks each) but without batch norm; set
// BatchNorm for the standard network.
type ResNetSpec struct {
	// Name is the model name; "" means "resnet".
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	// Input is the per-sample input shape (C, H, W); nil means 3x32x32.
	Input []int `json:"input,omitempty" yaml:"input,omitempty"`
	// Classes is the number of outputs; 0 means 10.
	Classes int `json:"classes,omitempty" yaml:"classes,omitempty"`
	// StemWidth is the stem conv's output width; 0 means 16.
	StemWidth int `json:"stem_width,omitempty" yaml:"stem_width,omitempty"`
	// Widths lists the stages' widths; nil means {16, 32, 64}.
	Widths []int `json:"widths,omitempty" yaml:"widths,omitempty"`
	// Blocks lists the number of blocks per stage (same length as
	// Widths); nil means 3 per stage (ResNet-20 with the default widths).
	Blocks []int `json:"blocks,omitempty" yaml:"blocks,omitempty"`
	// BatchNorm adds BatchNorm2D after every conv (the standard ResNet);
	// without it convs have biases. Default false.
	BatchNorm bool `json:"batch_norm,omitempty" yaml:"batch_norm,omitempty"`
	// BNMomentum and BNEps: see VGGSpec.
	BNMomentum float32 `json:"bn_momentum,omitempty" yaml:"bn_momentum,omitempty"`
	BNEps      float32 `json:"bn_eps,omitempty" yaml:"bn_eps,omitempty"`
	// Activation is ReLU ("" means ReLU) or ReLU6.
	Activation Activation `json:"activation,omitempty" yaml:"activation,omitempty"`
	// Dropout is the drop probability before the classifier; 0 means none.
	Dropout float32 `json:"dropout,omitempty" yaml:"dropout,omitempty"`
	// Init initializes conv and dense weights; zero value Glorot uniform.
	Init initializers.Initializer `json:"init" yaml:"init"`
	// Seed seeds the weights and the dropout mask.
	Seed uint64 `json:"seed,omitempty" yaml:"seed,omitempty"`
}

// Build builds the network; see ResNetSpec and Package arch for the names.
func (r ResNetSpec) Build() (*nn.Model, error) {
	c, err := resolveCommon("ResNetSpec", r.Name, "resnet", r.Input, r.Classes, r.BatchNorm, r.Activation, ReLU,
		r.Dropout, r.Init, r.Seed, r.BNMomentum, r.BNEps)
	if err != nil {
		return nil, err
	}
	stem := r.StemWidth
	if stem == 0 {
		stem = 16
	}
	widths, blocks := r.Widths, r.Blocks
	if widths == nil {
		widths = []int{16, 32, 64}
	}
	if blocks == nil {
		blocks = make([]int, len(widths))
		for i := range blocks {
			blocks[i] = 3
		}
	}
	if stem < 1 || len(widths) == 0 || len(blocks) != len(widths) {
		return nil, fmt.Errorf("%w: ResNetSpec %q: StemWidth %d, Widths %v, Blocks %v; want StemWidth >= 1 and one block count per width", ErrSpec, c.name, stem, widths, blocks)
	}
	for i := range widths {
		if widths[i] < 1 || blocks[i] < 1 {
			return nil, fmt.Errorf("%w: ResNetSpec %q: stage %d has width %d and %d blocks; want both >= 1", ErrSpec, c.name, i+1, widths[i], blocks[i])
		}
	}
	s := &seq{c: &c}
	s.conv("stem/conv", c.input[0], stem, 3, 1)
	s.unit("stem/conv", stem)
	ch, k := stem, 1
	for i, w := range widths {
		for j := 0; j < blocks[i]; j++ {
			stride := 1
			if i > 0 && j == 0 {
				stride = 2
			}
			name := fmt.Sprintf("block%d", k)
			body := &seq{c: &c}
			body.conv(name+"/conv1", ch, w, 3, stride)
			body.unit(name+"/conv1", w)
			body.conv(name+"/conv2", w, w, 3, 1)
			body.norm(name+"/conv2", w)
			short := &seq{c: &c}
			if stride != 1 || ch != w {
				short.push(nn.NewConv2D(name+"/shortcut", nn.Conv2DConfig{In: ch, Out: w, Kernel: 1, Stride: stride, Bias: !c.bn}))
				short.norm(name+"/shortcut", w)
			}
			if body.err != nil || short.err != nil {
				s.push(nil, firstErr(body.err, short.err))
			} else {
				s.push(nn.NewResidual(name, body.layers, short.layers))
			}
			s.act(name)
			ch, k = w, k+1
		}
	}
	s.head(ch)
	return s.model()
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

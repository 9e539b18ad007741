package arch_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/qlab-dev/qlab/qlab/arch"
	"github.com/qlab-dev/qlab/qlab/initializers"
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

var (
	_ arch.Spec = arch.VGGSpec{}
	_ arch.Spec = arch.ResNetSpec{}
	_ arch.Spec = arch.MobileNetV1Spec{}
	_ arch.Spec = arch.MobileNetV2Spec{}
)

// row is one expected leaf layer: name, kind, per-sample output shape and
// trainable parameter count, all worked out by hand from shared/DESIGN.md.
type row struct {
	name   string
	kind   string
	out    []int
	params int
}

// refNetSRows: conv k*k*in*out (no bias), BN 2*C, dense in*out+out.
var refNetSRows = []row{
	{"stem/conv", "Conv2D", []int{32, 32, 32}, 3 * 32 * 9},
	{"stem/conv/bn", "BatchNorm2D", []int{32, 32, 32}, 64},
	{"stem/conv/relu", "ReLU", []int{32, 32, 32}, 0},
	{"block1/conv", "Conv2D", []int{32, 32, 32}, 32 * 32 * 9},
	{"block1/conv/bn", "BatchNorm2D", []int{32, 32, 32}, 64},
	{"block1/conv/relu", "ReLU", []int{32, 32, 32}, 0},
	{"pool1", "MaxPool2D", []int{32, 16, 16}, 0},
	{"block2/conv", "Conv2D", []int{64, 16, 16}, 32 * 64 * 9},
	{"block2/conv/bn", "BatchNorm2D", []int{64, 16, 16}, 128},
	{"block2/conv/relu", "ReLU", []int{64, 16, 16}, 0},
	{"block3/conv", "Conv2D", []int{64, 16, 16}, 64 * 64 * 9},
	{"block3/conv/bn", "BatchNorm2D", []int{64, 16, 16}, 128},
	{"block3/conv/relu", "ReLU", []int{64, 16, 16}, 0},
	{"pool2", "MaxPool2D", []int{64, 8, 8}, 0},
	{"block4/conv", "Conv2D", []int{128, 8, 8}, 64 * 128 * 9},
	{"block4/conv/bn", "BatchNorm2D", []int{128, 8, 8}, 256},
	{"block4/conv/relu", "ReLU", []int{128, 8, 8}, 0},
	{"pool3", "MaxPool2D", []int{128, 4, 4}, 0},
	{"head/gap", "GlobalAvgPool", []int{128}, 0},
	{"head/fc", "Dense", []int{10}, 128*10 + 10},
}

// refNetDWSRows: depthwise C*9, pointwise in*out.
var refNetDWSRows = []row{
	{"stem/conv", "Conv2D", []int{32, 32, 32}, 3 * 32 * 9},
	{"stem/conv/bn", "BatchNorm2D", []int{32, 32, 32}, 64},
	{"stem/conv/relu", "ReLU", []int{32, 32, 32}, 0},
	{"block1/dw", "DepthwiseConv2D", []int{32, 32, 32}, 32 * 9},
	{"block1/dw/bn", "BatchNorm2D", []int{32, 32, 32}, 64},
	{"block1/dw/relu", "ReLU", []int{32, 32, 32}, 0},
	{"block1/pw", "Conv2D", []int{32, 32, 32}, 32 * 32},
	{"block1/pw/bn", "BatchNorm2D", []int{32, 32, 32}, 64},
	{"block1/pw/relu", "ReLU", []int{32, 32, 32}, 0},
	{"pool1", "MaxPool2D", []int{32, 16, 16}, 0},
	{"block2/dw", "DepthwiseConv2D", []int{32, 16, 16}, 32 * 9},
	{"block2/dw/bn", "BatchNorm2D", []int{32, 16, 16}, 64},
	{"block2/dw/relu", "ReLU", []int{32, 16, 16}, 0},
	{"block2/pw", "Conv2D", []int{64, 16, 16}, 32 * 64},
	{"block2/pw/bn", "BatchNorm2D", []int{64, 16, 16}, 128},
	{"block2/pw/relu", "ReLU", []int{64, 16, 16}, 0},
	{"block3/dw", "DepthwiseConv2D", []int{64, 16, 16}, 64 * 9},
	{"block3/dw/bn", "BatchNorm2D", []int{64, 16, 16}, 128},
	{"block3/dw/relu", "ReLU", []int{64, 16, 16}, 0},
	{"block3/pw", "Conv2D", []int{64, 16, 16}, 64 * 64},
	{"block3/pw/bn", "BatchNorm2D", []int{64, 16, 16}, 128},
	{"block3/pw/relu", "ReLU", []int{64, 16, 16}, 0},
	{"pool2", "MaxPool2D", []int{64, 8, 8}, 0},
	{"block4/dw", "DepthwiseConv2D", []int{64, 8, 8}, 64 * 9},
	{"block4/dw/bn", "BatchNorm2D", []int{64, 8, 8}, 128},
	{"block4/dw/relu", "ReLU", []int{64, 8, 8}, 0},
	{"block4/pw", "Conv2D", []int{128, 8, 8}, 64 * 128},
	{"block4/pw/bn", "BatchNorm2D", []int{128, 8, 8}, 256},
	{"block4/pw/relu", "ReLU", []int{128, 8, 8}, 0},
	{"pool3", "MaxPool2D", []int{128, 4, 4}, 0},
	{"head/gap", "GlobalAvgPool", []int{128}, 0},
	{"head/fc", "Dense", []int{10}, 128*10 + 10},
}

func TestRefNets(t *testing.T) {
	tests := []struct {
		name  string
		spec  arch.VGGSpec
		rows  []row
		total int
	}{
		{"refnet-s", arch.RefNetS(), refNetSRows, 141034},
		{"refnet-dws", arch.RefNetDWS(), refNetDWSRows, 20266},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := arch.Build(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if m.Name() != tt.name {
				t.Errorf("model name %q; want %q", m.Name(), tt.name)
			}
			s := m.Summary()
			if len(s.Rows) != len(tt.rows) {
				var got []string
				for _, r := range s.Rows {
					got = append(got, r.Layer)
				}
				t.Fatalf("%d layers %v; want %d", len(s.Rows), got, len(tt.rows))
			}
			sum := 0
			for i, want := range tt.rows {
				got := s.Rows[i]
				if got.Layer != want.name || got.Kind != want.kind || !slices.Equal(got.OutputShape, want.out) || got.Params != want.params {
					t.Errorf("layer %d = %s %s %v %d params; want %s %s %v %d", i, got.Layer, got.Kind, got.OutputShape, got.Params,
						want.name, want.kind, want.out, want.params)
				}
				sum += want.params
			}
			if sum != tt.total || s.TotalParams != tt.total {
				t.Errorf("total params %d (rows sum to %d); want %d", s.TotalParams, sum, tt.total)
			}
			// DESIGN.md: convs have no bias (BN follows); the classifier has one.
			for _, p := range m.Params() {
				if p.Kind == nn.Bias && p.Name != "head/fc/bias" {
					t.Errorf("unexpected bias %s", p.Name)
				}
			}
			if m.Param("head/fc/bias") == nil {
				t.Errorf("head/fc has no bias")
			}
			if !slices.Equal(m.InputShape(), []int{3, 32, 32}) {
				t.Errorf("input shape %v; want [3 32 32]", m.InputShape())
			}
		})
	}
}

// buildCase is a spec with hand-computed expectations.
type buildCase struct {
	name   string
	spec   arch.Spec
	input  []int
	params int      // 0: not checked
	names  []string // leaf layers that must exist
	absent []string // leaf layers that must not exist
}

var buildCases = []buildCase{
	{name: "vgg-zero", spec: arch.VGGSpec{}, input: []int{3, 32, 32},
		// RefNet-S without BN: conv biases instead of BN gamma/beta.
		params: 864 + 32 + 9216 + 32 + 18432 + 64 + 36864 + 64 + 73728 + 128 + 1290,
		names:  []string{"stem/conv", "stem/conv/relu", "block4/conv", "pool3", "head/fc"},
		absent: []string{"stem/conv/bn", "head/dropout"}},
	{name: "vgg-dws-relu6-dropout-mnist", spec: arch.VGGSpec{
		Input: []int{1, 28, 28}, Stages: [][]int{{8}, {16, 16}}, Block: arch.DepthwiseSeparable,
		Activation: arch.ReLU6, Dropout: 0.25, Classes: 5},
		input: []int{1, 28, 28},
		// stem 1*8*9+8; block1 dw 8*9+8, pw 8*16+16; block2 dw 16*9+16, pw 16*16+16; fc 16*5+5
		params: 80 + 80 + 144 + 160 + 272 + 85,
		names:  []string{"stem/conv/relu6", "block1/dw", "block1/dw/relu6", "block1/pw", "block2/pw/relu6", "pool1", "pool2", "head/dropout"},
		absent: []string{"block1/conv", "pool3", "block1/dw/bn"}},
	{name: "resnet-zero", spec: arch.ResNetSpec{}, input: []int{3, 32, 32},
		names:  []string{"block9/add", "block9/relu", "block4/shortcut", "block7/shortcut"},
		absent: []string{"block1/shortcut", "block10/add"}},
	{name: "resnet-small-bn", spec: arch.ResNetSpec{Input: []int{3, 16, 16}, StemWidth: 8, Widths: []int{8, 16}, Blocks: []int{1, 1}, BatchNorm: true},
		input: []int{3, 16, 16},
		// stem 216+16; block1 2*(576+16); block2 1152+32 + 2304+32 + 128+32; fc 170
		params: 232 + 1184 + 3680 + 170,
		names:  []string{"block1/conv1/bn", "block1/conv2/bn", "block1/add", "block2/shortcut", "block2/shortcut/bn"},
		absent: []string{"block1/conv2/relu", "block1/shortcut"}},
	{name: "resnet-small", spec: arch.ResNetSpec{Input: []int{3, 16, 16}, StemWidth: 8, Widths: []int{8, 16}, Blocks: []int{1, 1}},
		input: []int{3, 16, 16}, params: 224 + 1168 + 3632 + 170},
	{name: "mobilenet-v1-zero", spec: arch.MobileNetV1Spec{}, input: []int{3, 32, 32}},
	{name: "mobilenet-v1-small", spec: arch.MobileNetV1Spec{Input: []int{1, 28, 28}, StemWidth: 8,
		Blocks: []arch.DWSBlock{{Out: 16, Stride: 2}, {Out: 32, Stride: 2}}, BatchNorm: true},
		input: []int{1, 28, 28},
		// stem 72+16; block1 72+16 + 128+32; block2 144+32 + 512+64; fc 330
		params: 88 + 248 + 752 + 330,
		names:  []string{"block2/dw/bn", "block2/pw/relu"}},
	{name: "mobilenet-v2-zero", spec: arch.MobileNetV2Spec{}, input: []int{3, 32, 32},
		names: []string{"block1/dw", "block3/add", "head/conv/relu6"}, absent: []string{"block1/expand", "block2/add"}},
	{name: "mobilenet-v2-small", spec: arch.MobileNetV2Spec{Input: []int{3, 8, 8}, StemWidth: 8,
		Blocks: []arch.Bottleneck{{Expansion: 1, Out: 8}, {Expansion: 2, Out: 12, Repeats: 2, Stride: 2}}, BatchNorm: true},
		input: []int{3, 8, 8},
		// stem 216+16; b1 72+16 + 64+16; b2 128+32 + 144+32 + 192+24;
		// b3 288+48 + 216+48 + 288+24; head conv 12*48+96; fc 490
		params: 232 + 168 + 552 + 912 + 672 + 490,
		names:  []string{"block1/add", "block3/add", "block2/expand/relu6", "block3/project/bn", "head/conv/bn"},
		absent: []string{"block2/add", "block1/expand", "block3/project/relu6"}},
	{name: "mobilenet-v2-nohead-relu", spec: arch.MobileNetV2Spec{Input: []int{3, 8, 8}, StemWidth: 8, HeadWidth: -1, Activation: arch.ReLU,
		Blocks: []arch.Bottleneck{{Expansion: 1, Out: 8}}},
		input: []int{3, 8, 8},
		// stem 216+8; b1 72+8 + 64+8; fc 8*10+10
		params: 224 + 152 + 90, names: []string{"block1/dw/relu"}, absent: []string{"head/conv"}},
}

func TestBuild(t *testing.T) {
	for _, tt := range buildCases {
		t.Run(tt.name, func(t *testing.T) {
			m, err := arch.Build(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(m.InputShape(), tt.input) {
				t.Errorf("input shape %v; want %v", m.InputShape(), tt.input)
			}
			if tt.params != 0 {
				if got := m.Summary().TotalParams; got != tt.params {
					t.Errorf("%d params; want %d", got, tt.params)
				}
			}
			for _, n := range tt.names {
				if m.Layer(n) == nil {
					t.Errorf("no layer %q", n)
				}
			}
			for _, n := range tt.absent {
				if m.Layer(n) != nil {
					t.Errorf("unexpected layer %q", n)
				}
			}
			classes := 10
			if v, ok := tt.spec.(arch.VGGSpec); ok && v.Classes != 0 {
				classes = v.Classes
			}
			for _, training := range []bool{true, false} {
				m.SetTraining(training)
				x := randomInput(2, tt.input, 1)
				y, err := m.Forward(x)
				if err != nil {
					t.Fatalf("Forward (training %v): %v", training, err)
				}
				if !slices.Equal(y.Shape, []int{2, classes}) {
					t.Errorf("output shape %v; want [2 %d]", y.Shape, classes)
				}
				if err := y.CheckFinite(); err != nil {
					t.Errorf("training %v: %v", training, err)
				}
				if allSame(y.Data) {
					t.Errorf("training %v: every logit is %v", training, y.Data[0])
				}
			}
		})
	}
}

func randomInput(n int, shape []int, seed uint64) *tensor.Tensor {
	x := tensor.New(append([]int{n}, shape...)...)
	r := rand.New(rand.NewPCG(seed, 1))
	for i := range x.Data {
		x.Data[i] = float32(r.NormFloat64())
	}
	return x
}

func allSame(d []float32) bool {
	for _, v := range d {
		if v != d[0] {
			return false
		}
	}
	return true
}

func TestResidualStructure(t *testing.T) {
	m, err := arch.ResNetSpec{BatchNorm: true, Blocks: []int{2, 1, 1}}.Build()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		block    string
		shortcut bool
	}{{"block1", false}, {"block2", false}, {"block3", true}, {"block4", true}} {
		r, ok := m.Layer(tt.block).(*nn.Residual)
		if !ok {
			t.Fatalf("%s is %T; want *nn.Residual", tt.block, m.Layer(tt.block))
		}
		if got := len(r.Shortcut()) > 0; got != tt.shortcut {
			t.Errorf("%s has projection shortcut %v; want %v", tt.block, got, tt.shortcut)
		}
		if len(r.Body()) != 5 {
			t.Errorf("%s body has %d layers; want 5 (conv, bn, relu, conv, bn)", tt.block, len(r.Body()))
		}
	}
	// The stride-2 block halves the spatial size.
	if got := m.Summary().Rows; got[len(got)-3].OutputShape[1] != 8 {
		t.Errorf("last block output %v; want 8x8 spatial", got[len(got)-3].OutputShape)
	}
}

func TestDeterministic(t *testing.T) {
	specs := []arch.Spec{arch.RefNetS(), arch.RefNetDWS(), arch.ResNetSpec{BatchNorm: true, Blocks: []int{1, 1, 1}},
		arch.MobileNetV1Spec{BatchNorm: true}, arch.MobileNetV2Spec{BatchNorm: true}}
	for _, s := range specs {
		a, err := arch.Build(s)
		if err != nil {
			t.Fatal(err)
		}
		b, err := arch.Build(s)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(a.Name(), func(t *testing.T) {
			if !reflect.DeepEqual(a.State(), b.State()) {
				t.Errorf("two builds of the same spec differ")
			}
		})
	}
	// Another seed changes every weight tensor.
	s1, s2 := arch.RefNetS(), arch.RefNetS()
	s2.Seed = 1
	a, _ := s1.Build()
	b, _ := s2.Build()
	for _, p := range a.Params() {
		if p.Kind == nn.Weight && slices.Equal(p.Value.Data, b.Param(p.Name).Value.Data) {
			t.Errorf("%s identical for seeds 0 and 1", p.Name)
		}
	}
	// Weights are seeded per parameter name, so a different head leaves
	// the stem's draw unchanged.
	s3 := arch.RefNetS()
	s3.Classes = 100
	c, _ := s3.Build()
	if !slices.Equal(a.Param("stem/conv/weight").Value.Data, c.Param("stem/conv/weight").Value.Data) {
		t.Errorf("stem/conv/weight changed with the number of classes")
	}
}

// TestInitStd checks each layer's weight spread against the closed form of
// its initializer with Keras fans, worked out here from the shapes: conv
// (o, i, k, k): fanIn = i*k*k, fanOut = o*k*k; depthwise (C, 1, k, k):
// fanIn = C*k*k, fanOut = k*k; dense (o, i): fanIn = i, fanOut = o.
func TestInitStd(t *testing.T) {
	fans := func(p *nn.Param) (float64, float64) {
		s := p.Value.Shape
		switch {
		case len(s) == 2:
			return float64(s[1]), float64(s[0])
		case s[1] == 1 && p.Layout.Kind() == initializers.Depthwise:
			return float64(s[0] * s[2] * s[3]), float64(s[2] * s[3])
		default:
			return float64(s[1] * s[2] * s[3]), float64(s[0] * s[2] * s[3])
		}
	}
	inits := []struct {
		init initializers.Initializer
		std  func(fanIn, fanOut float64) float64
	}{
		{initializers.HeNormal(), func(fi, fo float64) float64 { return math.Sqrt(2 / fi) }},
		{initializers.HeUniform(), func(fi, fo float64) float64 { return math.Sqrt(2 / fi) }},
		{initializers.GlorotUniform(), func(fi, fo float64) float64 { return math.Sqrt(2 / (fi + fo)) }},
		{initializers.LeCunNormal(), func(fi, fo float64) float64 { return math.Sqrt(1 / fi) }},
		{initializers.RandomUniform(0.05), func(fi, fo float64) float64 { return 0.05 / math.Sqrt(3) }},
		{initializers.RandomNormal(0.1), func(fi, fo float64) float64 { return 0.1 }},
		{initializers.Orthogonal(1), nil}, // depends on the flattened shape, below
	}
	for _, spec := range []arch.VGGSpec{arch.RefNetS(), arch.RefNetDWS()} {
		for _, in := range inits {
			spec.Init = in.init
			spec.Seed = 3
			m, err := spec.Build()
			if err != nil {
				t.Fatal(err)
			}
			t.Run(spec.Name+"/"+in.init.String(), func(t *testing.T) {
				for _, p := range m.Params() {
					switch p.Kind {
					case nn.Weight:
						n := float64(len(p.Value.Data))
						var want float64
						if in.init.Scheme == initializers.SchemeOrthogonal {
							// Orthonormal rows (rows <= cols) or columns:
							// entries have mean square 1/cols or 1/rows.
							rows := float64(p.Value.Shape[0])
							want = math.Sqrt(1 / math.Max(rows, n/rows))
						} else {
							want = in.std(fans(p))
						}
						got := rms(p.Value.Data)
						// Relative standard error of an RMS is about
						// sqrt((kurtosis-1)/(4n)) <= sqrt(1/(2n)) for
						// these laws; allow 5 of them.
						if tol := 5 * math.Sqrt(1/(2*n)); math.Abs(got/want-1) > tol {
							t.Errorf("%s: rms %.5g; want %.5g (±%.0f%%)", p.Name, got, want, 100*tol)
						}
					case nn.Gamma:
						if !allEqual(p.Value.Data, 1) {
							t.Errorf("%s not all 1", p.Name)
						}
					case nn.Bias, nn.Beta:
						if !allEqual(p.Value.Data, 0) {
							t.Errorf("%s not all 0", p.Name)
						}
					}
				}
			})
		}
	}
}

func rms(d []float32) float64 {
	var s float64
	for _, v := range d {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(len(d)))
}

func allEqual(d []float32, v float32) bool {
	for _, x := range d {
		if x != v {
			return false
		}
	}
	return true
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		spec arch.Spec
		want string
	}{
		{"nil", nil, "nil spec"},
		{"input-rank", arch.VGGSpec{Input: []int{28, 28}}, "Input [28 28]"},
		{"input-zero", arch.ResNetSpec{Input: []int{3, 0, 32}}, "Input [3 0 32]"},
		{"classes", arch.VGGSpec{Classes: -1}, "Classes -1"},
		{"activation", arch.MobileNetV1Spec{Activation: "gelu"}, "Activation \"gelu\""},
		{"dropout", arch.VGGSpec{Dropout: 1}, "Dropout 1"},
		{"init", arch.VGGSpec{Init: initializers.Initializer{Scheme: "kaiming"}}, "unknown scheme"},
		{"bn-momentum", arch.VGGSpec{BatchNorm: true, BNMomentum: 2}, "BNMomentum 2"},
		{"vgg-width", arch.VGGSpec{Stages: [][]int{{32, 0}}}, "Stages[0][1] = 0"},
		{"vgg-empty", arch.VGGSpec{Stages: [][]int{}}, "at least one stage"},
		{"vgg-block", arch.VGGSpec{Block: "inception"}, "Block \"inception\""},
		{"vgg-too-small", arch.VGGSpec{Input: []int{3, 4, 4}}, "MaxPool2D"},
		{"resnet-lengths", arch.ResNetSpec{Widths: []int{16, 32}, Blocks: []int{1}}, "one block count per width"},
		{"resnet-blocks", arch.ResNetSpec{Widths: []int{16}, Blocks: []int{0}}, "stage 1 has width 16 and 0 blocks"},
		{"v1-block", arch.MobileNetV1Spec{Blocks: []arch.DWSBlock{{Out: 0}}}, "Blocks[0]"},
		{"v2-block", arch.MobileNetV2Spec{Blocks: []arch.Bottleneck{{Out: 8, Repeats: -1}}}, "Blocks[0]"},
		{"v2-empty", arch.MobileNetV2Spec{Blocks: []arch.Bottleneck{}}, "0 block rows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := arch.Build(tt.spec)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "arch: ") {
				t.Fatalf("Build error = %v; want one starting \"arch: \" containing %q", err, tt.want)
			}
			if m != nil {
				t.Errorf("Build returned a model along with the error")
			}
		})
	}
}

func TestSerialise(t *testing.T) {
	v := arch.RefNetDWS()
	v.Init = initializers.HeNormal()
	v.Seed = 7
	v.Dropout = 0.5
	specs := []any{
		&v,
		&arch.ResNetSpec{Widths: []int{8, 16}, Blocks: []int{1, 2}, BatchNorm: true, Init: initializers.RandomUniform(0.1)},
		&arch.MobileNetV1Spec{Blocks: []arch.DWSBlock{{Out: 16, Stride: 2}}, Activation: arch.ReLU6},
		&arch.MobileNetV2Spec{Blocks: arch.MobileNetV2Bottlenecks(), HeadWidth: -1, BNEps: 1e-3},
	}
	for _, s := range specs {
		t.Run(fmt.Sprintf("%T", s), func(t *testing.T) {
			j, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			got := reflect.New(reflect.TypeOf(s).Elem()).Interface()
			if err := json.Unmarshal(j, got); err != nil || !reflect.DeepEqual(got, s) {
				t.Errorf("JSON %s decodes to %+v, %v; want %+v", j, got, err, s)
			}
			y, err := yaml.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			got = reflect.New(reflect.TypeOf(s).Elem()).Interface()
			if err := yaml.Unmarshal(y, got); err != nil || !reflect.DeepEqual(got, s) {
				t.Errorf("YAML %s decodes to %+v, %v; want %+v", y, got, err, s)
			}
		})
	}
}

// BenchmarkBuild measures building and initializing a network (what a sweep
// pays per trial before training).
func BenchmarkBuild(b *testing.B) {
	for _, s := range []arch.VGGSpec{arch.RefNetS(), arch.RefNetDWS()} {
		s.Init = initializers.HeNormal()
		b.Run(s.Name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Build(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "models/s")
		})
	}
}

package quant

import (
	"context"
	"strings"
	"testing"

	"github.com/qlab-dev/qlab/qlab/arch"
	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/nn"
)

// TestIntModelMatchesFakeQuant runs RefNet-S and RefNet-DWS (reduced
// widths) end to end in integer arithmetic and compares the logits' codes
// with the fake-quantized float model: one-LSB differences inside the
// network may grow a little through depth, so the test bounds the mean and
// quantizeInt quantizes m with cfg on calib and builds its integer-only
// model.
func quantizeInt(t *testing.T, m *nn.Model, calib *data.Dataset, cfg Config) (*Model, *IntModel) {
	t.Helper()
	q, err := Quantize(context.Background(), m, calib, Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	im, err := q.Integer()
	if err != nil {
		t.Fatal(err)
	}
	return q, im
}

// intTestNets builds the small networks the integer engine is tested on:
// RefNet-S and RefNet-DWS shapes at 8x8, ResNet-8 and a two-stage
// MobileNetV2, with randomized batch-norm statistics.
func intTestNets() map[string]func(t *testing.T) *nn.Model {
	return map[string]func(t *testing.T) *nn.Model{
		"refnet-s":   func(t *testing.T) *nn.Model { return smallNet(t, false) },
		"refnet-dws": func(t *testing.T) *nn.Model { return smallNet(t, true) },
		"resnet-8": func(t *testing.T) *nn.Model {
			return buildRandomized(t, arch.ResNetSpec{Blocks: []int{1, 1, 1}, BatchNorm: true, Input: []int{3, 8, 8}})
		},
		"mobilenet-v2": func(t *testing.T) *nn.Model {
			return buildRandomized(t, arch.MobileNetV2Spec{BatchNorm: true, Input: []int{3, 8, 8}, Blocks: []arch.Bottleneck{{Expansion: 1, Out: 8, Repeats: 1, Stride: 1}, {Expansion: 4, Out: 12, Repeats: 2, Stride: 2}}})
		},
	}
}

// maximum code difference and requires the same top-1 class almost always.
func TestIntModelMatchesFakeQuant(t *testing.T) {
	nets := intTestNets()
	for net, build := range nets {
		for name, cfg := range map[string]Config{"tflite int8": TFLiteInt8(), "quint8": QUInt8(), "fbgemm": FBGEMM()} {
			t.Run(net+"/"+name, func(t *testing.T) {
				m := build(t)
				calib := selfLabelled(t, m, 64, 21)
				q, im := quantizeInt(t, m, calib, cfg)
				test := selfLabelled(t, m, 64, 22)
				got, err := im.Forward(test.Images)
				if err != nil {
					t.Fatal(err)
				}
				y, err := q.Forward(test.Images)
				if err != nil {
					t.Fatal(err)
				}
				want, err := q.Layers[len(q.Layers)-1].Output.Quantize(y)
				if err != nil {
					t.Fatal(err)
				}
				if len(got.Data) != len(want.Data) {
					t.Fatalf("got %d logits; want %d", len(got.Data), len(want.Data))
				}
				sum, worst := 0, int32(0)
				for i := range want.Data {
					d := got.Data[i] - want.Data[i]
					d = max(d, -d)
					sum += int(d)
					worst = max(worst, d)
				}
				k := got.Shape[1]
				agree := 0
				for i := 0; i < got.Shape[0]; i++ {
					a, b := got.Data[i*k:(i+1)*k], want.Data[i*k:(i+1)*k]
					if argmax32(a) == argmax32(b) {
						agree++
					}
				}
				mean := float64(sum) / float64(len(want.Data))
				t.Logf("logit codes: mean |diff| %.3f LSB, max %d; top-1 agreement %d/%d", mean, worst, agree, got.Shape[0])
				if mean > 1 || worst > 6 || agree < got.Shape[0]*9/10 {
					t.Errorf("integer and fake-quant logits disagree: mean %.3f LSB, max %d, top-1 %d/%d", mean, worst, agree, got.Shape[0])
				}
			})
		}
	}
}

func buildRandomized(t *testing.T, s arch.Spec) *nn.Model {
	t.Helper()
	m, err := arch.Build(s)
	if err != nil {
		t.Fatal(err)
	}
	randomizeBN(m, 1)
	perturbWeights(m, 2)
	return m
}

func argmax32(v []int32) int {
	b := 0
	for i, x := range v {
		if x > v[b] {
			b = i
		}
	}
	return b
}

func TestIntModelUnsupported(t *testing.T) {
	m := smallNet(t, false)
	cfg := TFLiteInt8()
	cfg.NoFoldBN = true
	q, err := Quantize(context.Background(), m, selfLabelled(t, m, 8, 1), Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Integer(); err == nil || !strings.Contains(err.Error(), "BatchNorm2D") {
		t.Errorf("unfolded batch norm: got %v; want an error naming BatchNorm2D", err)
	}
	wo, err := Quantize(context.Background(), m, nil, Options{Mode: WeightsOnly})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wo.Integer(); err == nil {
		t.Error("weights-only model: got nil error")
	}
}

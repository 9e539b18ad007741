package quant

import (
	"context"
	"testing"

	"github.com/qlab-dev/qlab/qlab/arch"
)

// TestIntModelMatchesFakeQuant runs RefNet-S and RefNet-DWS (reduced
// widths) end to end in integer arithmetic and compares the logits' codes
// with the fake-quantized float model: one-LSB differences inside the
// network may grow a little through depth, so the test bounds the mean and
// maximum code difference and requires the same top-1 class almost always.
func TestIntModelMatchesFakeQuant(t *testing.T) {
	for _, dws := range []bool{false, true} {
		for name, cfg := range map[string]Config{"tflite int8": TFLiteInt8(), "quint8": QUInt8(), "fbgemm": FBGEMM()} {
			net := "refnet-s"
			if dws {
				net = "refnet-dws"
			}
			t.Run(net+"/"+name, func(t *testing.T) {
				m := smallNet(t, dws)
				calib := selfLabelled(t, m, 64, 21)
				q, err := Quantize(context.Background(), m, calib, Options{Config: cfg})
				if err != nil {
					t.Fatal(err)
				}
				im, err := q.Integer()
				if err != nil {
					t.Fatal(err)
				}
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
				if mean > 0.5 || worst > 4 || agree < got.Shape[0]*9/10 {
					t.Errorf("integer and fake-quant logits disagree: mean %.3f LSB, max %d, top-1 %d/%d", mean, worst, agree, got.Shape[0])
				}
			})
		}
	}
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
	m, err := arch.ResNetSpec{Blocks: []int{1, 1, 1}, BatchNorm: true, Input: []int{3, 8, 8}}.Build()
	if err != nil {
		t.Fatal(err)
	}
	q, err := Quantize(context.Background(), m, selfLabelled(t, m, 8, 1), Options{Config: TFLiteInt8()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Integer(); err == nil {
		t.Error("residual network: got nil error; want integer Add not implemented")
	}
	wo, err := Quantize(context.Background(), m, nil, Options{Mode: WeightsOnly})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wo.Integer(); err == nil {
		t.Error("weights-only model: got nil error")
	}
}

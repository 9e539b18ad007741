package quant

import (
	"context"
	"math"
	"testing"

	"github.com/qlab-dev/qlab/qlab/tensor"
	"github.com/qlab-dev/qlab/qlab/train"
)

// train.Evaluate measures the integer model through Dequantized: its
// metrics equal those of the dequantized logits computed by hand, and stay
// close to the fake-quantized model's.
func TestEvaluateIntModel(t *testing.T) {
	ctx := context.Background()
	m := smallNet(t, false)
	calib := selfLabelled(t, m, 64, 21)
	test := selfLabelled(t, m, 96, 22)
	q, err := Quantize(ctx, m, calib, Options{Config: TFLiteInt8()})
	if err != nil {
		t.Fatal(err)
	}
	im, err := q.Integer()
	if err != nil {
		t.Fatal(err)
	}
	got, err := train.Evaluate(ctx, im.Dequantized(), test, 40)
	if err != nil {
		t.Fatal(err)
	}
	y, err := im.Forward(test.Images)
	if err != nil {
		t.Fatal(err)
	}
	logits, err := y.Dequantize()
	if err != nil {
		t.Fatal(err)
	}
	want, err := train.Evaluate(ctx, train.ForwardFunc(func(x *tensor.Tensor) (*tensor.Tensor, error) { return logits, nil }), test, test.Len())
	if err != nil {
		t.Fatal(err)
	}
	if got.N != want.N || got.Accuracy != want.Accuracy || math.Abs(got.Loss-want.Loss) > 1e-9 {
		t.Errorf("integer model in batches of 40: %+v; in one batch: %+v", got, want)
	}
	fq, err := train.Evaluate(ctx, q, test, 0)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(fq.Accuracy-got.Accuracy) > 0.05 {
		t.Errorf("integer accuracy %.3f; fake-quantized %.3f", got.Accuracy, fq.Accuracy)
	}
}

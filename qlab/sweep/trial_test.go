package sweep

import (
	"context"
	"math"
	"testing"

	"github.com/qlab-dev/qlab/qlab/quant"
	"github.com/qlab-dev/qlab/qlab/train"
)

// TestQuantEvaluateBits checks QuantEvaluate against the uniform-noise
// model: with the same calibrated ranges, 16-bit weights have a step
// (2^16-1)/(2^8-1) = 257 times smaller than 8-bit ones, so their SQNR is
// 20 log10(257) = 48.2 dB higher; and 16-bit fake quantization leaves the
// accuracy within one test sample of FP32.
func TestQuantEvaluateBits(t *testing.T) {
	ts, err := tinySpec("").Trials()
	if err != nil {
		t.Fatal(err)
	}
	tr := ts[0]
	trainSet, testSet, err := loadData(tr.Data)
	if err != nil {
		t.Fatal(err)
	}
	model, err := tr.ArchSpec.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := train.Fit(ctx, model, trainSet, nil, tr.Train); err != nil {
		t.Fatal(err)
	}
	fp, err := train.Evaluate(ctx, model, testSet, 0)
	if err != nil {
		t.Fatal(err)
	}
	calib := trainSet.Subset(64)
	q8, w8, err := QuantEvaluate(ctx, model, calib, testSet, quant.QUInt8(), 0)
	if err != nil {
		t.Fatal(err)
	}
	c16 := quant.QUInt8()
	c16.Weights.Bits, c16.Activations.Bits = 16, 16
	q16, w16, err := QuantEvaluate(ctx, model, calib, testSet, c16, 0)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(q16.Accuracy-fp.Accuracy) > 1.0/float64(fp.N) {
		t.Errorf("16-bit accuracy %v; want FP32's %v within one sample", q16.Accuracy, fp.Accuracy)
	}
	if q8.N != fp.N {
		t.Errorf("8-bit N %d; want %d", q8.N, fp.N)
	}
	if len(w8) == 0 || len(w8) != len(w16) {
		t.Fatalf("weight errors for %d and %d layers", len(w8), len(w16))
	}
	want := 20 * math.Log10(257)
	for name, e8 := range w8 {
		e16 := w16[name]
		if e8[1] != e16[1] {
			t.Errorf("%s: weight power %v and %v; want equal", name, e8[1], e16[1])
		}
		gain := 10 * math.Log10(e8[0]/e16[0])
		if math.Abs(gain-want) > 3 {
			t.Errorf("%s: SQNR gain 8 -> 16 bits %.2f dB; want %.2f ± 3", name, gain, want)
		}
	}
}

package quant

import (
	"context"
	"testing"

	"github.com/qlab-dev/qlab/qlab/arch"
	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// Whole-network inference on RefNet-S (batch 64, 3x32x32, TFLite int8
// scheme, batch norm folded) in its three forms, side by side: the float
// model, the fake-quantized float model, and the integer-only engine. Each
// reports images/s over wall time and images per CPU second of the process
// (the development machine is shared, so wall time is noisy; on an idle
// machine images/s is at most images/cpu-s times the cores used).

const inferBatch = 64

type refNetSBench struct {
	float *nn.Model
	q     *Model
	im    *IntModel
	x     *tensor.Tensor
}

func newRefNetSBench(b *testing.B) *refNetSBench { return newVGGBench(b, arch.RefNetS()) }

// randomCalib is one batch of random 3x32x32 calibration images.
func randomCalib(b *testing.B) *data.Dataset {
	x := randomInput(1, inferBatch, 3, 32, 32)
	classes := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	calib, err := data.NewDataset("calib", x, make([]int, inferBatch), classes)
	if err != nil {
		b.Fatal(err)
	}
	return calib
}

func newVGGBench(b *testing.B, spec arch.VGGSpec) *refNetSBench {
	b.Helper()
	m, err := arch.Build(spec)
	if err != nil {
		b.Fatal(err)
	}
	randomizeBN(m, 1)
	calib := randomCalib(b)
	q, err := Quantize(context.Background(), m, calib, Options{Config: TFLiteInt8()})
	if err != nil {
		b.Fatal(err)
	}
	im, err := q.Integer()
	if err != nil {
		b.Fatal(err)
	}
	m.Eval()
	return &refNetSBench{float: m, q: q, im: im, x: calib.Images}
}

func runInferBench(b *testing.B, step func() error) {
	if err := step(); err != nil { // warm-up: buffers sized, helpers started
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		if err := step(); err != nil {
			b.Fatal(err)
		}
	}
	imgs := float64(inferBatch * b.N)
	b.ReportMetric(imgs/b.Elapsed().Seconds(), "images/s")
	if cpu := processCPU() - cpu0; cpu0 != 0 && cpu > 0 {
		b.ReportMetric(imgs/cpu.Seconds(), "images/cpu-s")
	}
}

// BenchmarkInferInt8RefNetS times IntModel.Forward: quantizing the input,
// every integer layer, and the logits' codes.
func BenchmarkInferInt8RefNetS(b *testing.B) {
	r := newRefNetSBench(b)
	runInferBench(b, func() error { _, err := r.im.Forward(r.x); return err })
}

// BenchmarkFakeQuantEvalRefNetS times the fake-quantized float forward
// (Model.Forward), the path Evaluate runs.
func BenchmarkFakeQuantEvalRefNetS(b *testing.B) {
	r := newRefNetSBench(b)
	runInferBench(b, func() error { _, err := r.q.Forward(r.x); return err })
}

// BenchmarkCalibrateRefNetS times Quantize of RefNet-S on one batch of 64
// calibration images (TFLite int8: the calibration forward with min/max
// observers, batch-norm folding, params), the step notebooks run before
// every evaluation.
func BenchmarkCalibrateRefNetS(b *testing.B) {
	m, err := arch.Build(arch.RefNetS())
	if err != nil {
		b.Fatal(err)
	}
	randomizeBN(m, 1)
	calib := randomCalib(b)
	runInferBench(b, func() error {
		_, err := Quantize(context.Background(), m, calib, Options{Config: TFLiteInt8()})
		return err
	})
}

// BenchmarkInferFloatRefNetS times the float model's inference forward (the
// unfolded network with batch norm, as a user would run it).
func BenchmarkInferFloatRefNetS(b *testing.B) {
	r := newRefNetSBench(b)
	runInferBench(b, func() error { _, err := r.float.Forward(r.x); return err })
}

// The same three forms on RefNet-DWS, whose depthwise layers run on the
// direct integer kernel rather than the GEMM.
func BenchmarkInferInt8RefNetDWS(b *testing.B) {
	r := newVGGBench(b, arch.RefNetDWS())
	runInferBench(b, func() error { _, err := r.im.Forward(r.x); return err })
}

func BenchmarkInferFloatRefNetDWS(b *testing.B) {
	r := newVGGBench(b, arch.RefNetDWS())
	runInferBench(b, func() error { _, err := r.float.Forward(r.x); return err })
}

package train

import (
	"math/rand/v2"
	"testing"

	"github.com/qlab-dev/qlab/qlab/arch"
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

const benchBatch = 64

// benchInput returns a seeded random batch of 64 3x32x32 images with
// labels, the workload bench/pytorch_refnet.py (beside this file) times in PyTorch.
func benchInput() (*tensor.Tensor, []int) {
	r := rand.New(rand.NewPCG(1, 2))
	x := tensor.New(benchBatch, 3, 32, 32)
	for i := range x.Data {
		x.Data[i] = float32(r.NormFloat64())
	}
	y := make([]int, benchBatch)
	for i := range y {
		y[i] = r.IntN(10)
	}
	return x, y
}

// benchTrain times one full training step per iteration: zero grads,
// forward, softmax cross-entropy, backward, SGD momentum 0.9 update.
func benchTrain(b *testing.B, spec arch.VGGSpec) {
	m, err := spec.Build()
	if err != nil {
		b.Fatal(err)
	}
	opt, err := NewOptimizer(SGD(0.01, 0.9), m.Params())
	if err != nil {
		b.Fatal(err)
	}
	x, y := benchInput()
	m.SkipInputGradient(true) // as Fit does, and as PyTorch does for inputs without requires_grad
	var loss nn.SoftmaxCrossEntropy
	step := func() {
		m.ZeroGrad()
		out, err := m.Forward(x)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := loss.Forward(out, y); err != nil {
			b.Fatal(err)
		}
		if _, err := m.Backward(loss.Backward()); err != nil {
			b.Fatal(err)
		}
		opt.Step(0.01)
	}
	// Buffers reach their steady state within two steps (some are sized
	// lazily on the second call); allocs/op then measures steady state.
	step()
	step()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step()
	}
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "images/s")
}

func BenchmarkTrainRefNetS(b *testing.B)   { benchTrain(b, arch.RefNetS()) }
func BenchmarkTrainRefNetDWS(b *testing.B) { benchTrain(b, arch.RefNetDWS()) }

// BenchmarkInferRefNetS times inference-mode forward passes of batch 64.
func BenchmarkInferRefNetS(b *testing.B) {
	m, err := arch.RefNetS().Build()
	if err != nil {
		b.Fatal(err)
	}
	m.SetTraining(false)
	x, _ := benchInput()
	for range 2 { // reach the steady state of every buffer
		if _, err := m.Forward(x); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.Forward(x); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "images/s")
}

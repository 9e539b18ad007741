package train

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/qlab-dev/qlab/qlab/arch"
	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// benchFit times Fit end to end (the Loop with Fit's hooks: batch
// assembly, dropout seeds, parameter checks, optimizer), one epoch of 10
// batches of 64 random 3x32x32 images per iteration, so loop overhead
// shows against BenchmarkTrain*'s bare steps.
func benchFit(b *testing.B, spec arch.VGGSpec) {
	m, err := spec.Build()
	if err != nil {
		b.Fatal(err)
	}
	const n = 10 * benchBatch
	r := rand.New(rand.NewPCG(1, 2))
	x := tensor.New(n, 3, 32, 32)
	for i := range x.Data {
		x.Data[i] = float32(r.NormFloat64())
	}
	y := make([]int, n)
	for i := range y {
		y[i] = r.IntN(10)
	}
	ds, err := data.NewDataset("bench", x, y, []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"})
	if err != nil {
		b.Fatal(err)
	}
	// No evaluation of training images (TrainEvalSubset), so the loop
	// itself is what is timed.
	cfg := Config{BatchSize: benchBatch, Optimizer: SGD(0.01, 0.9), TrainEvalSubset: -1}
	if _, err := Fit(context.Background(), m, ds, nil, cfg); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Fit(context.Background(), m, ds, nil, cfg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "images/s")
}

func BenchmarkTrainFitRefNetS(b *testing.B)   { benchFit(b, arch.RefNetS()) }
func BenchmarkTrainFitRefNetDWS(b *testing.B) { benchFit(b, arch.RefNetDWS()) }

package nn

import (
	"fmt"
	"testing"
	"time"
)

// Benchmarks at RefNet-S's training shapes (batch 64, 3x32x32). The
// whole-network benchmarks report images/s for forward+backward (no
// optimizer step) and for an inference forward.

const benchBatch = 64

func benchModel(b *testing.B, dws, train bool) {
	m := refNetS(b, dws)
	x := randTensor(1, 1, benchBatch, 3, 32, 32)
	labels := make([]int, benchBatch)
	for i := range labels {
		labels[i] = i % 10
	}
	m.SetTraining(train)
	m.SkipInputGradient(true) // as a training loop would
	var ce SoftmaxCrossEntropy
	step := func() {
		y, err := m.Forward(x)
		if err != nil {
			b.Fatal(err)
		}
		if train {
			if _, err := ce.Forward(y, labels); err != nil {
				b.Fatal(err)
			}
			if _, err := m.Backward(ce.Backward()); err != nil {
				b.Fatal(err)
			}
		}
	}
	step()
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		step()
	}
	reportImages(b, cpu0)
}

// reportImages reports images/s over wall time and, because the machine
// may be shared, images per CPU second of this process (on an idle
// machine, images/s is at most that times the cores used).
func reportImages(b *testing.B, cpu0 time.Duration) {
	imgs := float64(benchBatch * b.N)
	b.ReportMetric(imgs/b.Elapsed().Seconds(), "images/s")
	if cpu := processCPU() - cpu0; cpu0 != 0 && cpu > 0 {
		b.ReportMetric(imgs/cpu.Seconds(), "images/cpu-s")
	}
}

func BenchmarkRefNetSTrainStep(b *testing.B)   { benchModel(b, false, true) }
func BenchmarkRefNetSInference(b *testing.B)   { benchModel(b, false, false) }
func BenchmarkRefNetDWSTrainStep(b *testing.B) { benchModel(b, true, true) }
func BenchmarkRefNetDWSInference(b *testing.B) { benchModel(b, true, false) }

// benchLayer times Forward and Backward of one layer at a given input
// shape and reports GFLOP/s of the forward pass's FLOPs (Summary's count).
func benchLayer(b *testing.B, l Layer, shape []int, training bool) {
	l.SetTraining(training)
	x := randTensor(1, 1, shape...)
	y, err := l.Forward(x)
	if err != nil {
		b.Fatal(err)
	}
	dy := randTensor(2, 1, y.Shape...)
	var fl int64
	if f, ok := l.(flopser); ok {
		fl = f.flops(shape[1:]) * int64(shape[0])
	}
	for _, pass := range []string{"forward", "backward"} {
		b.Run(pass, func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := processCPU()
			for b.Loop() {
				if pass == "forward" {
					l.Forward(x)
				} else {
					l.Backward(dy)
				}
			}
			if fl > 0 {
				mult := 1.0
				if pass == "backward" {
					mult = 2 // input and weight gradients
				}
				b.ReportMetric(mult*float64(fl)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				if cpu := processCPU() - cpu0; cpu0 != 0 && cpu > 0 {
					b.ReportMetric(mult*float64(fl)*float64(b.N)/cpu.Seconds()/1e9, "GFLOP/cpu-s")
				}
			}
		})
	}
}

func BenchmarkConv2D(b *testing.B) {
	for _, s := range []struct{ in, out, hw int }{{3, 32, 32}, {32, 32, 32}, {32, 64, 16}, {64, 64, 16}, {64, 128, 8}} {
		b.Run(fmt.Sprintf("%dto%d_%dx%d", s.in, s.out, s.hw, s.hw), func(b *testing.B) {
			benchLayer(b, must(NewConv2D("c", Conv2DConfig{In: s.in, Out: s.out, Kernel: 3})), []int{benchBatch, s.in, s.hw, s.hw}, true)
		})
	}
}

func BenchmarkPointwise(b *testing.B) {
	for _, s := range []struct{ in, out, hw int }{{32, 32, 32}, {32, 64, 16}, {64, 128, 8}} {
		b.Run(fmt.Sprintf("%dto%d_%dx%d", s.in, s.out, s.hw, s.hw), func(b *testing.B) {
			benchLayer(b, must(NewPointwise("c", s.in, s.out, false)), []int{benchBatch, s.in, s.hw, s.hw}, true)
		})
	}
}

func BenchmarkDepthwise(b *testing.B) {
	for _, s := range []struct{ c, hw int }{{32, 32}, {32, 16}, {64, 16}, {64, 8}} {
		b.Run(fmt.Sprintf("%d_%dx%d", s.c, s.hw, s.hw), func(b *testing.B) {
			benchLayer(b, must(NewDepthwiseConv2D("d", DepthwiseConfig{Channels: s.c, Kernel: 3})), []int{benchBatch, s.c, s.hw, s.hw}, true)
		})
	}
}

func BenchmarkBatchNorm(b *testing.B) {
	benchLayer(b, must(NewBatchNorm2D("bn", BatchNormConfig{Channels: 32})), []int{benchBatch, 32, 32, 32}, true)
}

func BenchmarkReLU(b *testing.B) {
	benchLayer(b, must(NewReLU("r")), []int{benchBatch, 32, 32, 32}, true)
}

func BenchmarkMaxPool(b *testing.B) {
	benchLayer(b, must(NewMaxPool2D("p", 2, 2)), []int{benchBatch, 32, 32, 32}, true)
}

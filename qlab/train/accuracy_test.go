package train

import (
	"context"
	"testing"
	"time"

	"github.com/qlab-dev/qlab/qlab/arch"
	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/initializers"
)

// mnistNet is the small VGG-like network of the accuracy test: regular
// 3x3 convs with batch norm, widths 8 | 16 | 64 (one unit per stage, each
// stage ending in a 2x2 max pool: 28 -> 14 -> 7 -> 3), global average
// pooling and a dense classifier; about 0.73M multiply-adds per image, so
// the epoch fits CI's two cores. He-normal weights, seed 1.
func mnistNet() arch.VGGSpec {
	return arch.VGGSpec{
		Name: "mnist-vgg", Input: []int{1, 28, 28}, Classes: 10,
		Stages: [][]int{{8}, {16}, {64}}, Block: arch.Regular, BatchNorm: true,
		Init: initializers.HeNormal(), Seed: 1,
	}
}

// TestMNISTOneEpoch trains a small VGG-like net one epoch on MNIST (batch
// 32, SGD with Nesterov momentum, cosine schedule with a short warm-up) and
// requires >= 98% test accuracy. Measured: 98.32% in about 21 s of
// training on a busy 2-core machine.
func TestMNISTOneEpoch(t *testing.T) {
	if testing.Short() {
		t.Skip("trains one MNIST epoch")
	}
	train, test, err := data.MNIST()
	if err != nil {
		t.Fatal(err)
	}
	model, err := mnistNet().Build()
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Epochs: 1, BatchSize: 32, Seed: 1,
		Optimizer: OptimizerConfig{Kind: SGDKind, LR: 0.05, Momentum: 0.9, Nesterov: true, WeightDecay: 5e-4},
		Schedule:  Schedule{Kind: Cosine, PerStep: true, WarmupEpochs: 0.05},
	}
	begin := time.Now()
	h, err := Fit(context.Background(), model, train, test, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := h.Last()
	t.Logf("1 epoch: train loss %.4f acc %.4f, test loss %.4f acc %.4f, %.1fs (epoch %.1fs)",
		r.TrainLoss, r.TrainAccuracy, r.TestLoss, r.TestAccuracy, time.Since(begin).Seconds(), r.Seconds)
	if r.TestAccuracy < 0.98 {
		t.Errorf("test accuracy got %.4f; want >= 0.98", r.TestAccuracy)
	}
}

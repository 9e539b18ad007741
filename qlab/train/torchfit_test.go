package train

import (
	"context"
	"math"
	"testing"

	"github.com/qlab-dev/qlab/qlab/arch"
	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// TestFitMatchesTorch trains the small VGG-like net of gen_torch.py from
// PyTorch's initial weights, 2 epochs in dataset order, and compares the
// final weights, BatchNorm running statistics and per-epoch metrics with
// PyTorch's (torch.optim.SGD, Nesterov, weight decay on every parameter,
// as DecayAll does). Tolerance 1e-5 relative + 1e-6 absolute (measured:
// within 1e-6 relative) for eight float32 steps summed in different orders.
func TestFitMatchesTorch(t *testing.T) {
	v := loadTorch(t).Fit
	m, err := arch.VGGSpec{Name: "torchfit", Input: []int{1, 8, 8}, Classes: 4, Stages: [][]int{{4}, {8}}, BatchNorm: true}.Build()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.LoadState(v.Init); err != nil {
		t.Fatal(err)
	}
	x, err := tensor.From(v.X, len(v.Y), 1, 8, 8)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := data.NewDataset("torch", x, v.Y, []string{"a", "b", "c", "d"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Epochs: len(v.Epochs), BatchSize: v.Batch, NoShuffle: true,
		Optimizer: OptimizerConfig{Kind: SGDKind, LR: v.LR, Momentum: v.Momentum, Nesterov: true, WeightDecay: v.WeightDecay, DecayAll: true}}
	h, err := Fit(context.Background(), m, ds, ds, cfg)
	if err != nil {
		t.Fatal(err)
	}
	close := func(got, want float64) bool { return math.Abs(got-want) <= 1e-5*math.Abs(want)+1e-6 }
	got := m.State()
	for name, want := range v.Final {
		g := got[name]
		if len(g) != len(want) {
			t.Fatalf("%s: %d values; want %d", name, len(g), len(want))
		}
		for i := range want {
			if !close(float64(g[i]), float64(want[i])) {
				t.Errorf("%s[%d]: got %v; want %v", name, i, g[i], want[i])
				break
			}
		}
	}
	for e, want := range v.Epochs {
		r := h.Records[e]
		if !close(r.TrainLoss, want.TrainLoss) || !close(r.TestLoss, want.TestLoss) {
			t.Errorf("epoch %d losses: got train %v test %v; want %v, %v", e, r.TrainLoss, r.TestLoss, want.TrainLoss, want.TestLoss)
		}
		if r.TrainAccuracy != want.TrainAccuracy || r.TestAccuracy != want.TestAccuracy {
			t.Errorf("epoch %d accuracies: got train %v test %v; want %v, %v", e, r.TrainAccuracy, r.TestAccuracy, want.TrainAccuracy, want.TestAccuracy)
		}
	}
}

package train

import (
	"context"
	"strings"
	"testing"

	"github.com/qlab-dev/qlab/qlab/nn"
)

// Batch norms whose running statistics barely move (momentum 1e-4) on
// inputs offset by +3 leave inference mode far from training mode: Fit's
// history flags it. The same run with PyTorch's momentum does not.
func TestStaleBNWarning(t *testing.T) {
	d := toyData(t, 400, 3)
	for i := range d.Images.Data {
		d.Images.Data[i] += 3
	}
	for _, tc := range []struct {
		momentum float32
		warn     bool
	}{{1e-4, true}, {0.1, false}} {
		m := toyModel(t, 5)
		for _, l := range m.Layers() {
			if bn, ok := l.(*nn.BatchNorm2D); ok {
				if err := bn.SetMomentum(tc.momentum); err != nil {
					t.Fatal(err)
				}
			}
		}
		h, err := Fit(context.Background(), m, d, nil, Config{Epochs: 2, BatchSize: 20, Optimizer: SGD(0.05, 0.9)})
		if err != nil {
			t.Fatal(err)
		}
		last := h.Last()
		t.Logf("momentum %g: training-mode %.3f, inference-mode on %d training images %.3f", tc.momentum, last.TrainAccuracy, last.TrainEvalN, last.TrainEvalAccuracy)
		if last.TrainEvalN != 400 {
			t.Errorf("evaluated %d training images; want 400 (all, fewer than 512)", last.TrainEvalN)
		}
		w := h.Warnings()
		if (len(w) > 0) != tc.warn {
			t.Errorf("momentum %g: warnings %q; want warning %v", tc.momentum, w, tc.warn)
		}
		if tc.warn && !strings.Contains(h.String(), "ReestimateBN") {
			t.Errorf("History.String does not show the warning:\n%s", h)
		}
	}
	// Off with -1, and for models without batch norm by default.
	h, err := Fit(context.Background(), toyModel(t, 5), d, nil, Config{Epochs: 1, BatchSize: 20, TrainEvalSubset: -1})
	if err != nil {
		t.Fatal(err)
	}
	if h.Last().TrainEvalN != 0 {
		t.Errorf("TrainEvalSubset -1 still evaluated %d images", h.Last().TrainEvalN)
	}
}

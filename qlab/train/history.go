package train

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// History is the record of a Fit run: one Record per completed epoch.
type History struct {
	// Model is the trained model's name.
	Model   string        `json:"model"`
	Records []EpochRecord `json:"epochs"`
}

// EpochRecord holds one epoch's metrics. Losses are mean softmax
// cross-entropy per sample (nats); accuracies are fractions in [0, 1].
type EpochRecord struct {
	// Epoch is 0-based.
	Epoch int `json:"epoch"`
	// TrainLoss and TrainAccuracy are averaged over the epoch's training
	// batches as they ran (training mode, weights changing).
	TrainLoss     float64 `json:"train_loss"`
	TrainAccuracy float64 `json:"train_accuracy"`
	// TestLoss and TestAccuracy come from Evaluate on the test set after
	// the epoch; 0 when Fit had no test set (HasTest false).
	TestLoss     float64 `json:"test_loss"`
	TestAccuracy float64 `json:"test_accuracy"`
	HasTest      bool    `json:"has_test"`
	// LR is the learning rate of the epoch's first step.
	LR float64 `json:"lr"`
	// Seconds is the epoch's wall time including evaluation; the only
	// field that differs between otherwise identical runs.
	Seconds float64 `json:"seconds"`
	// Ranges, when Config.RecordRanges is set, holds every leaf layer's
	// weight and activation range at the end of the epoch.
	Ranges []LayerRange `json:"ranges,omitempty"`
	// TrainEvalAccuracy is the accuracy in inference mode on the first
	// TrainEvalN training images after the epoch (Config.TrainEvalSubset;
	// TrainEvalN 0 when not measured).
	TrainEvalAccuracy float64 `json:"train_eval_accuracy,omitempty"`
	TrainEvalN        int     `json:"train_eval_n,omitempty"`
}

// StaleBNGap is the gap between training-mode accuracy and inference-mode
// accuracy on training images beyond which History.Warnings flags an epoch.
const StaleBNGap = 0.2

// Warnings returns one line per epoch whose inference-mode accuracy on
// training images (EpochRecord.TrainEvalAccuracy) is more than StaleBNGap
// below its training-mode accuracy: the same images score far worse once
// batch norm uses its running statistics instead of the batch's, so those
// statistics are stale, and batch-norm folding would bake them into a
// quantized model. quant.ReestimateBN (or quant.PTQ.ReestimateBN)
// recomputes them. nil when nothing is flagged.
func (h *History) Warnings() []string {
	if h == nil {
		return nil
	}
	var out []string
	for _, r := range h.Records {
		if r.TrainEvalN > 0 && r.TrainAccuracy-r.TrainEvalAccuracy > StaleBNGap {
			out = append(out, fmt.Sprintf("epoch %d: inference-mode accuracy on %d training images %.1f%% vs %.1f%% in training mode: "+
				"batch-norm running statistics look stale; re-estimate them (quant.ReestimateBN) before folding or quantizing",
				r.Epoch, r.TrainEvalN, 100*r.TrainEvalAccuracy, 100*r.TrainAccuracy))
		}
	}
	return out
}

// LayerRange is the dynamic range of one leaf layer at the end of an
// epoch. Weight ranges cover the layer's Weight parameter (conv, depthwise
// or dense kernel; HasWeight false for layers without one). Activation
// ranges cover the layer's output over the evaluation pass on the test set
// in inference mode — the tensors a post-training quantizer calibrates on
// — or, when Fit has no test set, over the epoch's training batches in
// training mode.
type LayerRange struct {
	Layer     string  `json:"layer"`
	Kind      string  `json:"kind"`
	HasWeight bool    `json:"has_weight"`
	WeightMin float32 `json:"weight_min"`
	WeightMax float32 `json:"weight_max"`
	ActMin    float32 `json:"act_min"`
	ActMax    float32 `json:"act_max"`
}

// Last returns the last record, or a zero record when there is none.
func (h *History) Last() EpochRecord {
	if h == nil || len(h.Records) == 0 {
		return EpochRecord{}
	}
	return h.Records[len(h.Records)-1]
}

// JSON returns the history as indented JSON.
func (h *History) JSON() ([]byte, error) {
	return json.MarshalIndent(h, "", "  ")
}

var csvHeader = []string{"epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "lr", "seconds"}

// WriteCSV writes one row per epoch with the columns epoch, train_loss,
// train_accuracy, test_loss, test_accuracy, lr, seconds (test columns empty
// without a test set).
func (h *History) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write(csvHeader)
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for _, r := range h.Records {
		tl, ta := "", ""
		if r.HasTest {
			tl, ta = f(r.TestLoss), f(r.TestAccuracy)
		}
		cw.Write([]string{strconv.Itoa(r.Epoch), f(r.TrainLoss), f(r.TrainAccuracy), tl, ta, f(r.LR), f(r.Seconds)})
	}
	cw.Flush()
	return cw.Error()
}

// CSV returns WriteCSV's output as a string.
func (h *History) CSV() string {
	var b strings.Builder
	h.WriteCSV(&b) // a strings.Builder never fails
	return b.String()
}

// WriteRangesCSV writes the per-layer ranges of every epoch, one row per
// (epoch, layer): epoch, layer, kind, weight_min, weight_max, act_min,
// act_max (weight columns empty for layers without weights).
func (h *History) WriteRangesCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"epoch", "layer", "kind", "weight_min", "weight_max", "act_min", "act_max"})
	f := func(v float32) string { return strconv.FormatFloat(float64(v), 'g', -1, 32) }
	for _, r := range h.Records {
		for _, l := range r.Ranges {
			wmin, wmax := "", ""
			if l.HasWeight {
				wmin, wmax = f(l.WeightMin), f(l.WeightMax)
			}
			cw.Write([]string{strconv.Itoa(r.Epoch), l.Layer, l.Kind, wmin, wmax, f(l.ActMin), f(l.ActMax)})
		}
	}
	cw.Flush()
	return cw.Error()
}

// String returns a small text table of the history.
func (h *History) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-6s %10s %9s %10s %9s %10s %8s\n", "epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds")
	for _, r := range h.Records {
		fmt.Fprintf(&b, "%-6d %10.4f %8.2f%% ", r.Epoch, r.TrainLoss, 100*r.TrainAccuracy)
		if r.HasTest {
			fmt.Fprintf(&b, "%10.4f %8.2f%% ", r.TestLoss, 100*r.TestAccuracy)
		} else {
			fmt.Fprintf(&b, "%10s %9s ", "-", "-")
		}
		fmt.Fprintf(&b, "%10.4g %8.1f\n", r.LR, r.Seconds)
	}
	for _, w := range h.Warnings() {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	return b.String()
}

package analysis

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/quant"
	"github.com/qlab-dev/qlab/qlab/tensor"
	"github.com/qlab-dev/qlab/qlab/train"
)

// LayerErrorOptions configure LayerErrors. The zero value uses qlab/quant's
// zero Options (its default scheme, full quantization), 512 evaluation
// samples in batches of 32, and measures isolated errors too.
type LayerErrorOptions struct {
	// Quant is the quantization scheme and mode (see quant.Options).
	Quant quant.Options
	// Samples is how many evaluation samples to use; 0 means 512.
	Samples int
	// BatchSize for evaluation; 0 means 32. Memory grows with it: every
	// layer's float output of a batch is kept for comparison.
	BatchSize int
	// NoIsolated skips the isolated measurements, which quantize (and
	// calibrate) the model once per quantized layer.
	NoIsolated bool
}

// errAcc accumulates Σref² and Σ(q-ref)² at one layer.
type errAcc struct{ sig, noise float64 }

func (e *errAcc) add(ref, q []float32) {
	for i, r := range ref {
		d := float64(q[i]) - float64(r)
		e.sig += float64(r) * float64(r)
		e.noise += d * d
	}
}

func (e errAcc) sqnr() float64 { return 10 * math.Log10(e.sig/e.noise) }

// LayerErrors measures, layer by layer, how far the outputs of a
// fake-quantized copy of m (qlab/quant.Quantize, calibrated on calib) drift
// from the float model on eval:
//
//   - propagated: every layer quantized as deployed (input included); the
//     error at a layer has accumulated through all the layers before it.
//   - isolated: only that layer quantized (its weights and, if it is a
//     quantization point, its output), the input and every other layer
//     float; the error the layer adds on its own.
//   - sensitivity: with only that layer quantized, the SQNR of the model's
//     output (logits) and the accuracy drop in percentage points.
//
// The float reference is m with batch norm folded the way quant folds it
// (so layer names match the quantized network), in inference mode. SQNR is
// 10·log10(Σref²/Σ(q−ref)²) in dB over all samples; MSE is per element;
// rmse_scale divides the RMS error by the layer's output scale (NaN when
// the layer's output is not a per-tensor quantization point). weight_sqnr
// compares the float and quantized weights. One row per leaf layer of the
// quantized network, in forward order.
func LayerErrors(ctx context.Context, m *nn.Model, calib, eval *data.Dataset, opts LayerErrorOptions) (*Table, error) {
	if m == nil || eval == nil {
		return nil, fmt.Errorf("analysis: layer errors: nil model or evaluation set")
	}
	n := opts.Samples
	if n <= 0 {
		n = 512
	}
	n = min(n, eval.Len())
	bs := opts.BatchSize
	if bs <= 0 {
		bs = 32
	}
	if n == 0 {
		return nil, fmt.Errorf("analysis: layer errors: evaluation set %q is empty", eval.Name)
	}
	var ref *nn.Model
	var err error
	if opts.Quant.Config.NoFoldBN {
		ref, err = m.Clone()
	} else {
		ref, err = quant.FoldBatchNorm(m)
	}
	if err != nil {
		return nil, fmt.Errorf("analysis: layer errors: %w", err)
	}
	ref.Eval()
	full, err := quant.Quantize(ctx, m, calib, opts.Quant)
	if err != nil {
		return nil, fmt.Errorf("analysis: layer errors: %w", err)
	}
	layers := ref.Layers()
	names := make([]string, len(layers))
	for i, l := range layers {
		names[i] = l.Name()
		if full.Net.Layer(l.Name()) == nil {
			return nil, fmt.Errorf("analysis: layer errors: quantized network lacks layer %q", l.Name())
		}
	}
	// The layers quant changes: a weight or an output quantization point.
	var quantized []string
	for _, lq := range full.Layers {
		if lq.Layer != quant.InputName && (lq.Weight != nil || lq.Output != nil) && !slices.Contains(opts.Quant.Float, lq.Layer) {
			quantized = append(quantized, lq.Layer)
		}
	}
	// Float outputs of the current batch, copied since layers reuse buffers.
	refOut := map[string]*tensor.Tensor{}
	for _, nm := range names {
		refOut[nm] = &tensor.Tensor{}
	}
	refTap := train.Attach(ref, func(l nn.Layer, out *tensor.Tensor) error {
		t := refOut[l.Name()]
		t.Resize(out.Shape...)
		copy(t.Data, out.Data)
		return nil
	})
	defer refTap.Close()
	var logits tensor.Tensor
	// walk runs the evaluation batches through ref (filling refOut and
	// logits), then fn.
	walk := func(fn func(x *tensor.Tensor, labels []int) error) error {
		return train.EachBatch(ctx, eval, train.BatchOptions{BatchSize: bs, Samples: n}, func(x *tensor.Tensor, labels []int) error {
			y, err := ref.Forward(x)
			if err == nil {
				err = refTap.Err()
			}
			if err != nil {
				return fmt.Errorf("float model: %w", err)
			}
			logits.Resize(y.Shape...)
			copy(logits.Data, y.Data)
			return fn(x, labels)
		})
	}

	// Propagated: the fully quantized model.
	prop := make(map[string]*errAcc, len(names))
	for _, nm := range names {
		prop[nm] = &errAcc{}
	}
	fullTap := train.Attach(full.Net, func(l nn.Layer, out *tensor.Tensor) error {
		if t := refOut[l.Name()]; t != nil && len(t.Data) == len(out.Data) {
			prop[l.Name()].add(t.Data, out.Data)
		}
		return nil
	})
	var refCorrect int
	err = walk(func(x *tensor.Tensor, labels []int) error {
		refCorrect += correct(&logits, labels)
		_, err := full.Forward(x)
		if terr := fullTap.Err(); terr != nil {
			err = terr
		}
		if err != nil {
			return fmt.Errorf("quantized model: %w", err)
		}
		return nil
	})
	fullTap.Close()
	if err != nil {
		return nil, fmt.Errorf("analysis: layer errors: %w", err)
	}

	// Isolated: one model per quantized layer, quantized, measured and
	// dropped in turn, so that only one copy (with its layer buffers) is
	// in memory at a time; the float reference is run again for each.
	iso := map[string]*errAcc{}
	isoOut := map[string]*errAcc{}
	isoCorrect := map[string]int{}
	for _, name := range quantized {
		if opts.NoIsolated {
			break
		}
		o := opts.Quant
		o.Float = nil
		for _, other := range names {
			if other != name {
				o.Float = append(o.Float, other)
			}
		}
		qm, err := quant.Quantize(ctx, m, calib, o)
		if err != nil {
			return nil, fmt.Errorf("analysis: layer errors: isolating %q: %w", name, err)
		}
		acc, out := &errAcc{}, &errAcc{}
		iso[name], isoOut[name] = acc, out
		tap := train.Attach(qm.Net, func(l nn.Layer, y *tensor.Tensor) error {
			if l.Name() == name {
				acc.add(refOut[name].Data, y.Data)
			}
			return nil
		})
		err = walk(func(x *tensor.Tensor, labels []int) error {
			// Net.Forward, not Model.Forward: the input stays float.
			yi, err := qm.Net.Forward(x)
			if terr := tap.Err(); terr != nil {
				err = terr
			}
			if err != nil {
				return fmt.Errorf("isolating %q: %w", name, err)
			}
			out.add(logits.Data, yi.Data)
			isoCorrect[name] += correct(yi, labels)
			return nil
		})
		tap.Close()
		if err != nil {
			return nil, fmt.Errorf("analysis: layer errors: %w", err)
		}
	}

	t := NewTable(m.Name()+" layer errors", "layer", "kind", "index", "quantized",
		"propagated_sqnr", "propagated_mse", "propagated_rmse_scale",
		"isolated_sqnr", "isolated_mse", "isolated_rmse_scale",
		"isolated_output_sqnr", "isolated_acc_drop", "weight_sqnr")
	for i, l := range layers {
		nm := l.Name()
		lq := full.Layer(nm)
		scale := math.NaN()
		if lq != nil && lq.Output != nil && lq.Output.PerTensor() {
			scale = float64(lq.Output.Scale[0])
		}
		elems := float64(tensor.Size(refOut[nm].Shape[1:])) * float64(n)
		p := prop[nm]
		row := []any{nm, l.Kind(), i, slices.Contains(quantized, nm),
			p.sqnr(), p.noise / elems, math.Sqrt(p.noise/elems) / scale}
		if a := iso[nm]; a != nil {
			row = append(row, a.sqnr(), a.noise/elems, math.Sqrt(a.noise/elems)/scale,
				isoOut[nm].sqnr(), 100*float64(refCorrect-isoCorrect[nm])/float64(n))
		} else {
			row = append(row, math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN())
		}
		row = append(row, weightSQNR(ref, full.Net, l))
		if err := t.Append(row...); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// weightSQNR compares the float and quantized weight of layer l (NaN when
// it has none or it is unchanged).
func weightSQNR(ref, q *nn.Model, l nn.Layer) float64 {
	for _, p := range l.Params() {
		if p.Kind != nn.Weight {
			continue
		}
		qp := q.Param(p.Name)
		if qp == nil || len(qp.Value.Data) != len(p.Value.Data) {
			return math.NaN()
		}
		var e errAcc
		e.add(p.Value.Data, qp.Value.Data)
		if e.noise == 0 {
			return math.NaN()
		}
		return e.sqnr()
	}
	return math.NaN()
}

// correct counts rows of logits (N, classes) whose argmax equals the label.
func correct(logits *tensor.Tensor, labels []int) int {
	if len(logits.Shape) != 2 || logits.Shape[0] != len(labels) {
		return 0
	}
	k := logits.Shape[1]
	c := 0
	for i, lab := range labels {
		row := logits.Data[i*k : (i+1)*k]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		if best == lab {
			c++
		}
	}
	return c
}

package quant

import (
	"context"
	"fmt"
	"math"

	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
	"github.com/qlab-dev/qlab/qlab/train"
)

// LayerError is the accumulated quantization error at one activation point:
// the quantized model's output there against the float model's, with every
// upstream layer quantized too, so a table of them shows how error builds
// up through depth.
type LayerError struct {
	Layer, Kind string
	// Depth is the point's index among the quantization points (input 0).
	Depth int
	// MSE is the mean squared difference; Signal the mean squared float
	// value; SQNR = 10·log10(Signal/MSE) in dB (+Inf when MSE is 0).
	MSE, Signal, SQNR float64
	// Elements is the number of values compared.
	Elements int
}

// LayerErrors runs d through the float model m (folded as q was) and the
// quantized q and returns, for every quantization point in forward order,
// the error of q's output against the float output. m is not modified
// (its copy runs in inference mode).
func LayerErrors(ctx context.Context, m *nn.Model, q *Model, d *data.Dataset) ([]LayerError, error) {
	var ref *nn.Model
	var err error
	if q.Options.Config.NoFoldBN {
		ref, err = m.Clone()
		if err == nil {
			ref.Eval()
		}
	} else {
		ref, err = FoldBatchNorm(m)
	}
	if err != nil {
		return nil, fmt.Errorf("quant: layer errors: %w", err)
	}
	var rows []LayerError
	index := map[string]int{}
	for _, lq := range q.Layers {
		if lq.Output != nil {
			index[lq.Layer] = len(rows)
			rows = append(rows, LayerError{Layer: lq.Layer, Kind: lq.Kind, Depth: len(rows)})
		}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("quant: layer errors: model %q has no quantized activations", m.Name())
	}
	floats := make([][]float32, len(rows))
	sumSig := make([]float64, len(rows))
	sumErr := make([]float64, len(rows))
	refTap := train.Attach(ref, func(l nn.Layer, out *tensor.Tensor) error {
		if i, ok := index[l.Name()]; ok {
			floats[i] = append(floats[i][:0], out.Data...)
		}
		return nil
	})
	defer refTap.Close()
	qTap := train.Attach(q.Net, func(l nn.Layer, out *tensor.Tensor) error {
		i, ok := index[l.Name()]
		if !ok {
			return nil
		}
		f := floats[i]
		if len(f) != len(out.Data) {
			return fmt.Errorf("%q: float output has %d values, quantized %d", l.Name(), len(f), len(out.Data))
		}
		for k, v := range out.Data {
			e := float64(v) - float64(f[k])
			sumErr[i] += e * e
			sumSig[i] += float64(f[k]) * float64(f[k])
		}
		rows[i].Elements += len(f)
		return nil
	})
	defer qTap.Close()
	in := index[InputName]
	err = train.EachBatch(ctx, d, train.BatchOptions{BatchSize: batchSize(q.Options)}, func(x *tensor.Tensor, _ []int) error {
		if _, err := ref.Forward(x); err != nil {
			return err
		}
		if err := refTap.Err(); err != nil {
			return err
		}
		_, err := q.Forward(x)
		if terr := qTap.Err(); terr != nil {
			return terr
		}
		if err != nil {
			return err
		}
		if q.input != nil {
			// The input is quantized outside the network's layers.
			for k, v := range q.inBuf.Data {
				f := float64(x.Data[k])
				sumErr[in] += (float64(v) - f) * (float64(v) - f)
				sumSig[in] += f * f
			}
			rows[in].Elements += len(q.inBuf.Data)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("quant: layer errors: %w", err)
	}
	for i := range rows {
		n := float64(max(rows[i].Elements, 1))
		rows[i].MSE, rows[i].Signal = sumErr[i]/n, sumSig[i]/n
		rows[i].SQNR = 10 * math.Log10(rows[i].Signal/rows[i].MSE)
	}
	return rows, nil
}

package quant

import (
	"context"
	"fmt"

	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// QATOptions configure TrainQAT. The zero value fine-tunes for one epoch
// with SGD (learning rate 1e-3, momentum 0.9), batches of 64, shuffled with
// seed 0, under the zero Options.
type QATOptions struct {
	// Options give the scheme, mode, float layers and batch size; the
	// activations must be per tensor.
	Options Options
	// Epochs over the training set; 0 means 1.
	Epochs int
	// LR and Momentum of the SGD fine-tuning; 0 means 1e-3 and 0.9.
	LR, Momentum float64
	// Seed of the per-epoch shuffling.
	Seed uint64
	// PlainSTE passes weight and bias gradients through their quantizers
	// unchanged (the plain straight-through estimator). The default
	// (false) is PyTorch's clipped estimator (QParams.FakeQuantGrad): the
	// gradient of an element whose code falls outside [QMin, QMax] before
	// clamping is zeroed.
	PlainSTE bool
}

// TrainQAT fine-tunes m with quantization in the loop and returns the
// quantized model (m is not modified). It starts from Quantize (folded
// batch norm, activation ranges calibrated on trainSet), then for every
// batch: fake-quantizes float master weights with freshly computed weight
// params (PyTorch QAT's per-step weight observers), updates each activation
// range with a moving average (constant 0.01, PyTorch's QAT default) before
// fake-quantizing it, and steps SGD on the master weights with the
// gradient taken at the quantized ones.
//
// Weight and bias gradients go through PyTorch's clipped straight-through
// estimator (zero where the master value falls outside the quantization
// range; see QATOptions.PlainSTE). Activation gradients pass through their
// quantizers unclipped (the plain estimator): package nn has no backward
// hook at which the mask could be applied, so the layers see fake-quantized
// outputs as ordinary ones.
func TrainQAT(ctx context.Context, m *nn.Model, trainSet *data.Dataset, o QATOptions) (*Model, error) {
	opt := o.Options
	if opt.Config.Activations.PerChannel {
		return nil, fmt.Errorf("%w: TrainQAT needs per-tensor activations", ErrConfig)
	}
	q, err := Quantize(ctx, m, trainSet, opt)
	if err != nil {
		return nil, err
	}
	var ref *nn.Model
	if opt.Config.NoFoldBN {
		ref, err = m.Clone()
	} else {
		ref, err = FoldBatchNorm(m)
	}
	if err != nil {
		return nil, err
	}
	// Master (float) values of every trainable parameter.
	master := map[*nn.Param][]float32{}
	for _, p := range q.Net.Params() {
		rp := ref.Param(p.Name)
		if rp == nil || rp.Value.Len() != p.Value.Len() {
			return nil, fmt.Errorf("quant: QAT: parameter %q missing from the float model", p.Name)
		}
		master[p] = append([]float32(nil), rp.Value.Data...)
	}
	// Moving-average activation ranges, starting from the calibrated ones.
	mas := map[string]*MovingAverageCalibrator{}
	seed := func(name string, p *QParams) {
		c := NewMovingAverage(name, 0.01)
		c.lo = float32(p.QMin-p.ZeroPoint[0]) * p.Scale[0]
		c.hi = float32(p.QMax-p.ZeroPoint[0]) * p.Scale[0]
		c.seen = true
		mas[name] = c
	}
	if q.input != nil {
		seed(InputName, q.input)
	}
	for name, p := range q.acts {
		seed(name, p)
	}
	ac := opt.Config.Activations
	update := func(name string, x []float32) (*QParams, error) {
		c := mas[name]
		if err := c.Observe(x); err != nil {
			return nil, err
		}
		lo, hi, _ := c.Range()
		return ac.QParamsFromRange(lo, hi)
	}
	var hookErr error
	q.removeHook()
	remove := q.Net.Observe(func(l nn.Layer, out *tensor.Tensor) {
		if _, ok := mas[l.Name()]; !ok || hookErr != nil {
			return
		}
		p, err := update(l.Name(), out.Data)
		if err == nil {
			q.acts[l.Name()] = p
			err = p.FakeQuant(out, out)
		}
		if err != nil {
			hookErr = fmt.Errorf("quant: QAT: layer %q: %w", l.Name(), err)
		}
	})

	lr, mom := o.LR, o.Momentum
	if lr == 0 {
		lr = 1e-3
	}
	if mom == 0 {
		mom = 0.9
	}
	// SGD with momentum, PyTorch's form: v = mom·v + g (v = g on the first
	// step), w -= lr·v, on the master weights.
	velocity := map[*nn.Param][]float32{}
	first := true
	var loss nn.SoftmaxCrossEntropy
	epochs := max(o.Epochs, 1)
	q.Net.Train()
	for e := 0; e < epochs && err == nil; e++ {
		err = forEachBatch(ctx, trainSet.Shuffle(o.Seed+uint64(e)), 0, batchSize(opt), func(b *data.Dataset) error {
			for p, v := range master {
				copy(p.Value.Data, v)
			}
			if err := q.requantizeWeights(master); err != nil {
				return err
			}
			if q.input != nil {
				p, err := update(InputName, b.Images.Data)
				if err != nil {
					return err
				}
				q.input = p
			}
			q.Net.ZeroGrad()
			hookErr = nil
			y, err := q.Forward(b.Images)
			if err == nil {
				err = hookErr
			}
			if err != nil {
				return err
			}
			if _, err := loss.Forward(y, b.Labels); err != nil {
				return err
			}
			if _, err := q.Net.Backward(loss.Backward()); err != nil {
				return err
			}
			if !o.PlainSTE {
				if err := q.clipWeightGrads(master); err != nil {
					return err
				}
			}
			for p, w := range master {
				v := velocity[p]
				if v == nil {
					v = make([]float32, len(w))
					velocity[p] = v
				}
				g := p.Grad.Data
				for k := range w {
					if first {
						v[k] = g[k]
					} else {
						v[k] = float32(mom)*v[k] + g[k]
					}
					w[k] -= float32(lr) * v[k]
				}
			}
			first = false
			return nil
		})
	}
	remove()
	q.Net.Eval()
	if err == nil {
		for p, v := range master {
			copy(p.Value.Data, v)
		}
		err = q.requantizeWeights(master)
	}
	q.removeHook = q.Net.Observe(q.hook)
	if err != nil {
		return nil, fmt.Errorf("quant: QAT of %q: %w", m.Name(), err)
	}
	// Record the final activation params.
	for i := range q.Layers {
		if i == 0 {
			q.Layers[0].Output = q.input
		} else if q.Layers[i].Output != nil {
			q.Layers[i].Output = q.acts[q.Layers[i].Layer]
		}
	}
	return q, nil
}

// requantizeWeights sets every quantized weight (and bias) from its master
// value and quantizes it again with params computed afresh.
func (q *Model) requantizeWeights(master map[*nn.Param][]float32) error {
	for i := range q.Layers {
		lq := &q.Layers[i]
		if lq.WeightShape == nil {
			continue
		}
		w, b := weightOf(q.Net.Layer(lq.Layer))
		copy(w.Value.Data, master[w])
		if b != nil {
			copy(b.Value.Data, master[b])
		}
		lq.Weight, lq.Bias = nil, nil
		if err := q.quantizeParams(lq, w, b); err != nil {
			return fmt.Errorf("layer %q: %w", lq.Layer, err)
		}
	}
	return nil
}

// clipWeightGrads zeroes the gradient of every quantized weight and bias
// element whose master value lies outside its quantization range (the
// clipped straight-through estimator, QParams.FakeQuantGrad).
func (q *Model) clipWeightGrads(master map[*nn.Param][]float32) error {
	for i := range q.Layers {
		lq := &q.Layers[i]
		if lq.WeightShape == nil {
			continue
		}
		w, b := weightOf(q.Net.Layer(lq.Layer))
		for _, pq := range []struct {
			p  *nn.Param
			qp *QParams
		}{{w, lq.Weight}, {b, lq.Bias}} {
			if pq.p == nil || pq.qp == nil {
				continue
			}
			x := &tensor.Tensor{Shape: pq.p.Value.Shape, Data: master[pq.p]}
			if err := pq.qp.FakeQuantGrad(pq.p.Grad, x, pq.p.Grad); err != nil {
				return fmt.Errorf("layer %q: %q gradient: %w", lq.Layer, pq.p.Name, err)
			}
		}
	}
	return nil
}

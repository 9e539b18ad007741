package quant

import (
	"context"
	"fmt"
	"math"

	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// QATOptions configure TrainQAT. The zero value fine-tunes for one epoch
// with SGD (learning rate 1e-3, momentum 0.9), batches of 64, shuffled with
// seed 0, under the zero Options, with the clipped straight-through
// estimator on weights, observed ranges and batch norm folded before
// fine-tuning.
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
	// clamping is zeroed. Activation gradients always pass unclipped:
	// package nn has no backward hook at the activation points.
	PlainSTE bool
	// Ranges selects how weight ranges move during fine-tuning: Observed
	// (the default) recomputes them from the master weights every step;
	// Learned learns the weight scales (one per channel or per tensor, as
	// Options.Config.Weights says) with LSQ. Activation ranges are always
	// observed (moving average).
	Ranges Ranges
	// BNInTraining keeps each batch norm that follows a convolution
	// unfolded during fine-tuning and folds it at every step the way
	// PyTorch's ConvBn2d / ConvBnReLU2d QAT modules do: the convolution
	// runs with fake-quantized weights w·gamma/sqrt(running var + eps),
	// its output is divided by that factor (and the float bias added), and
	// the batch norm normalises it with batch statistics, updating its
	// running statistics. The gradient of gamma through the folding factor
	// is left out (it is zero under the plain straight-through estimator).
	// The result is folded with the final running statistics and
	// quantized. The default (false) folds batch norm once, before
	// fine-tuning. It needs observed ranges and folding (Config.NoFoldBN
	// false).
	BNInTraining bool
}

// Ranges selects observed or learned quantization ranges in TrainQAT.
type Ranges int

const (
	// Observed ranges follow the tensors' min/max (PyTorch's FakeQuantize
	// with its observers).
	Observed Ranges = iota
	// Learned weight scales are trained by gradient descent with Learned
	// Step Size Quantization (Esser et al., "Learned Step Size
	// Quantization", ICLR 2020), initialised from the observed params,
	// zero points kept. The scale gradient of an element with u = w/s is
	// round(u)-u inside the range and the bound (qmin-zp or qmax-zp)
	// outside, scaled by 1/sqrt(N·(qmax-zp)), N being the number of
	// elements sharing the scale; the scale gets the weights' SGD step
	// (learning rate and momentum) and is kept at least Eps.
	Learned
)

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
	switch {
	case o.Ranges != Observed && o.Ranges != Learned:
		return nil, fmt.Errorf("%w: QAT ranges %d", ErrConfig, o.Ranges)
	case o.Ranges == Learned && (opt.Config.Weights.Nudged || opt.Config.Weights.PowerOfTwoScale):
		return nil, fmt.Errorf("%w: learned weight ranges need scales free of Nudged and PowerOfTwoScale", ErrConfig)
	}
	if o.BNInTraining && (o.Ranges != Observed || opt.Config.NoFoldBN) {
		return nil, fmt.Errorf("%w: BNInTraining needs observed ranges and batch-norm folding", ErrConfig)
	}
	q, err := Quantize(ctx, m, trainSet, opt)
	if err != nil {
		return nil, err
	}
	if o.BNInTraining {
		if _, err := trainQATBN(ctx, m, trainSet, o, q); err != nil {
			return nil, err
		}
		q.recordActs()
		return q, nil
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
	mas := newActRanges(q)
	update := func(name string, x []float32) (*QParams, error) {
		return mas.update(opt.Config.Activations, name, x)
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
	// Learned weight params (LSQ), starting from those Quantize observed;
	// nil under observed ranges.
	var learned map[string]*lsqScale
	if o.Ranges == Learned && !opt.Config.Weights.Float {
		learned = map[string]*lsqScale{}
		for _, lq := range q.Layers {
			if lq.Weight != nil {
				p := *lq.Weight
				p.Scale = append([]float32(nil), p.Scale...)
				learned[lq.Layer] = &lsqScale{p: &p, grad: make([]float64, len(p.Scale)), v: make([]float64, len(p.Scale))}
			}
		}
	}
	var loss nn.SoftmaxCrossEntropy
	epochs := max(o.Epochs, 1)
	q.Net.Train()
	for e := 0; e < epochs && err == nil; e++ {
		err = forEachBatch(ctx, trainSet.Shuffle(o.Seed+uint64(e)), 0, batchSize(opt), func(b *data.Dataset) error {
			for p, v := range master {
				copy(p.Value.Data, v)
			}
			if err := q.requantizeWeights(master, learned); err != nil {
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
			if err := q.stepScales(master, learned, lr, mom, first); err != nil {
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
		err = q.requantizeWeights(master, learned)
	}
	q.removeHook = q.Net.Observe(q.hook)
	if err != nil {
		return nil, fmt.Errorf("quant: QAT of %q: %w", m.Name(), err)
	}
	q.recordActs()
	return q, nil
}

// recordActs records the final activation params in q.Layers.
func (q *Model) recordActs() {
	for i := range q.Layers {
		if i == 0 {
			q.Layers[0].Output = q.input
		} else if q.Layers[i].Output != nil {
			q.Layers[i].Output = q.acts[q.Layers[i].Layer]
		}
	}
}

// requantizeWeights sets every quantized weight (and bias) from its master
// value and quantizes it again with params computed afresh, or for weights
// with the learned params in learned (keyed by layer name; may be nil).
func (q *Model) requantizeWeights(master map[*nn.Param][]float32, learned map[string]*lsqScale) error {
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
		if l := learned[lq.Layer]; l != nil {
			p := *l.p
			p.Scale = append([]float32(nil), l.p.Scale...)
			lq.Weight = &p
			if err := p.FakeQuant(w.Value, w.Value); err != nil {
				return fmt.Errorf("layer %q: weight %q: %w", lq.Layer, w.Name, err)
			}
			if err := q.quantizeBias(lq, b); err != nil {
				return fmt.Errorf("layer %q: %w", lq.Layer, err)
			}
			continue
		}
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

// lsqScale is one learned weight quantizer: its params (scales updated in
// place), the scale gradient of the current step and the SGD velocity.
type lsqScale struct {
	p       *QParams
	grad, v []float64
}

// stepScales adds the LSQ gradient of every learned weight scale (from the
// gradient at the quantized weights and the master values) and steps SGD
// on it: v = mom·v + g (v = g on the first step), s -= lr·v, s >= Eps.
func (q *Model) stepScales(master map[*nn.Param][]float32, learned map[string]*lsqScale, lr, mom float64, first bool) error {
	for i := range q.Layers {
		lq := &q.Layers[i]
		l := learned[lq.Layer]
		if l == nil {
			continue
		}
		w, _ := weightOf(q.Net.Layer(lq.Layer))
		x := &tensor.Tensor{Shape: w.Value.Shape, Data: master[w]}
		if err := l.p.lsqScaleGrad(l.grad, x, w.Grad); err != nil {
			return fmt.Errorf("layer %q: weight scale: %w", lq.Layer, err)
		}
		for c, g := range l.grad {
			if first {
				l.v[c] = g
			} else {
				l.v[c] = mom*l.v[c] + g
			}
			l.p.Scale[c] = max(float32(float64(l.p.Scale[c])-lr*l.v[c]), Eps)
		}
	}
	return nil
}

// lsqScaleGrad writes into grad (one per channel) the LSQ gradient of the
// loss with respect to each scale of q, given the fake-quantized tensor's
// input x and dy, the loss gradient at its output: the sum over the
// channel of dy·(round(u)-u) for u = x/scale inside [qmin-zp, qmax-zp]
// and dy·bound outside, times the grad scale 1/sqrt(N·(qmax-zp)).
func (q *QParams) lsqScaleGrad(grad []float64, x, dy *tensor.Tensor) error {
	inner, channels, err := q.check(x.Shape)
	if err != nil {
		return err
	}
	if !tensor.SameShape(x.Shape, dy.Shape) || len(x.Data) != len(dy.Data) || len(grad) != channels {
		return fmt.Errorf("%w: gradient shape %v for input shape %v, %d channels", tensor.ErrShape, dy.Shape, x.Shape, len(grad))
	}
	clear(grad)
	for i, v := range x.Data {
		if v != v {
			return fmt.Errorf("%w: NaN at element %d", ErrNaN, i)
		}
		c := 0
		if channels > 1 {
			c = (i / inner) % channels
		}
		zp := q.ZeroPoint[c]
		lo, hi := float64(q.QMin-zp), float64(q.QMax-zp)
		u := float64(v) / float64(q.Scale[c])
		var d float64
		switch {
		case u <= lo:
			d = lo
		case u >= hi:
			d = hi
		default:
			d = math.RoundToEven(u) - u
		}
		grad[c] += float64(dy.Data[i]) * d
	}
	n := float64(len(x.Data) / channels)
	for c := range grad {
		qp := float64(q.QMax - q.ZeroPoint[c])
		grad[c] /= math.Sqrt(n * max(qp, 1))
	}
	return nil
}

// actRanges are QAT's moving-average activation ranges (PyTorch's QAT
// default, averaging constant 0.01), one per activation point of a
// quantized model, seeded from its calibrated QParams.
type actRanges map[string]*MovingAverageCalibrator

// newActRanges seeds a moving average for the input and for every
// activation point of q from the range its calibrated params cover.
func newActRanges(q *Model) actRanges {
	r := actRanges{}
	seed := func(name string, p *QParams) {
		c := NewMovingAverage(name, 0.01)
		c.lo = float32(p.QMin-p.ZeroPoint[0]) * p.Scale[0]
		c.hi = float32(p.QMax-p.ZeroPoint[0]) * p.Scale[0]
		c.seen = true
		r[name] = c
	}
	if q.input != nil {
		seed(InputName, q.input)
	}
	for name, p := range q.acts {
		seed(name, p)
	}
	return r
}

// update folds x into the named range and returns the params it now gives
// under the activation config c.
func (r actRanges) update(c TensorConfig, name string, x []float32) (*QParams, error) {
	m := r[name]
	if err := m.Observe(x); err != nil {
		return nil, err
	}
	lo, hi, _ := m.Range()
	return c.QParamsFromRange(lo, hi)
}

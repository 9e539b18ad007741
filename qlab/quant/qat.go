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
	if opt.Config.Activations.PerChannel || anyRule(opt.Config, func(c Config) bool { return c.Activations.PerChannel }) {
		return nil, fmt.Errorf("%w: TrainQAT needs per-tensor activations", ErrConfig)
	}
	switch {
	case o.Ranges != Observed && o.Ranges != Learned:
		return nil, fmt.Errorf("%w: QAT ranges %d", ErrConfig, o.Ranges)
	case o.Ranges == Learned && (opt.Config.Weights.Nudged || opt.Config.Weights.PowerOfTwoScale ||
		anyRule(opt.Config, func(c Config) bool { return c.Weights.Nudged || c.Weights.PowerOfTwoScale })):
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
		if err := trainQATBN(ctx, m, trainSet, o, q); err != nil {
			return nil, fmt.Errorf("quant: QAT of %q: %w", m.Name(), err)
		}
		q.recordActs()
		return q, nil
	}
	if err := trainQATFolded(ctx, m, trainSet, o, q); err != nil {
		return nil, fmt.Errorf("quant: QAT of %q: %w", m.Name(), err)
	}
	q.recordActs()
	return q, nil
}

// trainQATFolded is TrainQAT with batch norm folded before fine-tuning
// (or kept under NoFoldBN): it trains q.Net itself.
func trainQATFolded(ctx context.Context, m *nn.Model, trainSet *data.Dataset, o QATOptions, q *Model) error {
	cfg := o.Options.Config
	ref, err := FoldBatchNorm(m)
	if cfg.NoFoldBN {
		ref, err = m.Clone()
	}
	if err != nil {
		return err
	}
	// q.Net's parameters hold the float master values between steps; the
	// loop saves them into master before each forward pass, quantizes the
	// parameters in place and restores them before the optimizer steps.
	params := q.Net.Params()
	for _, p := range params {
		rp := ref.Param(p.Name)
		if rp == nil || rp.Value.Len() != p.Value.Len() {
			return fmt.Errorf("quant: QAT: parameter %q missing from the float model", p.Name)
		}
		copy(p.Value.Data, rp.Value.Data)
	}
	// Learned weight params (LSQ), starting from those Quantize observed;
	// nil under observed ranges. Their scales are parameters the
	// optimizer steps along with the weights.
	var learned map[string]*lsqScale
	var scales []*nn.Param
	if o.Ranges == Learned && !cfg.Weights.Float {
		learned = map[string]*lsqScale{}
		for _, lq := range q.Layers {
			if lq.Weight != nil {
				l := newLSQScale(lq.Layer, lq.Weight)
				learned[lq.Layer] = l
				scales = append(scales, l.param)
			}
		}
	}
	q.closeTap()
	defer q.openTap()
	loop, master, err := q.qatLoop(q.Net, trainSet, o, scales)
	if err != nil {
		return err
	}
	loop.AddHook(train.Hook{Name: "quantize weights", Stage: train.BeforeForward, Fn: func(*train.Loop) error {
		return q.requantizeWeights(master, learned)
	}})
	loop.Tap(func(l nn.Layer, out *tensor.Tensor) error {
		return q.fakeQuantAct(l.Name(), l.Name(), out)
	})
	loop.AddHook(train.Hook{Name: "LSQ scale gradients", Stage: train.BeforeUpdate, Priority: -1, Fn: func(*train.Loop) error {
		return q.scaleGrads(master, learned)
	}})
	if !o.PlainSTE {
		loop.AddHook(train.Hook{Name: "clipped straight-through estimator", Stage: train.BeforeUpdate, Fn: func(*train.Loop) error {
			return q.clipWeightGrads(master)
		}})
	}
	if len(scales) > 0 {
		loop.AddHook(train.Hook{Name: "LSQ scale floor", Stage: train.AfterUpdate, Fn: func(*train.Loop) error {
			for _, s := range scales {
				for c, v := range s.Value.Data {
					s.Value.Data[c] = max(v, Eps)
				}
			}
			return nil
		}})
	}
	if err := loop.Run(ctx); err != nil {
		return err
	}
	for _, p := range params {
		copy(master[p], p.Value.Data)
	}
	return q.requantizeWeights(master, learned)
}

// qatLoop returns the training loop both QAT variants run on net: SGD
// with momentum (o.LR, o.Momentum) over net's parameters and extra, for
// o.Epochs over trainSet shuffled from o.Seed, in batches of the options'
// batch size. Its hooks update the input's moving-average range and
// fake-quantize each batch before the forward pass, save every parameter
// of net into master before the forward pass (hooks of priority 0 then
// quantize them in place) and restore them before the optimizer steps
// (after BeforeUpdate hooks of lower priority), so the optimizer updates
// the float master values with the gradient taken at the quantized ones.
func (q *Model) qatLoop(net *nn.Model, trainSet *data.Dataset, o QATOptions, extra []*nn.Param) (*train.Loop, map[*nn.Param][]float32, error) {
	lr, mom := o.LR, o.Momentum
	if lr == 0 {
		lr = 1e-3
	}
	if mom == 0 {
		mom = 0.9
	}
	params := net.Params()
	opt, err := train.NewOptimizer(train.SGD(lr, mom), append(params, extra...))
	if err != nil {
		return nil, nil, err
	}
	master := map[*nn.Param][]float32{}
	for _, p := range params {
		master[p] = make([]float32, len(p.Value.Data))
	}
	loop := &train.Loop{Model: net, Optimizer: opt, Epochs: max(o.Epochs, 1),
		Loader: &data.Loader{Data: trainSet, BatchSize: batchSize(o.Options), Shuffle: true, Seed: o.Seed}}
	loop.AddHook(train.Hook{Name: "save master values", Stage: train.BeforeForward, Priority: -1, Fn: func(*train.Loop) error {
		for _, p := range params {
			copy(master[p], p.Value.Data)
		}
		return nil
	}})
	if q.input != nil {
		loop.AddHook(train.Hook{Name: "quantize input", Stage: train.BeforeForward, Fn: func(l *train.Loop) error {
			p, err := q.ranges.update(q.actConfig(InputName), InputName, l.X.Data)
			if err != nil {
				return err
			}
			q.input = p
			return p.FakeQuant(l.X, l.X)
		}})
	}
	loop.AddHook(train.Hook{Name: "restore master values", Stage: train.BeforeUpdate, Priority: 1, Fn: func(*train.Loop) error {
		for _, p := range params {
			copy(p.Value.Data, master[p])
		}
		return nil
	}})
	q.ranges = newActRanges(q)
	return loop, master, nil
}

// fakeQuantAct updates the moving-average range of the activation point
// called point with out (the output of layer) and fake-quantizes out in
// place with the params it now gives. Layers that are not points pass.
func (q *Model) fakeQuantAct(layer, point string, out *tensor.Tensor) error {
	if _, ok := q.ranges[point]; !ok {
		return nil
	}
	p, err := q.ranges.update(q.actConfig(point), point, out.Data)
	if err == nil {
		q.acts[point] = p
		err = p.FakeQuant(out, out)
	}
	if err != nil {
		return fmt.Errorf("quant: QAT: layer %q: %w", layer, err)
	}
	return nil
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
	for _, lq := range q.Layers {
		if lq.WeightShape == nil {
			continue
		}
		w, b := weightOf(q.Net.Layer(lq.Layer))
		if err := clipGrads(lq, w, b, master); err != nil {
			return err
		}
	}
	return nil
}

// clipGrads applies the clipped straight-through estimator to the weight
// w and bias b of one layer quantized as lq, from their master values.
func clipGrads(lq LayerQuant, w, b *nn.Param, master map[*nn.Param][]float32) error {
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
	return nil
}

// lsqScale is one learned weight quantizer: its params, whose scales are
// the value of param (the optimizer steps them), and the float64 scale
// gradient of the current step.
type lsqScale struct {
	p     *QParams
	param *nn.Param
	grad  []float64
}

// newLSQScale starts a learned quantizer of layer's weight from p.
func newLSQScale(layer string, p *QParams) *lsqScale {
	c := *p
	c.Scale = append([]float32(nil), p.Scale...)
	n := len(c.Scale)
	return &lsqScale{p: &c, grad: make([]float64, n), param: &nn.Param{Name: layer + "/weight-scale",
		Value: &tensor.Tensor{Shape: []int{n}, Data: c.Scale}, Grad: tensor.New(n)}}
}

// scaleGrads sets the gradient of every learned weight scale to its LSQ
// gradient, from the gradient at the quantized weights and the master
// values.
func (q *Model) scaleGrads(master map[*nn.Param][]float32, learned map[string]*lsqScale) error {
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
			l.param.Grad.Data[c] = float32(g)
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

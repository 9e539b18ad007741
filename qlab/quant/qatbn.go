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

// bnFold is one convolution whose following batch norm TrainQAT folds at
// every step, as PyTorch's ConvBn2d QAT module does.
type bnFold struct {
	w, b *nn.Param // the convolution's weight and bias (b may be nil)
	bn   *nn.BatchNorm2D
	sf   []float32      // gamma / sqrt(running var + eps) at this step
	fold *tensor.Tensor // master weight times sf: the fake quantizer's input
	wq   []float32      // fake-quantized fold
	qp   *QParams       // weight params of this step (nil: float weights)
}

// trainQATBN is TrainQAT with BNInTraining: it fine-tunes a clone of m
// with the batch norms unfolded and updates q (Quantize's folded model)
// in place from the result.
func trainQATBN(ctx context.Context, m *nn.Model, trainSet *data.Dataset, o QATOptions, q *Model) error {
	tn, err := m.Clone()
	if err != nil {
		return err
	}
	var folds []fold
	if _, err := foldList(tn.TopLayers(), &folds); err != nil {
		return err
	}
	pairs := map[string]*bnFold{} // by convolution name
	byBN := map[string]string{}   // batch norm name -> convolution name
	for _, f := range folds {
		w, b := weightOf(tn.Layer(f.conv))
		pairs[f.conv] = &bnFold{w: w, b: b, bn: f.bn, sf: make([]float32, f.bn.Config().Channels), fold: &tensor.Tensor{}}
		byBN[f.bn.Name()] = f.conv
	}
	// plain are the weighted layers without a batch norm to fold, with
	// their params of this step.
	var plain []LayerQuant
	for _, lq := range q.Layers {
		if lq.WeightShape != nil && pairs[lq.Layer] == nil {
			plain = append(plain, lq)
		}
	}
	loop, master, err := q.qatLoop(tn, trainSet, o, nil)
	if err != nil {
		return err
	}
	loop.AddHook(train.Hook{Name: "quantize weights", Stage: train.BeforeForward, Fn: func(*train.Loop) error {
		for name, p := range pairs {
			if err := p.quantize(name, q.weightConfig(name)); err != nil {
				return err
			}
		}
		for i := range plain {
			lq := &plain[i]
			w, b := weightOf(tn.Layer(lq.Layer))
			lq.Weight, lq.Bias = nil, nil
			if err := q.quantizeParams(lq, w, b); err != nil {
				return fmt.Errorf("layer %q: %w", lq.Layer, err)
			}
		}
		return nil
	}})
	loop.Tap(func(l nn.Layer, out *tensor.Tensor) error {
		name := l.Name()
		if p := pairs[name]; p != nil {
			// conv(fq(w·sf), x) / sf: the unscaled convolution output the
			// batch norm normalises with batch statistics.
			c := len(p.sf)
			per := len(out.Data) / (out.Shape[0] * c)
			for i := range out.Data {
				out.Data[i] /= p.sf[(i/per)%c]
			}
			return nil
		}
		point := name
		if conv, ok := byBN[name]; ok {
			point = conv // the folded convolution's output point
		}
		return q.fakeQuantAct(name, point, out)
	})
	// The backward pass sees dL/d(conv/sf); with the weight set to
	// fq(w·sf)/sf the convolution's input gradient is exact and its weight
	// gradient is the straight-through gradient of the master weight w
	// (the sf factors cancel).
	loop.AddHook(train.Hook{Name: "unscale folded weights", Stage: train.BeforeBackward, Fn: func(*train.Loop) error {
		for _, p := range pairs {
			c := len(p.sf)
			per := len(p.wq) / c
			for k, v := range p.wq {
				p.w.Value.Data[k] = v / p.sf[k/per]
			}
		}
		return nil
	}})
	if !o.PlainSTE {
		loop.AddHook(train.Hook{Name: "clipped straight-through estimator", Stage: train.BeforeUpdate, Fn: func(*train.Loop) error {
			for name, p := range pairs {
				if p.qp != nil {
					if err := p.qp.FakeQuantGrad(p.w.Grad, p.fold, p.w.Grad); err != nil {
						return fmt.Errorf("layer %q: %w", name, err)
					}
				}
			}
			for _, lq := range plain {
				w, b := weightOf(tn.Layer(lq.Layer))
				if err := clipGrads(lq, w, b, master); err != nil {
					return err
				}
			}
			return nil
		}})
	}
	if err := loop.Run(ctx); err != nil {
		return err
	}
	// Fold the trained batch norms (running statistics) and quantize the
	// result as deployment would.
	folded, err := FoldBatchNorm(tn)
	if err != nil {
		return err
	}
	qmaster := map[*nn.Param][]float32{}
	for _, p := range q.Net.Params() {
		fp := folded.Param(p.Name)
		if fp == nil || fp.Value.Len() != p.Value.Len() {
			return fmt.Errorf("quant: QAT: parameter %q missing from the folded model", p.Name)
		}
		qmaster[p] = append([]float32(nil), fp.Value.Data...)
	}
	return q.requantizeWeights(qmaster, nil)
}

// quantize sets the convolution's weight to fq(w·sf) (and its bias to
// b·sf, since the output is divided by sf) from the master values now in
// w and b, with sf from the batch norm's gamma and running variance.
func (p *bnFold) quantize(name string, wc TensorConfig) error {
	bn := p.bn
	gamma, vr := bn.Gamma().Value.Data, bn.RunningVar().Value.Data
	eps := float64(bn.Config().Eps)
	if eps == 0 {
		eps = 1e-5
	}
	for c := range p.sf {
		s := float32(float64(gamma[c]) / math.Sqrt(float64(vr[c])+eps))
		if s == 0 || !finite(s) {
			return fmt.Errorf("layer %q: batch norm %q channel %d: gamma/sqrt(var+eps) = %v cannot be folded during training", name, bn.Name(), c, s)
		}
		p.sf[c] = s
	}
	w := p.w.Value
	p.fold.Resize(w.Shape...)
	per := len(w.Data) / len(p.sf)
	for k, v := range w.Data {
		p.fold.Data[k] = v * p.sf[k/per]
	}
	if p.b != nil {
		for c := range p.b.Value.Data {
			p.b.Value.Data[c] *= p.sf[c]
		}
	}
	p.qp = nil
	if !wc.Float {
		o, err := NewObserver(p.w.Name, wc)
		if err != nil {
			return err
		}
		if err := o.Observe(p.fold); err != nil {
			return err
		}
		if p.qp, err = o.QParams(); err != nil {
			return err
		}
	}
	p.wq = append(p.wq[:0], p.fold.Data...)
	if p.qp != nil {
		t := &tensor.Tensor{Shape: w.Shape, Data: p.wq}
		if err := p.qp.FakeQuant(t, t); err != nil {
			return fmt.Errorf("layer %q: weight: %w", name, err)
		}
	}
	copy(w.Data, p.wq)
	return nil
}

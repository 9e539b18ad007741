package quant

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/display"
	"github.com/qlab-dev/qlab/qlab/initializers"
	"github.com/qlab-dev/qlab/qlab/nn"
	"github.com/qlab-dev/qlab/qlab/tensor"
	"github.com/qlab-dev/qlab/qlab/train"
)

// AdaRoundOptions configure AdaRound. The zero value follows AIMET's
// defaults except for the iteration count (1000 per layer instead of
// 10000, so a small network rounds in seconds) and the learning rate
// (1e-2 instead of 1e-3, to match): λ = 0.01, β annealed linearly from 20
// to 2 after a 20% warm-up without the regularizer, 256 cached
// calibration samples, batches of 32, seed 0.
type AdaRoundOptions struct {
	// Iterations of Adam per layer; 0 means 1000.
	Iterations int
	// BatchSize is the number of cached samples per iteration; 0 means 32.
	BatchSize int
	// Samples is the number of calibration samples whose layer inputs and
	// float outputs are cached; 0 means 256 (or all there are).
	Samples int
	// Lambda weighs the rounding regularizer; 0 means 0.01.
	Lambda float64
	// BetaStart and BetaEnd bound the regularizer's annealed exponent; 0
	// means 20 and 2.
	BetaStart, BetaEnd float64
	// Warmup is the fraction of iterations without the regularizer; 0
	// means 0.2 (use a tiny positive value for none).
	Warmup float64
	// LR is Adam's learning rate on the rounding variables; 0 means 1e-2.
	LR float64
	// Seed keys the mini-batch sampling (per layer, by name).
	Seed uint64
	// Progress, when set, is called after every iteration. See
	// AdaRoundProgressBar.
	Progress func(AdaRoundProgress) `json:"-"`
}

// AdaRoundProgress is what AdaRound reports after each iteration.
type AdaRoundProgress struct {
	Layer string
	// Index is the layer's position (0-based) among Layers rounded.
	Index, Layers         int
	Iteration, Iterations int
	// Loss is the batch's reconstruction loss.
	Loss float64
}

// AdaRoundProgressBar returns an AdaRoundOptions.Progress callback drawing
// one display.ProgressBar over all layers (an HTML bar in a notebook, a
// text bar on standard error elsewhere).
func AdaRoundProgressBar(title string) func(AdaRoundProgress) {
	var bar *display.ProgressBar
	return func(p AdaRoundProgress) {
		total := p.Layers * p.Iterations
		if bar == nil {
			bar = display.NewProgressBar(title, total)
		}
		done := p.Index*p.Iterations + p.Iteration
		bar.Set(done, fmt.Sprintf("layer %d/%d %s loss %.4g", p.Index+1, p.Layers, p.Layer, p.Loss))
		if done >= total {
			bar.Close()
			bar = nil
		}
	}
}

// AdaRoundLayer reports AdaRound on one layer.
type AdaRoundLayer struct {
	Layer string
	// Weights is the number of weights; Flipped how many were rounded the
	// other way than to nearest.
	Weights, Flipped int
	// NearestLoss and AdaRoundLoss are the reconstruction losses on the
	// cached samples (mean over positions of the squared error summed over
	// channels, after the fused activation) with rounding to nearest and
	// with the learned rounding.
	NearestLoss, AdaRoundLoss float64
}

func (o AdaRoundOptions) resolved() (AdaRoundOptions, error) {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	if o.Iterations == 0 {
		o.Iterations = 1000
	}
	if o.BatchSize == 0 {
		o.BatchSize = 32
	}
	if o.Samples == 0 {
		o.Samples = 256
	}
	def(&o.Lambda, 0.01)
	def(&o.BetaStart, 20)
	def(&o.BetaEnd, 2)
	def(&o.Warmup, 0.2)
	def(&o.LR, 1e-2)
	switch {
	case o.Iterations < 0 || o.BatchSize < 0 || o.Samples < 0:
		return o, fmt.Errorf("%w: AdaRound Iterations %d, BatchSize %d, Samples %d; want >= 0", ErrConfig, o.Iterations, o.BatchSize, o.Samples)
	case !(o.Lambda > 0) || !(o.LR > 0) || !(o.BetaStart >= o.BetaEnd) || !(o.BetaEnd > 0):
		return o, fmt.Errorf("%w: AdaRound Lambda %v, LR %v, Beta %v→%v; want positive, BetaStart >= BetaEnd", ErrConfig, o.Lambda, o.LR, o.BetaStart, o.BetaEnd)
	case !(o.Warmup > 0 && o.Warmup < 1):
		return o, fmt.Errorf("%w: AdaRound Warmup %v not in (0, 1)", ErrConfig, o.Warmup)
	}
	return o, nil
}

// The rectified sigmoid's stretch (Nagel et al. 2020, eq. 23).
const (
	arZeta  = 1.1
	arGamma = -0.1
)

// adaRound replaces q's rounding-to-nearest of every quantized weight by
// AdaRound (Nagel et al. 2020, "Up or Down? Adaptive Rounding for
// Post-Training Quantization"), layer by layer in forward order: each
// weight is floor(W/s) + h(V) with h the rectified sigmoid of a learned V,
// and V minimizes the layer's output reconstruction error (after its fused
// activation; inputs from the quantized model with the layers before it
// already rounded, targets from the float model ref) plus
// λ Σ (1 − |2h − 1|^β), which pushes every h to 0 or 1 as β anneals. The
// result rounds each weight down or up — never further than one step.
func (q *Model) adaRound(ctx context.Context, ref *nn.Model, calib *data.Dataset, o AdaRoundOptions) error {
	o, err := o.resolved()
	if err != nil {
		return err
	}
	var layers []*LayerQuant
	for i := range q.Layers {
		lq := &q.Layers[i]
		if lq.Weight == nil {
			continue
		}
		if lq.Weight.Axis > 0 {
			return fmt.Errorf("%w: AdaRound: layer %q weights per channel along axis %d; want 0", ErrConfig, lq.Layer, lq.Weight.Axis)
		}
		layers = append(layers, lq)
	}
	producer := map[string]string{}
	inputProducers(q.Net.TopLayers(), InputName, producer)
	fusedAct := map[string]string{}
	if q.layerCfg != nil {
		for act, owner := range q.layerCfg.owner {
			if l := q.Net.Layer(act); l != nil {
				fusedAct[owner] = l.Kind()
			}
		}
	}
	n := min(o.Samples, calib.Len())
	ref.Eval()
	for idx, lq := range layers {
		l := q.Net.Layer(lq.Layer)
		x, err := q.captureInput(ctx, calib, n, producer[lq.Layer])
		if err != nil {
			return fmt.Errorf("AdaRound: layer %q: %w", lq.Layer, err)
		}
		target, err := captureOutput(ctx, ref, calib, n, batchSize(q.Options), lq.Layer)
		if err != nil {
			return fmt.Errorf("AdaRound: layer %q: %w", lq.Layer, err)
		}
		wf, _ := weightOf(ref.Layer(lq.Layer))
		row, err := adaRoundLayer(ctx, l, lq.Weight, wf.Value.Data, x, target, fusedAct[lq.Layer], o, func(it int, loss float64) {
			if o.Progress != nil {
				o.Progress(AdaRoundProgress{Layer: lq.Layer, Index: idx, Layers: len(layers), Iteration: it, Iterations: o.Iterations, Loss: loss})
			}
		})
		if err != nil {
			return fmt.Errorf("AdaRound: layer %q: %w", lq.Layer, err)
		}
		q.ptq.AdaRound = append(q.ptq.AdaRound, row)
	}
	return nil
}

// inputProducers maps every leaf under ls to the leaf whose output it reads
// (InputName for the model input), following Forward's data flow.
func inputProducers(ls []nn.Layer, cur string, out map[string]string) string {
	for _, l := range ls {
		switch t := l.(type) {
		case *nn.Sequential:
			cur = inputProducers(t.Children(), cur, out)
			continue
		case *nn.Residual:
			inputProducers(t.Body(), cur, out)
			inputProducers(t.Shortcut(), cur, out)
			out[t.AddLayer().Name()] = cur
			cur = t.AddLayer().Name()
			continue
		}
		out[l.Name()] = cur
		cur = l.Name()
	}
	return cur
}

// captureInput returns the input the quantized model feeds the layer
// whose producer is given, for the first n samples of d, as one batch.
func (q *Model) captureInput(ctx context.Context, d *data.Dataset, n int, producer string) (*tensor.Tensor, error) {
	var out *tensor.Tensor
	appendBatch := func(t *tensor.Tensor) {
		if out == nil {
			out = &tensor.Tensor{Shape: append([]int{0}, t.Shape[1:]...)}
		}
		out.Data = append(out.Data, t.Data...)
		out.Shape[0] += t.Shape[0]
	}
	// Attached after q's own tap, so the captured values are quantized as
	// the layer sees them.
	opt := train.ObserveOptions{Samples: n, BatchSize: batchSize(q.Options), Forward: q}
	if producer == InputName {
		opt.Input = func(x *tensor.Tensor) error {
			if q.input == nil {
				appendBatch(x)
				return nil
			}
			var in tensor.Tensor
			if err := q.input.FakeQuant(&in, x); err != nil {
				return err
			}
			appendBatch(&in)
			return nil
		}
	}
	err := train.Observe(ctx, q.Net, d, opt, func(l nn.Layer, y *tensor.Tensor) error {
		if l.Name() == producer {
			appendBatch(y)
		}
		return nil
	})
	if err == nil && out == nil {
		err = fmt.Errorf("input producer %q produced nothing", producer)
	}
	return out, err
}

// captureOutput returns the named layer's output in the float model ref.
func captureOutput(ctx context.Context, ref *nn.Model, d *data.Dataset, n, bs int, layer string) (*tensor.Tensor, error) {
	var out *tensor.Tensor
	err := train.Observe(ctx, ref, d, train.ObserveOptions{Samples: n, BatchSize: bs}, func(l nn.Layer, y *tensor.Tensor) error {
		if l.Name() != layer {
			return nil
		}
		if out == nil {
			out = &tensor.Tensor{Shape: append([]int{0}, y.Shape[1:]...)}
		}
		out.Data = append(out.Data, y.Data...)
		out.Shape[0] += y.Shape[0]
		return nil
	})
	if err == nil && out == nil {
		err = fmt.Errorf("layer produced no output")
	}
	return out, err
}

// standalone returns a fresh layer with l's configuration and bias, for
// running l alone.
func standalone(l nn.Layer) (nn.Layer, *nn.Param, error) {
	var s nn.Layer
	var err error
	switch t := l.(type) {
	case *nn.Conv2D:
		s, err = nn.NewConv2D(t.Name(), t.Config())
	case *nn.DepthwiseConv2D:
		s, err = nn.NewDepthwiseConv2D(t.Name(), t.Config())
	case *nn.Dense:
		in, out := t.InOut()
		s, err = nn.NewDense(t.Name(), in, out, t.Bias() != nil)
	default:
		return nil, nil, fmt.Errorf("AdaRound does not handle %s layers", l.Kind())
	}
	if err != nil {
		return nil, nil, err
	}
	_, b := weightOf(l)
	w, sb := weightOf(s)
	if b != nil {
		copy(sb.Value.Data, b.Value.Data)
	}
	return s, w, nil
}

// adaRoundLayer learns the rounding of l's weights (float values wf,
// params p), writes the rounded weights into l and returns the report row.
func adaRoundLayer(ctx context.Context, l nn.Layer, p *QParams, wf []float32, x, target *tensor.Tensor, act string, o AdaRoundOptions, progress func(int, float64)) (AdaRoundLayer, error) {
	row := AdaRoundLayer{Layer: l.Name(), Weights: len(wf)}
	s, w, err := standalone(l)
	if err != nil {
		return row, err
	}
	wl, _ := weightOf(l)
	chans := len(p.Scale)
	per := len(wf) / chans
	// Codes: floor(W/s) + zp + h, clamped to [qmin, qmax].
	floor := make([]float64, len(wf))
	v := make([]float64, len(wf))
	for i, val := range wf {
		c := 0
		if chans > 1 {
			c = i / per
		}
		r := float64(val) / float64(p.Scale[c])
		f := math.Floor(r)
		floor[i] = f + float64(p.ZeroPoint[c])
		// h(V) = rest at the start, so the soft weights equal W.
		rest := min(max(r-f, 1e-4), 1-1e-4)
		v[i] = -math.Log((arZeta-arGamma)/(rest-arGamma) - 1)
	}
	qmin, qmax := float64(p.QMin), float64(p.QMax)
	setWeights := func(hard bool) {
		for i := range v {
			c := 0
			if chans > 1 {
				c = i / per
			}
			var h float64
			if hard {
				if v[i] >= 0 {
					h = 1
				}
			} else {
				h = rectSigmoid(v[i])
			}
			code := min(max(floor[i]+h, qmin), qmax)
			w.Value.Data[i] = float32((code - float64(p.ZeroPoint[c])) * float64(p.Scale[c]))
		}
	}
	sample := tensor.Size(x.Shape[1:])
	outSample := tensor.Size(target.Shape[1:])
	n := x.Shape[0]
	bs := min(o.BatchSize, n)
	xb := tensor.New(append([]int{bs}, x.Shape[1:]...)...)
	tb := tensor.New(append([]int{bs}, target.Shape[1:]...)...)
	dy := &tensor.Tensor{}
	channels := target.Shape[1]
	// loss returns the reconstruction loss of the current weights on
	// (xin, tgt) and, when grad, leaves dL/dy in dy.
	loss := func(xin, tgt *tensor.Tensor, grad bool) (float64, error) {
		y, err := s.Forward(xin)
		if err != nil {
			return 0, err
		}
		if grad {
			dy.Resize(y.Shape...)
		}
		positions := float64(len(y.Data) / channels)
		sum := 0.0
		for i, yv := range y.Data {
			a, pass := activate(float64(yv), act)
			d := a - float64(tgtAct(tgt.Data[i], act))
			sum += d * d
			if grad {
				if pass {
					dy.Data[i] = float32(2 * d / positions)
				} else {
					dy.Data[i] = 0
				}
			}
		}
		return sum / positions, nil
	}
	// evaluate returns the loss over every cached sample.
	evaluate := func() (float64, error) {
		total, count := 0.0, 0
		for lo := 0; lo < n; lo += bs {
			hi := min(lo+bs, n)
			xi := &tensor.Tensor{Shape: append([]int{hi - lo}, x.Shape[1:]...), Data: x.Data[lo*sample : hi*sample]}
			ti := &tensor.Tensor{Shape: append([]int{hi - lo}, target.Shape[1:]...), Data: target.Data[lo*outSample : hi*outSample]}
			lv, err := loss(xi, ti, false)
			if err != nil {
				return 0, err
			}
			total += lv * float64(hi-lo)
			count += hi - lo
		}
		return total / float64(count), nil
	}
	// Round to nearest as q did: its current weights.
	copy(w.Value.Data, wl.Value.Data)
	if row.NearestLoss, err = evaluate(); err != nil {
		return row, err
	}
	nearest := append([]float32(nil), wl.Value.Data...)

	rng := rand.New(rand.NewPCG(o.Seed, initializers.SeedFor(o.Seed, l.Name())))
	m1, m2 := make([]float64, len(v)), make([]float64, len(v))
	const b1, b2, eps = 0.9, 0.999, 1e-8
	warm := int(o.Warmup * float64(o.Iterations))
	for it := 0; it < o.Iterations; it++ {
		if err := ctx.Err(); err != nil {
			return row, err
		}
		for k := 0; k < bs; k++ {
			j := rng.IntN(n)
			copy(xb.Data[k*sample:(k+1)*sample], x.Data[j*sample:(j+1)*sample])
			copy(tb.Data[k*outSample:(k+1)*outSample], target.Data[j*outSample:(j+1)*outSample])
		}
		setWeights(false)
		lv, err := loss(xb, tb, true)
		if err != nil {
			return row, err
		}
		w.Grad.Zero()
		if _, err := s.Backward(dy); err != nil {
			return row, err
		}
		beta := 0.0
		if it >= warm {
			rel := float64(it-warm) / float64(max(o.Iterations-warm, 1))
			beta = o.BetaEnd + (o.BetaStart-o.BetaEnd)*max(0, 1-rel)
		}
		t := float64(it + 1)
		for i := range v {
			c := 0
			if chans > 1 {
				c = i / per
			}
			sg := sigmoid(v[i])
			raw := sg*(arZeta-arGamma) + arGamma
			var g float64
			code := floor[i] + min(max(raw, 0), 1)
			if raw > 0 && raw < 1 && code > qmin && code < qmax {
				dh := sg * (1 - sg) * (arZeta - arGamma)
				g = float64(w.Grad.Data[i]) * float64(p.Scale[c]) * dh
				if beta > 0 {
					h := raw
					u := 2*h - 1
					g += -o.Lambda * beta * math.Pow(math.Abs(u), beta-1) * sign(u) * 2 * dh
				}
			}
			m1[i] = b1*m1[i] + (1-b1)*g
			m2[i] = b2*m2[i] + (1-b2)*g*g
			mh := m1[i] / (1 - math.Pow(b1, t))
			vh := m2[i] / (1 - math.Pow(b2, t))
			v[i] -= o.LR * mh / (math.Sqrt(vh) + eps)
		}
		progress(it+1, lv)
	}
	setWeights(true)
	if row.AdaRoundLoss, err = evaluate(); err != nil {
		return row, err
	}
	copy(wl.Value.Data, w.Value.Data)
	for i := range nearest {
		if nearest[i] != wl.Value.Data[i] {
			row.Flipped++
		}
	}
	return row, nil
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// rectSigmoid is h(V) = clip(σ(V)(ζ − γ) + γ, 0, 1).
func rectSigmoid(v float64) float64 {
	return min(max(sigmoid(v)*(arZeta-arGamma)+arGamma, 0), 1)
}

func sign(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

// activate applies a fused activation and reports whether the gradient
// passes.
func activate(y float64, act string) (float64, bool) {
	switch act {
	case "ReLU":
		if y <= 0 {
			return 0, false
		}
	case "ReLU6":
		if y <= 0 {
			return 0, false
		}
		if y >= 6 {
			return 6, false
		}
	}
	return y, true
}

func tgtAct(y float32, act string) float64 {
	a, _ := activate(float64(y), act)
	return a
}

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

// channelMeans runs the first n samples of d (all when n <= 0) through
// net and returns, for each layer named in want, the mean of its output
// per channel (axis 1) over every other axis.
func channelMeans(ctx context.Context, net *nn.Model, d *data.Dataset, n, bs int, want map[string]bool) (map[string][]float64, error) {
	return observeChannelMeans(ctx, net, nil, nil, d, n, bs, want)
}

// rawChannelMeans is channelMeans over q, of each layer's output before
// its fake quantization (q's activations are still quantized downstream).
func (q *Model) rawChannelMeans(ctx context.Context, d *data.Dataset, n, bs int, want map[string]bool) (map[string][]float64, error) {
	q.closeTap()
	defer q.openTap()
	return observeChannelMeans(ctx, q.Net, q, q.quantizeAct, d, n, bs, want)
}

// observeChannelMeans is channelMeans running batches through fwd (nil:
// net) and calling then (may be nil) on each output after it is counted.
func observeChannelMeans(ctx context.Context, net *nn.Model, fwd train.Forwarder, then train.LayerFunc, d *data.Dataset, n, bs int, want map[string]bool) (map[string][]float64, error) {
	sums := map[string][]float64{}
	counts := map[string]float64{}
	collect := func(l nn.Layer, out *tensor.Tensor) error {
		if !want[l.Name()] || len(out.Shape) < 2 {
			return nil
		}
		c := out.Shape[1]
		inner := 1
		for _, e := range out.Shape[2:] {
			inner *= e
		}
		s := sums[l.Name()]
		if s == nil {
			s = make([]float64, c)
			sums[l.Name()] = s
		}
		for b := 0; b < out.Shape[0]; b++ {
			for ch := 0; ch < c; ch++ {
				acc := 0.0
				for _, v := range out.Data[(b*c+ch)*inner : (b*c+ch+1)*inner] {
					acc += float64(v)
				}
				s[ch] += acc
			}
		}
		counts[l.Name()] += float64(out.Shape[0] * inner)
		return nil
	}
	err := train.Observe(ctx, net, d, train.ObserveOptions{Samples: n, BatchSize: bs, Forward: fwd}, func(l nn.Layer, out *tensor.Tensor) error {
		if err := collect(l, out); err != nil {
			return err
		}
		if then != nil {
			return then(l, out)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for name, s := range sums {
		for i := range s {
			s[i] /= counts[name]
		}
	}
	return sums, nil
}

// correctable returns the layers of q with quantized weights and a bias,
// in forward order, and notes the others in the report.
func (q *Model) correctable() []*LayerQuant {
	var out []*LayerQuant
	for i := range q.Layers {
		lq := &q.Layers[i]
		if lq.Weight == nil {
			continue
		}
		_, b := weightOf(q.Net.Layer(lq.Layer))
		if b == nil {
			q.ptq.Skipped = append(q.ptq.Skipped, fmt.Sprintf("%s: bias correction: no bias", lq.Layer))
			continue
		}
		out = append(out, lq)
	}
	return out
}

// shiftBias subtracts shift from a layer's (quantized) bias, quantizes it
// again under the layer's scheme and records the shift.
func (q *Model) shiftBias(lq *LayerQuant, shift []float64) error {
	_, b := weightOf(q.Net.Layer(lq.Layer))
	if len(shift) != len(b.Value.Data) {
		return fmt.Errorf("layer %q: %d channel means for %d biases", lq.Layer, len(shift), len(b.Value.Data))
	}
	for c, s := range shift {
		b.Value.Data[c] = float32(float64(b.Value.Data[c]) - s)
	}
	if err := q.quantizeBias(lq, b); err != nil {
		return fmt.Errorf("layer %q: %w", lq.Layer, err)
	}
	q.ptq.Biases = append(q.ptq.Biases, BiasShift{Layer: lq.Layer, Shift: shift})
	return nil
}

// correctBiasEmpirical is EmpiricalBiasCorrection against ref, the float
// model q was quantized from.
func (q *Model) correctBiasEmpirical(ctx context.Context, ref *nn.Model, calib *data.Dataset) error {
	layers := q.correctable()
	if len(layers) == 0 {
		return nil
	}
	want := map[string]bool{}
	for _, lq := range layers {
		want[lq.Layer] = true
	}
	n, bs := q.Options.CalibrationSamples, batchSize(q.Options)
	ref.Eval()
	floatMeans, err := channelMeans(ctx, ref, calib, n, bs, want)
	if err != nil {
		return err
	}
	for _, lq := range layers {
		qm, err := q.rawChannelMeans(ctx, calib, n, bs, map[string]bool{lq.Layer: true})
		if err != nil {
			return err
		}
		fmn, got := floatMeans[lq.Layer], qm[lq.Layer]
		if fmn == nil || got == nil {
			return fmt.Errorf("layer %q produced no output", lq.Layer)
		}
		shift := make([]float64, len(got))
		for c := range got {
			shift[c] = got[c] - fmn[c]
		}
		if err := q.shiftBias(lq, shift); err != nil {
			return err
		}
	}
	return nil
}

// correctBiasAnalytic is AnalyticBiasCorrection: stats holds the batch-norm
// distribution of each folded layer's output.
func (q *Model) correctBiasAnalytic(ref *nn.Model, stats map[string]*bnOut) error {
	layers := q.correctable()
	todo := map[string]*LayerQuant{}
	for _, lq := range layers {
		todo[lq.Layer] = lq
	}
	for _, seg := range segments(q.Net.TopLayers()) {
		for i, l := range seg {
			lq := todo[l.Name()]
			if lq == nil {
				continue
			}
			delete(todo, l.Name())
			act := ""
			j := i - 1
			for ; j >= 0; j-- {
				switch seg[j].(type) {
				case *nn.ReLU, *nn.ReLU6:
					act = seg[j].Kind()
					continue
				case *nn.Dropout:
					continue
				}
				break
			}
			var st *bnOut
			if j >= 0 {
				st = stats[seg[j].Name()]
			}
			if !equalizable(l) || st == nil || j < 0 || outChannels(seg[j]) != inChannels(l) {
				q.ptq.Skipped = append(q.ptq.Skipped, fmt.Sprintf("%s: analytic bias correction: input is not a batch-normalized layer's output", l.Name()))
				continue
			}
			ex := make([]float64, len(st.beta))
			for c := range ex {
				ex[c] = clippedGaussianMean(st.beta[c], math.Abs(st.gamma[c]), act)
			}
			wq, _ := weightOf(l)
			wf, _ := weightOf(ref.Layer(l.Name()))
			shift := make([]float64, outChannels(l))
			per := len(wq.Value.Data) / len(shift)
			forInput(l, func(c, k int) {
				shift[k/per] += (float64(wq.Value.Data[k]) - float64(wf.Value.Data[k])) * ex[c]
			})
			if err := q.shiftBias(lq, shift); err != nil {
				return err
			}
		}
	}
	for name := range todo {
		q.ptq.Skipped = append(q.ptq.Skipped, fmt.Sprintf("%s: analytic bias correction: not on a plain layer path", name))
	}
	return nil
}

// clippedGaussianMean returns E[act(X)] for X ~ N(mu, sigma²) and act
// "" (identity), "ReLU" (clip below 0) or "ReLU6" (clip to [0, 6]).
func clippedGaussianMean(mu, sigma float64, act string) float64 {
	clip := func(x float64) float64 {
		switch act {
		case "ReLU":
			return max(x, 0)
		case "ReLU6":
			return min(max(x, 0), 6)
		}
		return x
	}
	if act == "" {
		return mu
	}
	if sigma == 0 {
		return clip(mu)
	}
	pdf := func(z float64) float64 { return math.Exp(-z*z/2) / math.Sqrt(2*math.Pi) }
	cdf := func(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }
	a := -mu / sigma
	if act == "ReLU" {
		// E = mu·(1−Φ(a)) + sigma·φ(a)
		return mu*(1-cdf(a)) + sigma*pdf(a)
	}
	b := (6 - mu) / sigma
	return mu*(cdf(b)-cdf(a)) + sigma*(pdf(a)-pdf(b)) + 6*(1-cdf(b))
}

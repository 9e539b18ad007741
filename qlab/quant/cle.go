package quant

import (
	"fmt"
	"math"

	"github.com/qlab-dev/qlab/qlab/nn"
)

// ReLU6Mode says how Equalize treats a ReLU6 between two layers it could
// equalize. Scaling a channel by 1/s commutes with ReLU (ReLU(x/s) =
// ReLU(x)/s for s > 0) but not with ReLU6, whose clip at 6 would move to
// 6/s.
type ReLU6Mode int

const (
	// ReplaceReLU6 replaces every ReLU6 of the model by a ReLU before
	// equalizing, as AIMET's equalize_model does; the equalized model then
	// computes the ReLU version of the network exactly, and differs from
	// the original wherever a pre-activation exceeded 6. The zero value.
	ReplaceReLU6 ReLU6Mode = iota
	// KeepReLU6 leaves ReLU6 layers alone and does not equalize across
	// them, so the model's function is unchanged; pairs joined by a ReLU6
	// (every pair of a MobileNet) are skipped.
	KeepReLU6
)

// CLEOptions configure Equalize. The zero value replaces ReLU6 by ReLU (as
// AIMET does), absorbs high biases, and iterates until every scale is
// within 1e-6 of 1 (at most 100 sweeps).
type CLEOptions struct {
	// ReLU6 selects how ReLU6 is handled (see ReLU6Mode).
	ReLU6 ReLU6Mode
	// NoBiasAbsorption skips high-bias absorption.
	NoBiasAbsorption bool
	// Sweeps bounds the passes over the pairs of a chain (a layer between
	// two pairs is scaled by both, so chains of three or more layers are
	// iterated to a fixed point, as Nagel et al. describe); 0 means 100.
	Sweeps int
}

// EqualizedPair records one equalized pair of consecutive layers.
type EqualizedPair struct {
	// First and Second are the layer names; Between lists the layers
	// between them (activation, pooling).
	First, Second string
	Between       []string
	// Scales are the accumulated per-channel factors s: First's output
	// channel i was divided by Scales[i] and Second's input channel i
	// multiplied by it.
	Scales []float64
	// Absorbed is the per-channel bias moved from First into Second by
	// high-bias absorption (nil when none was).
	Absorbed []float64
	// RangeBefore and RangeAfter are, per channel, the ranges
	// max|W| of First's output channel and of Second's input channel before
	// and after equalization (after: both equal sqrt(r1·r2)).
	RangeBefore, RangeAfter [][2]float64
}

// Equalized is the result of Equalize.
type Equalized struct {
	// Model is the folded, equalized copy, in inference mode.
	Model *nn.Model
	// Pairs lists the equalized pairs in forward order.
	Pairs []EqualizedPair
	// ReplacedReLU6 names the ReLU6 layers replaced by ReLU.
	ReplacedReLU6 []string
}

// Equalize applies cross-layer equalization (Nagel et al. 2019,
// "Data-Free Quantization Through Weight Equalization and Bias
// Correction", section 4.1) to a copy of m: batch norm is folded
// (FoldBatchNorm), then for every pair of consecutive weight layers —
// Conv2D or DepthwiseConv2D, joined only by ReLU (ReLU6, see CLEOptions),
// MaxPool2D, AvgPool2D or Dropout, within one list (model, Sequential or
// Residual branch; a pair never straddles a residual Add) — output channel
// i of the first and input channel i of the second are rescaled by
//
//	s_i = sqrt(r1_i / r2_i),  W1[i] /= s_i, b1[i] /= s_i, W2[:, i] *= s_i,
//
// where r1_i = max|W1[i, ...]| and r2_i = max|W2[:, i, ...]| (for a
// depthwise second layer, its rows of channel i), so both ranges become
// sqrt(r1_i·r2_i). Through ReLU and the pools this is an exact
// reparametrization. Depthwise→pointwise pairs are the case that matters:
// a depthwise layer's per-channel ranges differ by orders of magnitude.
//
// High-bias absorption (section 4.2) then moves, where First was followed
// by batch norm with (scaled) gamma_i and beta_i and the activation is a
// ReLU, c_i = max(0, beta_i − 3|gamma_i|) from First's bias into Second's:
// b1 -= c, b2[o] += Σ_k W2[o, i, k]·c_i. That is exact where the
// pre-activation is at least c_i (beyond 3 standard deviations below the
// mean under the batch norm's Gaussian view) and, for a Second with zero
// padding, away from the borders; AIMET applies it the same way. A Second
// without a bias receives none.
//
// m is not modified.
func Equalize(m *nn.Model, opt CLEOptions) (*Equalized, error) {
	if m == nil {
		return nil, fmt.Errorf("quant: equalize: nil model")
	}
	if opt.ReLU6 != ReplaceReLU6 && opt.ReLU6 != KeepReLU6 {
		return nil, fmt.Errorf("%w: unknown ReLU6 mode %d", ErrConfig, int(opt.ReLU6))
	}
	if opt.Sweeps < 0 {
		return nil, fmt.Errorf("%w: CLE Sweeps %d is negative", ErrConfig, opt.Sweeps)
	}
	res := &Equalized{}
	src := m
	if opt.ReLU6 == ReplaceReLU6 {
		var err error
		if src, res.ReplacedReLU6, err = replaceReLU6(m); err != nil {
			return nil, fmt.Errorf("quant: equalize %q: %w", m.Name(), err)
		}
	}
	// Batch-norm statistics of each convolution, by its name, before they
	// are folded away.
	bns := map[string]*nn.BatchNorm2D{}
	collectBNs(src.TopLayers(), bns)
	fm, err := FoldBatchNorm(src)
	if err != nil {
		return nil, fmt.Errorf("quant: equalize: %w", err)
	}
	sweeps := opt.Sweeps
	if sweeps == 0 {
		sweeps = 100
	}
	var chains [][]link
	linkLists(fm.TopLayers(), &chains)
	for _, chain := range chains {
		pairs := make([]EqualizedPair, len(chain))
		for i, lk := range chain {
			p := &pairs[i]
			p.First, p.Second = lk.a.Name(), lk.b.Name()
			for _, l := range lk.between {
				p.Between = append(p.Between, l.Name())
			}
			r1, r2 := outRanges(lk.a), inRanges(lk.b)
			p.Scales = make([]float64, len(r1))
			for c := range r1 {
				p.Scales[c] = 1
				p.RangeBefore = append(p.RangeBefore, [2]float64{r1[c], r2[c]})
			}
		}
		for sweep := 0; sweep < sweeps; sweep++ {
			worst := 0.0
			for i, lk := range chain {
				r1, r2 := outRanges(lk.a), inRanges(lk.b)
				s := make([]float64, len(r1))
				for c := range s {
					s[c] = 1
					if r1[c] > 0 && r2[c] > 0 {
						s[c] = math.Sqrt(r1[c] / r2[c])
					}
					worst = max(worst, math.Abs(math.Log(s[c])))
					pairs[i].Scales[c] *= s[c]
				}
				scaleOut(lk.a, s)
				scaleIn(lk.b, s)
			}
			if worst < 1e-6 {
				break
			}
		}
		for i, lk := range chain {
			r1, r2 := outRanges(lk.a), inRanges(lk.b)
			for c := range r1 {
				pairs[i].RangeAfter = append(pairs[i].RangeAfter, [2]float64{r1[c], r2[c]})
			}
		}
		if !opt.NoBiasAbsorption {
			for i, lk := range chain {
				pairs[i].Absorbed = absorbHighBias(lk, bns[lk.a.Name()], pairs[i].Scales)
			}
		}
		res.Pairs = append(res.Pairs, pairs...)
	}
	fm.Eval()
	res.Model = fm
	return res, nil
}

// link is one equalizable pair: a, then the layers between, then b.
type link struct {
	a, b    nn.Layer
	between []nn.Layer
}

// linkLists appends the chains of pairs of every list under ls: a chain is
// a run of pairs sharing layers (a→b, b→c, ...).
func linkLists(ls []nn.Layer, chains *[][]link) {
	for _, flat := range segments(ls) {
		var chain []link
		for i := 0; i < len(flat); i++ {
			if !equalizable(flat[i]) {
				continue
			}
			var between []nn.Layer
			j := i + 1
			for ; j < len(flat) && passesScale(flat[j]); j++ {
				between = append(between, flat[j])
			}
			if j < len(flat) && equalizable(flat[j]) && channelsMatch(flat[i], flat[j]) {
				lk := link{a: flat[i], b: flat[j], between: between}
				if len(chain) > 0 && chain[len(chain)-1].b != lk.a {
					*chains = append(*chains, chain)
					chain = nil
				}
				chain = append(chain, lk)
			}
		}
		if len(chain) > 0 {
			*chains = append(*chains, chain)
		}
	}
}

// segments splits the leaves under ls into runs that execute one after the
// other on a single path: Sequential containers are transparent, a
// residual block ends the run and its body and shortcut are runs of their
// own.
func segments(ls []nn.Layer) [][]nn.Layer {
	var out [][]nn.Layer
	var flat []nn.Layer
	flush := func() {
		if len(flat) > 0 {
			out = append(out, flat)
		}
		flat = nil
	}
	var walk func(ls []nn.Layer)
	walk = func(ls []nn.Layer) {
		for _, l := range ls {
			switch t := l.(type) {
			case *nn.Sequential:
				walk(t.Children())
			case *nn.Residual:
				saved := flat
				flat = nil
				walk(t.Body())
				flush()
				walk(t.Shortcut())
				flush()
				flat = saved
				flush()
			default:
				flat = append(flat, l)
			}
		}
	}
	walk(ls)
	flush()
	return out
}

func equalizable(l nn.Layer) bool {
	switch l.(type) {
	case *nn.Conv2D, *nn.DepthwiseConv2D:
		return true
	}
	return false
}

// passesScale reports whether a positive per-channel scale commutes with l.
func passesScale(l nn.Layer) bool {
	switch l.(type) {
	case *nn.ReLU, *nn.MaxPool2D, *nn.AvgPool2D, *nn.Dropout:
		return true
	}
	return false
}

// outChannels and inChannels of an equalizable layer.
func outChannels(l nn.Layer) int {
	switch t := l.(type) {
	case *nn.Conv2D:
		return t.Config().Out
	case *nn.DepthwiseConv2D:
		return t.Config().Channels * max(t.Config().Multiplier, 1)
	}
	return -1
}

func inChannels(l nn.Layer) int {
	switch t := l.(type) {
	case *nn.Conv2D:
		return t.Config().In
	case *nn.DepthwiseConv2D:
		return t.Config().Channels
	}
	return -2
}

func channelsMatch(a, b nn.Layer) bool { return outChannels(a) == inChannels(b) }

// outRanges returns max|W| per output channel.
func outRanges(l nn.Layer) []float64 {
	w, _ := weightOf(l)
	n := outChannels(l)
	per := len(w.Value.Data) / n
	r := make([]float64, n)
	for o := 0; o < n; o++ {
		for _, v := range w.Value.Data[o*per : (o+1)*per] {
			r[o] = max(r[o], math.Abs(float64(v)))
		}
	}
	return r
}

// inRanges returns max|W| per input channel.
func inRanges(l nn.Layer) []float64 {
	w, _ := weightOf(l)
	n := inChannels(l)
	r := make([]float64, n)
	forInput(l, func(i, k int) {
		r[i] = max(r[i], math.Abs(float64(w.Value.Data[k])))
	})
	return r
}

// forInput calls fn(input channel, weight index) for every weight of l.
func forInput(l nn.Layer, fn func(i, k int)) {
	switch t := l.(type) {
	case *nn.Conv2D:
		c := t.Config()
		kk := c.Kernel * c.Kernel
		for o := 0; o < c.Out; o++ {
			for i := 0; i < c.In; i++ {
				for k := 0; k < kk; k++ {
					fn(i, (o*c.In+i)*kk+k)
				}
			}
		}
	case *nn.DepthwiseConv2D:
		c := t.Config()
		mult, kk := max(c.Multiplier, 1), c.Kernel*c.Kernel
		for o := 0; o < c.Channels*mult; o++ {
			for k := 0; k < kk; k++ {
				fn(o/mult, o*kk+k)
			}
		}
	}
}

// scaleOut divides output channel c of l's weight and bias by s[c].
func scaleOut(l nn.Layer, s []float64) {
	w, b := weightOf(l)
	per := len(w.Value.Data) / len(s)
	for o, f := range s {
		for k := o * per; k < (o+1)*per; k++ {
			w.Value.Data[k] = float32(float64(w.Value.Data[k]) / f)
		}
		if b != nil {
			b.Value.Data[o] = float32(float64(b.Value.Data[o]) / f)
		}
	}
}

// scaleIn multiplies input channel c of l's weight by s[c].
func scaleIn(l nn.Layer, s []float64) {
	w, _ := weightOf(l)
	forInput(l, func(i, k int) {
		w.Value.Data[k] = float32(float64(w.Value.Data[k]) * s[i])
	})
}

// absorbHighBias moves c = max(0, beta/s − 3|gamma/s|) from lk.a's bias
// into lk.b's; it returns c, or nil when the pair does not qualify.
func absorbHighBias(lk link, bn *nn.BatchNorm2D, scales []float64) []float64 {
	if bn == nil {
		return nil
	}
	relu := false
	for _, l := range lk.between {
		if _, ok := l.(*nn.ReLU); ok {
			relu = true
		}
	}
	_, b1 := weightOf(lk.a)
	w2, b2 := weightOf(lk.b)
	if !relu || b1 == nil || b2 == nil {
		return nil
	}
	gamma, beta := bn.Gamma().Value.Data, bn.Beta().Value.Data
	c := make([]float64, len(scales))
	any := false
	for i, s := range scales {
		g, bt := float64(gamma[i])/s, float64(beta[i])/s
		c[i] = max(0, bt-3*math.Abs(g))
		any = any || c[i] > 0
	}
	if !any {
		return nil
	}
	for i, v := range c {
		b1.Value.Data[i] = float32(float64(b1.Value.Data[i]) - v)
	}
	add := make([]float64, len(b2.Value.Data))
	per := len(w2.Value.Data) / len(add)
	forInput(lk.b, func(i, k int) {
		add[k/per] += float64(w2.Value.Data[k]) * c[i]
	})
	for o, v := range add {
		b2.Value.Data[o] = float32(float64(b2.Value.Data[o]) + v)
	}
	return c
}

// collectBNs maps every Conv2D/DepthwiseConv2D directly followed by a
// BatchNorm2D (the pairs FoldBatchNorm folds) to that batch norm.
func collectBNs(ls []nn.Layer, out map[string]*nn.BatchNorm2D) {
	for i, l := range ls {
		switch t := l.(type) {
		case *nn.Sequential:
			collectBNs(t.Children(), out)
			continue
		case *nn.Residual:
			collectBNs(t.Body(), out)
			collectBNs(t.Shortcut(), out)
			continue
		}
		if i+1 < len(ls) && equalizable(l) {
			if bn, ok := ls[i+1].(*nn.BatchNorm2D); ok && bn.Config().Channels == outChannels(l) {
				out[l.Name()] = bn
			}
		}
	}
}

// replaceReLU6 returns a copy of m with every ReLU6 replaced by a ReLU of
// the same name, and the names replaced.
func replaceReLU6(m *nn.Model) (*nn.Model, []string, error) {
	c, err := m.Clone()
	if err != nil {
		return nil, nil, err
	}
	st := c.State()
	var names []string
	top, err := mapLayers(c.TopLayers(), func(l nn.Layer) (nn.Layer, error) {
		if _, ok := l.(*nn.ReLU6); ok {
			names = append(names, l.Name())
			return nn.NewReLU(l.Name())
		}
		return l, nil
	})
	if err != nil {
		return nil, nil, err
	}
	if len(names) == 0 {
		return c, nil, nil
	}
	out, err := nn.NewModel(m.Name(), m.InputShape(), top...)
	if err != nil {
		return nil, nil, err
	}
	if err := out.LoadState(st); err != nil {
		return nil, nil, err
	}
	out.SetTraining(m.Training())
	return out, names, nil
}

// mapLayers rebuilds a list with fn applied to every leaf.
func mapLayers(ls []nn.Layer, fn func(nn.Layer) (nn.Layer, error)) ([]nn.Layer, error) {
	out := make([]nn.Layer, 0, len(ls))
	for _, l := range ls {
		n, isContainer, err := rebuildContainer(l, func(ls []nn.Layer) ([]nn.Layer, error) { return mapLayers(ls, fn) })
		if !isContainer {
			n, err = fn(l)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

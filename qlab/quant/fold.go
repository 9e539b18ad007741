package quant

import (
	"fmt"
	"math"

	"github.com/qlab-dev/qlab/qlab/nn"
)

// fold records one convolution whose following batch norm was folded in.
type fold struct {
	conv string // layer name, kept by the folded convolution
	bn   *nn.BatchNorm2D
	bias bool // the original convolution had a bias
}

// FoldBatchNorm returns a copy of m in inference mode in which every
// BatchNorm2D that directly follows a Conv2D or DepthwiseConv2D in the same
// list (model top level, Sequential, Residual body or shortcut) is folded
// into it: with s = gamma / sqrt(running_var + eps) per output channel,
// W' = W·s and b' = (b − running_mean)·s + beta, computed in float64. The
// folded convolution keeps its name and gains a bias; the BatchNorm2D layer
// disappears. Other batch norms are kept. m is not modified.
//
// The folded model computes the unfolded one's inference-mode function (to
// float32 rounding); training statistics are not preserved.
func FoldBatchNorm(m *nn.Model) (*nn.Model, error) {
	c, err := m.Clone()
	if err != nil {
		return nil, fmt.Errorf("quant: fold batch norm: %w", err)
	}
	// The state is read before NewModel, which re-initializes the layers
	// it is given (some of them are c's).
	st := c.State()
	var folds []fold
	top, err := foldList(c.TopLayers(), &folds)
	if err != nil {
		return nil, fmt.Errorf("quant: fold batch norm of %q: %w", m.Name(), err)
	}
	out, err := nn.NewModel(m.Name(), m.InputShape(), top...)
	if err != nil {
		return nil, fmt.Errorf("quant: fold batch norm of %q: %w", m.Name(), err)
	}
	for _, f := range folds {
		if err := foldState(st, f, out); err != nil {
			return nil, fmt.Errorf("quant: fold batch norm of %q: %w", m.Name(), err)
		}
	}
	if err := out.LoadState(st); err != nil {
		return nil, fmt.Errorf("quant: fold batch norm of %q: %w", m.Name(), err)
	}
	out.Eval()
	return out, nil
}

// foldList rebuilds a list of layers with conv+BN pairs merged.
func foldList(ls []nn.Layer, folds *[]fold) ([]nn.Layer, error) {
	var out []nn.Layer
	for i := 0; i < len(ls); i++ {
		l := ls[i]
		var next *nn.BatchNorm2D
		if i+1 < len(ls) {
			next, _ = ls[i+1].(*nn.BatchNorm2D)
		}
		if c, ok, err := rebuildContainer(l, func(ls []nn.Layer) ([]nn.Layer, error) { return foldList(ls, folds) }); ok {
			if err != nil {
				return nil, err
			}
			out = append(out, c)
			continue
		}
		switch t := l.(type) {
		case *nn.Conv2D:
			if next != nil && next.Config().Channels == t.Config().Out {
				cfg := t.Config()
				cfg.Bias = true
				nc, err := nn.NewConv2D(t.Name(), cfg)
				if err != nil {
					return nil, err
				}
				*folds = append(*folds, fold{conv: t.Name(), bn: next, bias: t.Config().Bias})
				out = append(out, nc)
				i++
				continue
			}
		case *nn.DepthwiseConv2D:
			cfg := t.Config()
			mult := max(cfg.Multiplier, 1)
			if next != nil && next.Config().Channels == cfg.Channels*mult {
				cfg.Bias = true
				nc, err := nn.NewDepthwiseConv2D(t.Name(), cfg)
				if err != nil {
					return nil, err
				}
				*folds = append(*folds, fold{conv: t.Name(), bn: next, bias: t.Config().Bias})
				out = append(out, nc)
				i++
				continue
			}
		}
		out = append(out, l)
	}
	return out, nil
}

// rebuildContainer rebuilds l with rec applied to each of its lists of
// children when l is a container (Sequential, Residual), and reports
// whether it was one. Rewrites of a model's layer tree (folding,
// equalization) walk nested layers through it.
func rebuildContainer(l nn.Layer, rec func([]nn.Layer) ([]nn.Layer, error)) (nn.Layer, bool, error) {
	switch t := l.(type) {
	case *nn.Sequential:
		ch, err := rec(t.Children())
		if err != nil {
			return nil, true, err
		}
		s, err := nn.NewSequential(t.Name(), ch...)
		return s, true, err
	case *nn.Residual:
		body, err := rec(t.Body())
		if err != nil {
			return nil, true, err
		}
		sc, err := rec(t.Shortcut())
		if err != nil {
			return nil, true, err
		}
		r, err := nn.NewResidual(t.Name(), body, sc)
		return r, true, err
	}
	return nil, false, nil
}

// foldState rewrites st (the unfolded model's state) for one fold: scaled
// weights, the new bias, and the batch norm's tensors removed.
func foldState(st map[string][]float32, f fold, folded *nn.Model) error {
	bn := f.bn
	wName, bName := f.conv+"/weight", f.conv+"/bias"
	w, ok := st[wName]
	if !ok {
		return fmt.Errorf("no weight %q", wName)
	}
	if folded.Param(bName) == nil {
		return fmt.Errorf("folded layer %q has no bias parameter %q", f.conv, bName)
	}
	gamma, beta := bn.Gamma().Value.Data, bn.Beta().Value.Data
	mean, vr := bn.RunningMean().Value.Data, bn.RunningVar().Value.Data
	eps := bn.Config().Eps
	if eps == 0 {
		eps = 1e-5
	}
	c := len(gamma)
	if len(w)%c != 0 {
		return fmt.Errorf("weight %q has %d values, not a multiple of %d channels", wName, len(w), c)
	}
	per := len(w) / c
	bias := make([]float32, c)
	var old []float32
	if f.bias {
		old = st[bName]
	}
	for o := 0; o < c; o++ {
		v := float64(vr[o]) + float64(eps)
		if !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("batch norm %q channel %d: running variance %v + eps is not positive and finite", bn.Name(), o, vr[o])
		}
		s := float64(gamma[o]) / math.Sqrt(v)
		for k := o * per; k < (o+1)*per; k++ {
			w[k] = float32(float64(w[k]) * s)
		}
		b := 0.0
		if old != nil {
			b = float64(old[o])
		}
		bias[o] = float32((b-float64(mean[o]))*s + float64(beta[o]))
	}
	st[bName] = bias
	for _, p := range append(bn.Params(), bn.Buffers()...) {
		delete(st, p.Name)
	}
	return nil
}

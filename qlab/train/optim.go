package train

import (
	"fmt"
	"math"

	"github.com/qlab-dev/qlab/qlab/nn"
)

// OptimizerKind names an update rule.
type OptimizerKind string

const (
	// SGDKind is stochastic gradient descent with optional (Nesterov)
	// momentum and L2 weight decay, as torch.optim.SGD.
	SGDKind OptimizerKind = "sgd"
	// AdamKind is Adam with L2 weight decay added to the gradient, as
	// torch.optim.Adam.
	AdamKind OptimizerKind = "adam"
	// AdamWKind is Adam with decoupled weight decay, as torch.optim.AdamW.
	AdamWKind OptimizerKind = "adamw"
)

// OptimizerConfig describes an optimizer as plain data. The zero value
// means SGDMomentum(): SGD, learning rate 0.01, momentum 0.9, weight decay
// 5e-4, the study's recipe. Once Kind is set every field is taken
// literally (Momentum 0 is plain SGD), except that Adam's Beta1, Beta2 and
// Eps take PyTorch's defaults 0.9, 0.999 and 1e-8 when 0.
type OptimizerConfig struct {
	Kind OptimizerKind `json:"kind"`
	// LR is the base learning rate, which the Schedule scales.
	LR float64 `json:"lr"`
	// Momentum is SGD's momentum factor (PyTorch's momentum).
	Momentum float64 `json:"momentum,omitempty"`
	// Dampening is SGD's dampening (PyTorch's dampening); usually 0.
	Dampening float64 `json:"dampening,omitempty"`
	// Nesterov selects Nesterov momentum (SGD, requires Momentum > 0 and
	// Dampening 0, as PyTorch).
	Nesterov bool `json:"nesterov,omitempty"`
	// WeightDecay is the L2 penalty (SGD, Adam: added to the gradient as
	// WeightDecay*w) or the decoupled decay rate (AdamW: w -= lr*wd*w).
	WeightDecay float64 `json:"weight_decay,omitempty"`
	// DecayAll applies weight decay to every parameter, as PyTorch does
	// with a single parameter group. By default only parameters with
	// nn.Param.Decay (conv and dense weights) decay; biases and BatchNorm
	// parameters do not.
	DecayAll bool `json:"decay_all,omitempty"`
	// Beta1, Beta2 and Eps are Adam's; 0 means 0.9, 0.999 and 1e-8.
	Beta1 float64 `json:"beta1,omitempty"`
	Beta2 float64 `json:"beta2,omitempty"`
	Eps   float64 `json:"eps,omitempty"`
}

// SGDMomentum returns the default optimizer: SGD, lr 0.01, momentum 0.9,
// weight decay 5e-4.
func SGDMomentum() OptimizerConfig {
	return OptimizerConfig{Kind: SGDKind, LR: 0.01, Momentum: 0.9, WeightDecay: 5e-4}
}

// SGD returns plain SGD with the given learning rate and momentum.
func SGD(lr, momentum float64) OptimizerConfig {
	return OptimizerConfig{Kind: SGDKind, LR: lr, Momentum: momentum}
}

// Adam returns Adam with the given learning rate and PyTorch's defaults.
func Adam(lr float64) OptimizerConfig { return OptimizerConfig{Kind: AdamKind, LR: lr} }

// AdamW returns AdamW with the given learning rate and decoupled weight
// decay (PyTorch's default is 0.01).
func AdamW(lr, weightDecay float64) OptimizerConfig {
	return OptimizerConfig{Kind: AdamWKind, LR: lr, WeightDecay: weightDecay}
}

// resolved returns c with defaults filled in, or an error naming the bad
// field.
func (c OptimizerConfig) resolved() (OptimizerConfig, error) {
	if c.Kind == "" {
		if c != (OptimizerConfig{}) {
			return c, fmt.Errorf("train: optimizer %+v has no Kind; set Kind (e.g. %q) or leave the whole config zero for SGDMomentum()", c, SGDKind)
		}
		return SGDMomentum(), nil
	}
	bad := func(field string, v float64, want string) error {
		return fmt.Errorf("train: optimizer %s: %s = %v; want %s", c.Kind, field, v, want)
	}
	if !(c.LR >= 0) || math.IsInf(c.LR, 0) {
		return c, bad("LR", c.LR, "a finite value >= 0")
	}
	if !(c.WeightDecay >= 0) || math.IsInf(c.WeightDecay, 0) {
		return c, bad("WeightDecay", c.WeightDecay, "a finite value >= 0")
	}
	switch c.Kind {
	case SGDKind:
		if !(c.Momentum >= 0) || math.IsInf(c.Momentum, 0) {
			return c, bad("Momentum", c.Momentum, "a finite value >= 0")
		}
		if c.Nesterov && (c.Momentum <= 0 || c.Dampening != 0) {
			return c, fmt.Errorf("train: optimizer sgd: Nesterov needs Momentum > 0 and Dampening 0 (got %v, %v)", c.Momentum, c.Dampening)
		}
	case AdamKind, AdamWKind:
		if c.Beta1 == 0 {
			c.Beta1 = 0.9
		}
		if c.Beta2 == 0 {
			c.Beta2 = 0.999
		}
		if c.Eps == 0 {
			c.Eps = 1e-8
		}
		if !(c.Beta1 >= 0 && c.Beta1 < 1) {
			return c, bad("Beta1", c.Beta1, "0 <= Beta1 < 1")
		}
		if !(c.Beta2 >= 0 && c.Beta2 < 1) {
			return c, bad("Beta2", c.Beta2, "0 <= Beta2 < 1")
		}
		if !(c.Eps > 0) {
			return c, bad("Eps", c.Eps, "> 0")
		}
	default:
		return c, fmt.Errorf("train: unknown optimizer kind %q; want %q, %q or %q", string(c.Kind), SGDKind, AdamKind, AdamWKind)
	}
	return c, nil
}

// Optimizer updates a fixed list of parameters from their gradients. It
// allocates its state once, in NewOptimizer; Step allocates nothing.
type Optimizer struct {
	cfg    OptimizerConfig
	params []*nn.Param
	// SGD momentum buffers, or Adam first moments.
	m [][]float32
	// Adam second moments.
	v [][]float32
	// steps is the number of Step calls so far (Adam's t; SGD uses it to
	// seed the momentum buffer with the first gradient, as PyTorch does).
	steps int64
}

// NewOptimizer returns an optimizer for params (trainable parameters: Grad
// must be non-nil) configured by cfg.
func NewOptimizer(cfg OptimizerConfig, params []*nn.Param) (*Optimizer, error) {
	cfg, err := cfg.resolved()
	if err != nil {
		return nil, err
	}
	o := &Optimizer{cfg: cfg, params: append([]*nn.Param(nil), params...)}
	for _, p := range params {
		if p.Grad == nil || len(p.Grad.Data) != len(p.Value.Data) {
			return nil, fmt.Errorf("train: parameter %q has no gradient of its size; is it a buffer?", p.Name)
		}
		if cfg.Kind != SGDKind || cfg.Momentum != 0 {
			o.m = append(o.m, make([]float32, len(p.Value.Data)))
		}
		if cfg.Kind != SGDKind {
			o.v = append(o.v, make([]float32, len(p.Value.Data)))
		}
	}
	return o, nil
}

// Config returns the resolved configuration.
func (o *Optimizer) Config() OptimizerConfig { return o.cfg }

// Steps returns the number of updates applied.
func (o *Optimizer) Steps() int64 { return o.steps }

func (o *Optimizer) decays(p *nn.Param) bool {
	return o.cfg.WeightDecay != 0 && (o.cfg.DecayAll || p.Decay)
}

// Step applies one update with learning rate lr to every parameter from
// its current gradient. The arithmetic is float32, in the order
// torch.optim performs it:
//
// SGD:   g = grad + wd*w; b = g (first step) or momentum*b + (1-dampening)*g;
// g = g + momentum*b (Nesterov) or b; w -= lr*g.
//
// Adam:  g = grad + wd*w (AdamW instead: w *= 1 - lr*wd); m = β1 m + (1-β1) g;
// v = β2 v + (1-β2) g²; w -= lr/(1-β1^t) * m / (sqrt(v)/sqrt(1-β2^t) + eps).
func (o *Optimizer) Step(lr float64) {
	o.steps++
	switch o.cfg.Kind {
	case SGDKind:
		o.stepSGD(float32(lr))
	default:
		o.stepAdam(lr)
	}
}

func (o *Optimizer) stepSGD(lr float32) {
	mom, damp := float32(o.cfg.Momentum), float32(1-o.cfg.Dampening)
	first := o.steps == 1
	for i, p := range o.params {
		w, g := p.Value.Data, p.Grad.Data[:len(p.Value.Data)]
		wd := float32(0)
		if o.decays(p) {
			wd = float32(o.cfg.WeightDecay)
		}
		if o.m == nil {
			for j, gj := range g {
				w[j] -= lr * (gj + wd*w[j])
			}
			continue
		}
		b := o.m[i][:len(w)]
		switch {
		case first && o.cfg.Nesterov:
			for j, gj := range g {
				d := gj + wd*w[j]
				b[j] = d
				w[j] -= lr * (d + mom*d)
			}
		case first:
			for j, gj := range g {
				d := gj + wd*w[j]
				b[j] = d
				w[j] -= lr * d
			}
		case o.cfg.Nesterov:
			for j, gj := range g {
				d := gj + wd*w[j]
				bj := mom*b[j] + damp*d
				b[j] = bj
				w[j] -= lr * (d + mom*bj)
			}
		default:
			for j, gj := range g {
				d := gj + wd*w[j]
				bj := mom*b[j] + damp*d
				b[j] = bj
				w[j] -= lr * bj
			}
		}
	}
}

func (o *Optimizer) stepAdam(lr float64) {
	c := o.cfg
	t := float64(o.steps)
	bc1 := 1 - math.Pow(c.Beta1, t)
	bc2 := 1 - math.Pow(c.Beta2, t)
	stepSize := float32(lr / bc1)
	sqrtBC2 := float32(math.Sqrt(bc2))
	b1, b2 := float32(c.Beta1), float32(c.Beta2)
	// 1-β in float64 first: float32(0.999) is 0.99900001, and 1 minus it
	// in float32 is 1.3e-5 off 0.001 — a bias PyTorch does not have.
	ob1, ob2 := float32(1-c.Beta1), float32(1-c.Beta2)
	eps := float32(c.Eps)
	for i, p := range o.params {
		w, g := p.Value.Data, p.Grad.Data[:len(p.Value.Data)]
		m, v := o.m[i][:len(w)], o.v[i][:len(w)]
		wd, keep := float32(0), float32(1)
		if o.decays(p) {
			if c.Kind == AdamWKind {
				keep = float32(1 - lr*c.WeightDecay)
			} else {
				wd = float32(c.WeightDecay)
			}
		}
		for j, gj := range g {
			wj := w[j] * keep
			d := gj + wd*wj
			mj := b1*m[j] + ob1*d
			vj := b2*v[j] + ob2*d*d
			m[j], v[j] = mj, vj
			denom := float32(math.Sqrt(float64(vj)))/sqrtBC2 + eps
			w[j] = wj - stepSize*(mj/denom)
		}
	}
}

// state returns the optimizer's buffers keyed by parameter name
// ("<param>/m", "<param>/v") for checkpoints.
func (o *Optimizer) state() map[string][]float32 {
	st := map[string][]float32{}
	for i, p := range o.params {
		if o.m != nil {
			st[p.Name+"/m"] = append([]float32(nil), o.m[i]...)
		}
		if o.v != nil {
			st[p.Name+"/v"] = append([]float32(nil), o.v[i]...)
		}
	}
	return st
}

// loadState restores what state returned, and the step count.
func (o *Optimizer) loadState(st map[string][]float32, steps int64) error {
	want := 0
	for i, p := range o.params {
		for _, b := range []struct {
			suffix string
			bufs   [][]float32
		}{{"/m", o.m}, {"/v", o.v}} {
			if b.bufs == nil {
				continue
			}
			want++
			v, ok := st[p.Name+b.suffix]
			if !ok || len(v) != len(b.bufs[i]) {
				return fmt.Errorf("train: checkpoint optimizer state for %q is missing or has the wrong size", p.Name+b.suffix)
			}
		}
	}
	if len(st) != want {
		return fmt.Errorf("train: checkpoint optimizer state has %d buffers; this optimizer has %d (different optimizer or model?)", len(st), want)
	}
	for i, p := range o.params {
		if o.m != nil {
			copy(o.m[i], st[p.Name+"/m"])
		}
		if o.v != nil {
			copy(o.v[i], st[p.Name+"/v"])
		}
	}
	o.steps = steps
	return nil
}

package nn

import (
	"fmt"
	"math"

	"github.com/qlab-dev/qlab/qlab/initializers"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

// BatchNormConfig configures a BatchNorm2D.
type BatchNormConfig struct {
	// Channels is the channel count C; must be positive.
	Channels int
	// Momentum is the running-statistics update weight in PyTorch's
	// convention: running = (1-Momentum)*running + Momentum*batch. 0 means
	// 0.1 (PyTorch's default).
	Momentum float32
	// Eps is added to the variance before the square root; 0 means 1e-5.
	Eps float32
}

// BatchNorm2D normalizes each channel of NCHW input (PyTorch
// nn.BatchNorm2d): y = gamma*(x-mean)/sqrt(var+eps) + beta. In training it
// uses the batch's mean and biased variance and updates the running
// statistics (the running variance with the unbiased batch variance, as
// PyTorch does); in inference it uses the running statistics.
type BatchNorm2D struct {
	base
	cfg              BatchNormConfig
	momentum, eps    float32
	gamma, beta      *Param
	runMean, runVar  *Param
	x, dy            *tensor.Tensor
	y, dx            tensor.Tensor
	mean, invStd     []float32 // per channel, of the last forward
	fwdTask, bwdTask taskFunc
	hw               int
	updateStats      bool         // the last forward used batch statistics
	act, bact        *elementwise // fused activation (forward, backward)
	limit            uint32       // bact's passLimit
	scale, shift     []float32    // per channel, of the last prepareFused
}

// NewBatchNorm2D returns a batch-norm layer named name; parameters
// "<name>/gamma" and "<name>/beta", buffers "<name>/running_mean" and
// "<name>/running_var" (initialized to 1, 0, 0, 1).
func NewBatchNorm2D(name string, c BatchNormConfig) (*BatchNorm2D, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: BatchNorm2D needs a name", ErrConfig)
	}
	if c.Channels <= 0 || c.Momentum < 0 || c.Momentum > 1 || c.Eps < 0 {
		return nil, fmt.Errorf("%w: BatchNorm2D %q: Channels=%d Momentum=%v Eps=%v", ErrConfig, name, c.Channels, c.Momentum, c.Eps)
	}
	l := &BatchNorm2D{base: base{name: name}, cfg: c, momentum: c.Momentum, eps: c.Eps}
	if l.momentum == 0 {
		l.momentum = 0.1
	}
	if l.eps == 0 {
		l.eps = 1e-5
	}
	l.gamma = newParam(name+"/gamma", Gamma, initializers.Dense, c.Channels)
	l.beta = newParam(name+"/beta", Beta, initializers.Dense, c.Channels)
	l.runMean = newParam(name+"/running_mean", RunningMean, initializers.Dense, c.Channels)
	l.runVar = newParam(name+"/running_var", RunningVar, initializers.Dense, c.Channels)
	l.resetState()
	l.mean = make([]float32, c.Channels)
	l.invStd = make([]float32, c.Channels)
	l.fwdTask, l.bwdTask = l.forwardChannel, l.backwardChannel
	return l, nil
}

func (l *BatchNorm2D) resetState() {
	for i := range l.gamma.Value.Data {
		l.gamma.Value.Data[i] = 1
		l.beta.Value.Data[i] = 0
		l.runMean.Value.Data[i] = 0
		l.runVar.Value.Data[i] = 1
	}
}

// Kind returns "BatchNorm2D".
func (l *BatchNorm2D) Kind() string { return "BatchNorm2D" }

// Config returns the configuration with defaults filled in.
func (l *BatchNorm2D) Config() BatchNormConfig {
	return BatchNormConfig{Channels: l.cfg.Channels, Momentum: l.momentum, Eps: l.eps}
}

// SetMomentum sets the running-statistics update weight (PyTorch's
// convention, see BatchNormConfig.Momentum) used by later training-mode
// forwards; m must be in (0, 1]. Setting 1/k before the k-th batch gives
// the cumulative average PyTorch computes with momentum=None (what
// quant.ReestimateBN does). Config reports the current value.
func (l *BatchNorm2D) SetMomentum(m float32) error {
	if !(m > 0 && m <= 1) {
		return fmt.Errorf("%w: BatchNorm2D %q: momentum %v not in (0, 1]", ErrConfig, l.name, m)
	}
	l.momentum = m
	return nil
}

// Gamma, Beta, RunningMean and RunningVar return the per-channel tensors,
// each of shape (C).
func (l *BatchNorm2D) Gamma() *Param       { return l.gamma }
func (l *BatchNorm2D) Beta() *Param        { return l.beta }
func (l *BatchNorm2D) RunningMean() *Param { return l.runMean }
func (l *BatchNorm2D) RunningVar() *Param  { return l.runVar }

// Params returns gamma and beta.
func (l *BatchNorm2D) Params() []*Param { return []*Param{l.gamma, l.beta} }

// Buffers returns the running mean and running variance (Grad nil).
func (l *BatchNorm2D) Buffers() []*Param { return []*Param{l.runMean, l.runVar} }

// OutputShape returns in, which must be (C, H, W).
func (l *BatchNorm2D) OutputShape(in []int) ([]int, error) {
	if len(in) != 3 || in[0] != l.cfg.Channels {
		return nil, l.shapeErr("BatchNorm2D", in, fmt.Sprintf("(%d, H, W)", l.cfg.Channels))
	}
	return copyShape(in), nil
}

func (l *BatchNorm2D) flops(in []int) int64 { return 2 * int64(tensor.Size(in)) }

// Forward normalizes x, shape (N, C, H, W), into a layer-owned buffer.
// In training N*H*W must exceed 1 (the variance of one value is undefined).
func (l *BatchNorm2D) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	return l.forward(x, nil)
}

// forward is Forward; with act non-nil it also applies that activation
// in the same pass, leaving act in the state its own Forward on l's output
// would (containers use this when no observer could intervene between
// the two).
func (l *BatchNorm2D) forward(x *tensor.Tensor, act *elementwise) (*tensor.Tensor, error) {
	if len(x.Shape) != 4 {
		return nil, l.shapeErr("BatchNorm2D", x.Shape, fmt.Sprintf("(N, %d, H, W)", l.cfg.Channels))
	}
	if x.Shape[1] != l.cfg.Channels {
		_, err := l.OutputShape(x.Shape[1:])
		return nil, err
	}
	l.hw = x.Shape[2] * x.Shape[3]
	if l.training && x.Shape[0]*l.hw < 2 {
		return nil, fmt.Errorf("%w: BatchNorm2D %q: training needs more than one value per channel, got input %v", ErrShape, l.name, x.Shape)
	}
	l.x = x
	l.act = act
	l.updateStats = l.training
	l.y.Resize(x.Shape...)
	if act != nil {
		// The fused pass writes only the activation's output: nobody
		// observes the BatchNorm output, and the activation's gradient mask
		// reads the same from its output as from its input (0 < z < hi
		// exactly when 0 < y < hi), so the activation's input is its
		// output.
		act.y.Resize(x.Shape...)
		act.x = &act.y
	}
	parallel(l.cfg.Channels, l.fwdTask)
	if act != nil {
		return &act.y, nil
	}
	return &l.y, nil
}

func (l *BatchNorm2D) forwardChannel(_, c int) {
	nb, ch, hw := l.x.Shape[0], l.cfg.Channels, l.hw
	var mean, invStd float32
	if l.training {
		// One pass of shifted sums (shift = the channel's first value, so
		// a large mean does not cancel the variance away), in float64.
		shift := l.x.Data[c*hw]
		var s, ss float64
		for n := 0; n < nb; n++ {
			a, b := sums(l.x.Data[(n*ch+c)*hw:(n*ch+c+1)*hw], shift)
			s += a
			ss += b
		}
		cnt := float64(nb * hw)
		d := s / cnt
		m := float64(shift) + d
		v := max(ss-s*d, 0) // Σ(x-m)² = Σ(x-shift)² - S²/cnt
		biased := v / cnt
		mean, invStd = float32(m), float32(1/math.Sqrt(biased+float64(l.eps)))
		mo := float64(l.momentum)
		rm, rv := &l.runMean.Value.Data[c], &l.runVar.Value.Data[c]
		*rm = float32((1-mo)*float64(*rm) + mo*m)
		*rv = float32((1-mo)*float64(*rv) + mo*v/(cnt-1))
	} else {
		mean, invStd = l.runStats(c)
	}
	l.mean[c], l.invStd[c] = mean, invStd
	scale, shift := l.coef(c, mean, invStd)
	for n := 0; n < nb; n++ {
		xs := l.x.Data[(n*ch+c)*hw : (n*ch+c+1)*hw]
		ys := l.y.Data[(n*ch+c)*hw : (n*ch+c+1)*hw]
		if l.act == nil {
			affine(ys, xs, scale, shift)
			continue
		}
		affineClamp(nil, l.act.y.Data[(n*ch+c)*hw:(n*ch+c+1)*hw], xs, scale, shift, l.act.hi)
	}
}

// runStats returns channel c's running mean and 1/sqrt(running var + eps),
// the statistics of an inference-mode forward.
func (l *BatchNorm2D) runStats(c int) (mean, invStd float32) {
	return l.runMean.Value.Data[c], float32(1 / math.Sqrt(float64(l.runVar.Value.Data[c])+float64(l.eps)))
}

// coef returns channel c's y = x*scale + shift coefficients.
func (l *BatchNorm2D) coef(c int, mean, invStd float32) (scale, shift float32) {
	scale = l.gamma.Value.Data[c] * invStd
	return scale, l.beta.Value.Data[c] - mean*scale
}

// prepareFused readies an inference-mode forward whose per-plane work a
// preceding Conv2D does in its own output stage (see Conv2D.post): x is
// the conv's output buffer, already sized; act, when not nil, is the
// activation fused as in forward. It leaves l (and act) in the state
// forward(x, act) would, so Backward and backwardChain work unchanged.
func (l *BatchNorm2D) prepareFused(x *tensor.Tensor, act *elementwise) error {
	if len(x.Shape) != 4 || x.Shape[1] != l.cfg.Channels {
		_, err := l.OutputShape(x.Shape[1:])
		return err
	}
	l.hw = x.Shape[2] * x.Shape[3]
	l.x = x
	l.act = act
	l.updateStats = false
	l.y.Resize(x.Shape...)
	if act != nil {
		act.y.Resize(x.Shape...)
		act.x = &act.y
	}
	if cap(l.scale) < l.cfg.Channels {
		l.scale = make([]float32, l.cfg.Channels)
		l.shift = make([]float32, l.cfg.Channels)
	}
	l.scale, l.shift = l.scale[:l.cfg.Channels], l.shift[:l.cfg.Channels]
	for c := range l.cfg.Channels {
		mean, invStd := l.runStats(c)
		l.mean[c], l.invStd[c] = mean, invStd
		l.scale[c], l.shift[c] = l.coef(c, mean, invStd)
	}
	return nil
}

// applyPlane does forwardChannel's per-plane work for sample n, channel c,
// after prepareFused: the same kernel on the same whole plane, so every
// element gets the same float32 operations.
func (l *BatchNorm2D) applyPlane(n, c int) {
	off := (n*l.cfg.Channels + c) * l.hw
	xs := l.x.Data[off : off+l.hw]
	if l.act == nil {
		affine(l.y.Data[off:off+l.hw], xs, l.scale[c], l.shift[c])
		return
	}
	affineClamp(nil, l.act.y.Data[off:off+l.hw], xs, l.scale[c], l.shift[c], l.act.hi)
}

// Backward adds dgamma and dbeta and returns dx in a layer-owned buffer.
// After a training-mode Forward it differentiates through the batch
// statistics; after an inference-mode Forward the statistics are constants.
func (l *BatchNorm2D) Backward(dy *tensor.Tensor) (*tensor.Tensor, error) {
	return l.backward(dy, nil)
}

// backward is Backward; with act non-nil, dy is the gradient at act's
// output and act's mask is applied on the fly (act's own Backward is then
// skipped; its dx buffer is not written).
func (l *BatchNorm2D) backward(dy *tensor.Tensor, act *elementwise) (*tensor.Tensor, error) {
	if l.x == nil {
		return nil, fmt.Errorf("nn: BatchNorm2D %q: Backward before Forward", l.name)
	}
	if !tensor.SameShape(dy.Shape, l.x.Shape) {
		return nil, fmt.Errorf("%w: BatchNorm2D %q: gradient shape %v, want %v", ErrShape, l.name, dy.Shape, l.x.Shape)
	}
	l.dy = dy
	l.bact = act
	if act != nil {
		l.limit = act.passLimit()
	}
	l.dx.Resize(l.x.Shape...)
	parallel(l.cfg.Channels, l.bwdTask)
	return &l.dx, nil
}

func (l *BatchNorm2D) backwardChannel(_, c int) {
	nb, ch, hw := l.x.Shape[0], l.cfg.Channels, l.hw
	mean, invStd := l.mean[c], l.invStd[c]
	// sdy = Σ g, sdyx = Σ g*xhat (g = dy, masked by the activation when
	// fused), in float64 for a stable, order-fixed sum.
	var sdy, sdyx float64
	for n := 0; n < nb; n++ {
		off := (n*ch + c) * hw
		xs := l.x.Data[off : off+hw]
		ds := l.dy.Data[off : off+hw]
		var mask []float32
		if l.bact != nil {
			mask = l.bact.x.Data[off : off+hw]
		}
		a, b := dotDev(ds, xs, mask, mean, l.limit)
		sdy += a
		sdyx += b * float64(invStd)
	}
	l.gamma.Grad.Data[c] += float32(sdyx)
	l.beta.Grad.Data[c] += float32(sdy)
	g := l.gamma.Value.Data[c]
	k := g * invStd
	var mdy, mdyx float32
	if l.updateStats {
		// dx = g*invStd*(dy - mean(dy) - xhat*mean(dy*xhat)).
		cnt := float64(nb * hw)
		mdy = float32(sdy / cnt)
		mdyx = float32(sdyx / cnt)
	}
	// In inference the statistics are constants: dx = g*invStd*dy, the
	// same formula with both means zero.
	a := -k * mdyx * invStd
	b := -k*mdy + k*mdyx*invStd*mean
	// dx = k*dy + a*x + b, expanded so the loop has no dependent chain.
	for n := 0; n < nb; n++ {
		off := (n*ch + c) * hw
		xs := l.x.Data[off : off+hw]
		ds := l.dy.Data[off : off+hw]
		dx := l.dx.Data[off : off+hw]
		var mask []float32
		if l.bact != nil {
			mask = l.bact.x.Data[off : off+hw]
		}
		backApply(dx, ds, xs, mask, k, a, b, l.limit)
	}
}

// sum32 sums s in float64, four lanes in a fixed order.
func sum32(s []float32) float64 {
	var a0, a1, a2, a3 float64
	i := 0
	for ; i+4 <= len(s); i += 4 {
		a0 += float64(s[i])
		a1 += float64(s[i+1])
		a2 += float64(s[i+2])
		a3 += float64(s[i+3])
	}
	for ; i < len(s); i++ {
		a0 += float64(s[i])
	}
	return (a0 + a1) + (a2 + a3)
}

// shiftedSums returns Σ (s[i]-m) and Σ (s[i]-m)² in float64. Four
// independent lanes (combined in a fixed order) keep the adds from waiting
// on each other.
func shiftedSums(s []float32, m float32) (float64, float64) {
	var a0, a1, a2, a3, q0, q1, q2, q3 float64
	i := 0
	for ; i+4 <= len(s); i += 4 {
		d0 := float64(s[i] - m)
		d1 := float64(s[i+1] - m)
		d2 := float64(s[i+2] - m)
		d3 := float64(s[i+3] - m)
		a0 += d0
		a1 += d1
		a2 += d2
		a3 += d3
		q0 += d0 * d0
		q1 += d1 * d1
		q2 += d2 * d2
		q3 += d3 * d3
	}
	for ; i < len(s); i++ {
		d := float64(s[i] - m)
		a0 += d
		q0 += d * d
	}
	return (a0 + a1) + (a2 + a3), (q0 + q1) + (q2 + q3)
}

// dotDev32 returns Σ d[i] and Σ d[i]*(x[i]-m) in float64, four lanes.
func dotDev32(d, x []float32, m float32) (float64, float64) {
	var s0, s1, s2, s3, p0, p1, p2, p3 float64
	x = x[:len(d)]
	i := 0
	for ; i+4 <= len(d); i += 4 {
		g0, g1, g2, g3 := float64(d[i]), float64(d[i+1]), float64(d[i+2]), float64(d[i+3])
		s0 += g0
		s1 += g1
		s2 += g2
		s3 += g3
		p0 += g0 * float64(x[i]-m)
		p1 += g1 * float64(x[i+1]-m)
		p2 += g2 * float64(x[i+2]-m)
		p3 += g3 * float64(x[i+3]-m)
	}
	for ; i < len(d); i++ {
		g := float64(d[i])
		s0 += g
		p0 += g * float64(x[i]-m)
	}
	return (s0 + s1) + (s2 + s3), (p0 + p1) + (p2 + p3)
}

// maskedDotDev32 is dotDev32 of d masked where mask[i] is outside the
// activation's linear range (see passMask), four lanes.
func maskedDotDev32(d, x, mask []float32, m float32, limit uint32) (float64, float64) {
	var s0, s1, s2, s3, p0, p1, p2, p3 float64
	x, mask = x[:len(d)], mask[:len(d)]
	g := func(i int) float64 {
		b := uint32(0)
		if math.Float32bits(mask[i])-1 < limit {
			b = ^uint32(0)
		}
		return float64(math.Float32frombits(math.Float32bits(d[i]) & b))
	}
	i := 0
	for ; i+4 <= len(d); i += 4 {
		g0, g1, g2, g3 := g(i), g(i+1), g(i+2), g(i+3)
		s0 += g0
		s1 += g1
		s2 += g2
		s3 += g3
		p0 += g0 * float64(x[i]-m)
		p1 += g1 * float64(x[i+1]-m)
		p2 += g2 * float64(x[i+2]-m)
		p3 += g3 * float64(x[i+3]-m)
	}
	for ; i < len(d); i++ {
		gi := g(i)
		s0 += gi
		p0 += gi * float64(x[i]-m)
	}
	return (s0 + s1) + (s2 + s3), (p0 + p1) + (p2 + p3)
}

package analysis

import (
	"fmt"
	"math"
	"slices"
)

// FakeQuantizer is anything that quantizes and dequantizes a slice (dst and
// src have the same length). It is the one method QuantError needs, so any
// quantizer plugs in.
type FakeQuantizer interface {
	FakeQuant(dst, src []float32)
}

// ClipRanger is optionally implemented by a FakeQuantizer to give its
// representable range [lo, hi] (the clipping bounds).
type ClipRanger interface {
	ClipRange() (lo, hi float64)
}

// Stepper is optionally implemented by a FakeQuantizer to give its step
// (the scale of an affine quantizer).
type Stepper interface {
	Step() float64
}

// Grid is a uniform affine quantization grid: real = (q - ZeroPoint)·Scale,
// q an integer in [QMin, QMax]. It implements FakeQuantizer, ClipRanger and
// Stepper. A per-tensor qlab/quant QParams maps to it field by field.
type Grid struct {
	Scale      float64
	ZeroPoint  int
	QMin, QMax int
}

// UniformGrid returns the affine grid of 2^bits levels whose range [lo, hi]
// is stretched to contain 0 with 0 exactly representable (PyTorch's
// min/max observer rule, unsigned storage: QMin 0, QMax 2^bits-1).
func UniformGrid(lo, hi float64, bits int) (Grid, error) {
	if bits < 1 || bits > 24 || math.IsNaN(lo) || math.IsNaN(hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) || lo > hi {
		return Grid{}, fmt.Errorf("analysis: uniform grid: bad range [%v, %v] or bits %d", lo, hi, bits)
	}
	lo, hi = min(lo, 0), max(hi, 0)
	qmax := 1<<bits - 1
	scale := (hi - lo) / float64(qmax)
	if scale == 0 {
		scale = 1
	}
	zp := min(max(int(math.RoundToEven(-lo/scale)), 0), qmax)
	return Grid{Scale: scale, ZeroPoint: zp, QMin: 0, QMax: qmax}, nil
}

func (g Grid) valid() bool { return g.Scale > 0 && g.QMax >= g.QMin }

// FakeQuant writes ((clamp(round(x/Scale)+ZeroPoint, QMin, QMax) -
// ZeroPoint)·Scale into dst, rounding half to even, in float64.
func (g Grid) FakeQuant(dst, src []float32) {
	inv := 1 / g.Scale
	qmin, qmax, zp := float64(g.QMin), float64(g.QMax), float64(g.ZeroPoint)
	for i, v := range src {
		q := min(max(math.RoundToEven(float64(v)*inv)+zp, qmin), qmax)
		dst[i] = float32((q - zp) * g.Scale)
	}
}

// ClipRange returns [(QMin-ZeroPoint)·Scale, (QMax-ZeroPoint)·Scale].
func (g Grid) ClipRange() (lo, hi float64) {
	return float64(g.QMin-g.ZeroPoint) * g.Scale, float64(g.QMax-g.ZeroPoint) * g.Scale
}

// Step returns Scale.
func (g Grid) Step() float64 { return g.Scale }

// QuantErrorStats describes the error e = x̂ - x of quantizing a tensor x,
// next to what theory predicts from x's measured mean and standard
// deviation. MSE values are per element (averaged over all N values).
type QuantErrorStats struct {
	N int
	// MSE = ClipMSE + RoundMSE exactly (by construction: the two parts
	// partition the elements into clipped and in-range ones).
	MSE, ClipMSE, RoundMSE float64
	// SQNR is 10·log10(Σx² / Σe²) in dB (+Inf for zero error).
	SQNR float64
	// Scale is the quantizer step.
	Scale float64
	// RMSEOverScale is sqrt(MSE)/Scale; RoundRMSEOverScale is the RMS error
	// of the in-range elements over Scale, which the uniform-noise model puts
	// at 1/sqrt(12) ≈ 0.2887.
	RMSEOverScale, RoundRMSEOverScale float64
	// FracClipped is the fraction of elements outside [ClipLo, ClipHi].
	FracClipped    float64
	ClipLo, ClipHi float64
	// Mean and Std are the measured moments of x the predictions are fitted to.
	Mean, Std float64
	// PredRoundMSE is the uniform-noise prediction Scale²/12 × (observed
	// in-range fraction).
	PredRoundMSE float64
	// PredGaussClipMSE / PredGaussMSE: clipping and total MSE for x ~
	// N(Mean, Std²) clipped to [ClipLo, ClipHi] (closed form), the rounding
	// part taken as Scale²/12 × P(in range).
	PredGaussClipMSE, PredGaussMSE float64
	// PredLaplaceClipMSE / PredLaplaceMSE: the same for a Laplace
	// distribution with the same mean and standard deviation (b = Std/√2).
	PredLaplaceClipMSE, PredLaplaceMSE float64
	// Inferred reports that the range and step were inferred from the
	// quantized values rather than given by the quantizer.
	Inferred bool
}

// QuantError fake-quantizes x with q and measures the error. The clipping
// range and step come from q's ClipRange and Step methods when it has them;
// otherwise they are inferred (see QuantErrorFrom).
func QuantError(x []float32, q FakeQuantizer) (QuantErrorStats, error) {
	if q == nil {
		return QuantErrorStats{}, fmt.Errorf("analysis: quant error: nil quantizer")
	}
	xq := make([]float32, len(x))
	q.FakeQuant(xq, x)
	var g Grid
	cr, okR := q.(ClipRanger)
	st, okS := q.(Stepper)
	if okR && okS {
		lo, hi := cr.ClipRange()
		return quantError(x, xq, st.Step(), lo, hi, false)
	}
	return QuantErrorFrom(x, xq, g)
}

// QuantErrorFrom measures the error between x and its quantized version xq
// (the same length), produced by any quantizer — e.g. qlab/quant's
// QParams.FakeQuant — with grid g giving the step and clipping range. When
// g is the zero Grid they are inferred from xq: the step as the smallest gap
// between distinct quantized values, and each clipping bound as the extreme
// quantized value if some element lies beyond it by more than half a step
// (evidence of clipping on that side), else as that value ± half a step.
func QuantErrorFrom(x, xq []float32, g Grid) (QuantErrorStats, error) {
	if len(x) != len(xq) {
		return QuantErrorStats{}, fmt.Errorf("analysis: quant error: %d values but %d quantized values", len(x), len(xq))
	}
	if g.valid() {
		lo, hi := g.ClipRange()
		return quantError(x, xq, g.Scale, lo, hi, false)
	}
	if g != (Grid{}) {
		return QuantErrorStats{}, fmt.Errorf("analysis: quant error: bad grid %+v (need Scale > 0, QMax >= QMin)", g)
	}
	if len(xq) == 0 {
		return QuantErrorStats{}, fmt.Errorf("analysis: quant error: no values")
	}
	u := slices.Clone(xq)
	slices.Sort(u)
	u = slices.Compact(u)
	step := math.Inf(1)
	for i := 1; i < len(u); i++ {
		step = min(step, float64(u[i])-float64(u[i-1]))
	}
	if math.IsInf(step, 1) {
		return QuantErrorStats{}, fmt.Errorf("analysis: quant error: cannot infer the step: all %d quantized values equal %v", len(xq), u[0])
	}
	lo, hi := float64(u[0]), float64(u[len(u)-1])
	xlo, xhi := float64(slices.Min(x)), float64(slices.Max(x))
	if xlo >= lo-step/2 {
		lo -= step / 2
	}
	if xhi <= hi+step/2 {
		hi += step / 2
	}
	return quantError(x, xq, step, lo, hi, true)
}

func quantError(x, xq []float32, step, lo, hi float64, inferred bool) (QuantErrorStats, error) {
	n := len(x)
	if n == 0 {
		return QuantErrorStats{}, fmt.Errorf("analysis: quant error: no values")
	}
	if !(step > 0) || !(hi >= lo) {
		return QuantErrorStats{}, fmt.Errorf("analysis: quant error: bad step %v or range [%v, %v]", step, lo, hi)
	}
	var m Moments
	if err := m.AddChunk(x); err != nil {
		return QuantErrorStats{}, fmt.Errorf("analysis: quant error: input: %w", err)
	}
	var sig, clip, round float64
	clipped := 0
	for i, v := range x {
		f := float64(v)
		e := float64(xq[i]) - f
		if math.IsNaN(e) || math.IsInf(e, 0) {
			return QuantErrorStats{}, fmt.Errorf("analysis: quant error: quantized element %d is %v", i, xq[i])
		}
		sig += f * f
		if f < lo || f > hi {
			clip += e * e
			clipped++
		} else {
			round += e * e
		}
	}
	fn := float64(n)
	s := QuantErrorStats{
		N: n, ClipMSE: clip / fn, RoundMSE: round / fn,
		Scale: step, ClipLo: lo, ClipHi: hi, FracClipped: float64(clipped) / fn,
		Mean: m.Mean, Std: m.Std(), Inferred: inferred,
	}
	s.MSE = s.ClipMSE + s.RoundMSE
	s.SQNR = 10 * math.Log10(sig/(clip+round))
	s.RMSEOverScale = math.Sqrt(s.MSE) / step
	if in := n - clipped; in > 0 {
		s.RoundRMSEOverScale = math.Sqrt(round/float64(in)) / step
	} else {
		s.RoundRMSEOverScale = math.NaN()
	}
	u := step * step / 12
	s.PredRoundMSE = u * (1 - s.FracClipped)
	gc, gin := GaussianClipMSE(s.Mean, s.Std, lo, hi)
	s.PredGaussClipMSE, s.PredGaussMSE = gc, gc+u*gin
	lc, lin := LaplaceClipMSE(s.Mean, s.Std, lo, hi)
	s.PredLaplaceClipMSE, s.PredLaplaceMSE = lc, lc+u*lin
	return s, nil
}

// GaussianClipMSE returns, for X ~ N(mu, sd²) clipped to [lo, hi], the
// expected clipping error E[(X-hi)²; X>hi] + E[(lo-X)²; X<lo] and the
// probability of landing in range. Per side, with β the standardized
// distance to the bound: sd²·((1+β²)·Q(β) − β·φ(β)), Q the upper normal
// tail and φ the density; valid for β of either sign.
func GaussianClipMSE(mu, sd, lo, hi float64) (clipMSE, pIn float64) {
	if !(sd > 0) {
		var c float64
		if mu > hi {
			c = (mu - hi) * (mu - hi)
		} else if mu < lo {
			c = (lo - mu) * (lo - mu)
		} else {
			return 0, 1
		}
		return c, 0
	}
	side := func(b float64) (float64, float64) {
		q := 0.5 * math.Erfc(b/math.Sqrt2)
		phi := math.Exp(-b*b/2) / math.Sqrt(2*math.Pi)
		return sd * sd * ((1+b*b)*q - b*phi), q
	}
	cu, qu := side((hi - mu) / sd)
	cl, ql := side((mu - lo) / sd)
	return cu + cl, max(0, 1-qu-ql)
}

// LaplaceClipMSE is GaussianClipMSE for a Laplace distribution with mean mu
// and standard deviation sd (scale b = sd/√2). Per side, at distance t from
// the mean to the bound: b²·e^(−t/b) when t ≥ 0 (the tail beyond the bound
// is exponential), and 2b² + t² − b²·e^(t/b) when the bound lies on the
// near side of the mean.
func LaplaceClipMSE(mu, sd, lo, hi float64) (clipMSE, pIn float64) {
	if !(sd > 0) {
		return GaussianClipMSE(mu, 0, lo, hi)
	}
	b := sd / math.Sqrt2
	side := func(t float64) (float64, float64) {
		if t >= 0 {
			e := math.Exp(-t / b)
			return b * b * e, 0.5 * e
		}
		e := math.Exp(t / b)
		return 2*b*b + t*t - b*b*e, 1 - 0.5*e
	}
	cu, pu := side(hi - mu)
	cl, pl := side(mu - lo)
	return cu + cl, max(0, 1-pu-pl)
}

// SQNRUniformIdeal returns the textbook SQNR of b-bit uniform quantization
// of a full-range uniform signal, 20·log10(2^b) ≈ 6.02·b dB.
func SQNRUniformIdeal(bits int) float64 { return 20 * math.Log10(math.Pow(2, float64(bits))) }

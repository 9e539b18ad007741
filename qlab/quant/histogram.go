package quant

import (
	"fmt"
	"math"
)

// HistogramCalibrator implements the Percentile, MSE and Entropy methods on
// a bounded-memory histogram of the observed values.
//
// Storage: two histograms of Bins bins each (default 2048), one for |x| of
// the negative values and one for the non-negative ones, over [0, top)
// where top is the smallest power of two >= max|x| seen so far. When a batch
// exceeds top, top doubles and adjacent bin pairs merge, which is exact (no
// interpolation), so the histogram does not depend on how the data was split
// into batches. Resolution: top/Bins, between max|x|/Bins and 2·max|x|/Bins
// (1/1024 to 1/2048 of the largest magnitude at the default size). Memory:
// 2·Bins float64 counts whatever the amount of data. Exact zeros are also
// counted apart, for Entropy.
type HistogramCalibrator struct {
	name   string
	method Method
	pct    float64
	bins   int
	cfg    TensorConfig
	pos    []float64 // counts of x >= 0 by |x|
	neg    []float64 // counts of x < 0 by |x|
	top    float64   // histogram covers |x| in [0, top); 0 until a non-zero value
	zeros  float64   // exact zeros seen while top == 0
	exact0 float64   // exact zeros seen in all (they sit in pos[0])
	lo, hi float32
	n      float64
}

// NewHistogramCalibrator returns a calibrator for c.Calibrator.Method, one of
// Percentile, MSE or Entropy (any other method is treated as MSE), for a
// tensor quantized with c.
func NewHistogramCalibrator(name string, c TensorConfig) *HistogramCalibrator {
	bins := c.Calibrator.Bins
	if bins == 0 {
		bins = 2048
	}
	bins += bins & 1 // merging pairs needs an even count
	pct := c.Calibrator.Percentile
	if pct == 0 {
		pct = 99.99
	}
	m := c.Calibrator.Method
	if m != Percentile && m != Entropy {
		m = MSE
	}
	return &HistogramCalibrator{name: name, method: m, pct: pct, bins: bins, cfg: c,
		pos: make([]float64, bins), neg: make([]float64, bins)}
}

// Reset forgets everything observed.
func (h *HistogramCalibrator) Reset() {
	clear(h.pos)
	clear(h.neg)
	h.top, h.zeros, h.exact0, h.n = 0, 0, 0, 0
}

// Observe adds x to the histogram; empty batches are ignored.
func (h *HistogramCalibrator) Observe(x []float32) error {
	if len(x) == 0 {
		return nil
	}
	lo, hi, err := batchMinMax(h.name, x)
	if err != nil {
		return err
	}
	if h.n == 0 {
		h.lo, h.hi = lo, hi
	} else {
		h.lo, h.hi = min(h.lo, lo), max(h.hi, hi)
	}
	h.n += float64(len(x))
	m := math.Max(-float64(lo), float64(hi))
	if m > 0 && h.top == 0 {
		h.top = math.Ldexp(1, exponentCeil(m))
		h.pos[0] += h.zeros
		h.zeros = 0
	}
	for m >= h.top && h.top > 0 {
		h.grow()
	}
	if h.top == 0 {
		h.zeros += float64(len(x))
		h.exact0 += float64(len(x))
		return nil
	}
	scale := float64(h.bins) / h.top
	for _, v := range x {
		a := math.Abs(float64(v))
		b := min(int(a*scale), h.bins-1)
		switch {
		case v < 0:
			h.neg[b]++
		case v == 0:
			h.exact0++
			h.pos[b]++
		default:
			h.pos[b]++
		}
	}
	return nil
}

// exponentCeil returns the smallest e with 2^e > m (strictly: m = 2^k gets
// k+1, so m itself falls inside [0, 2^e)).
func exponentCeil(m float64) int {
	_, e := math.Frexp(m) // m = f·2^e, f in [0.5, 1)
	return e
}

// grow doubles top, merging adjacent bin pairs.
func (h *HistogramCalibrator) grow() {
	for _, c := range [][]float64{h.pos, h.neg} {
		for i := 0; i < h.bins/2; i++ {
			c[i] = c[2*i] + c[2*i+1]
		}
		clear(c[h.bins/2:])
	}
	h.top *= 2
}

// Range returns the range the method selects, never wider than the
// observed [min, max].
func (h *HistogramCalibrator) Range() (float32, float32, error) {
	if h.n == 0 {
		return 0, 0, fmt.Errorf("%w: calibrator %q", ErrNoData, h.name)
	}
	if h.top == 0 {
		return 0, 0, nil
	}
	switch h.method {
	case Percentile:
		lo := h.quantile(1 - h.pct/100)
		hi := h.quantile(h.pct / 100)
		return max(float32(lo), h.lo), min(float32(hi), h.hi), nil
	case Entropy:
		t := float32(h.entropyThreshold())
		return max(-t, h.lo), min(t, h.hi), nil
	}
	lo, hi := h.mseRange()
	return lo, hi, nil
}

// quantile returns the value below which a fraction p of the data lies,
// interpolating linearly inside the bin where the cumulative count crosses
// p·n. Values run from the most negative bin up through the positive ones.
func (h *HistogramCalibrator) quantile(p float64) float64 {
	target := p * h.n
	w := h.top / float64(h.bins)
	cum := 0.0
	for i := h.bins - 1; i >= 0; i-- { // negative side, most negative first
		c := h.neg[i]
		if c > 0 && cum+c >= target {
			f := (target - cum) / c
			return -float64(i+1)*w + f*w
		}
		cum += c
	}
	for i := 0; i < h.bins; i++ {
		c := h.pos[i]
		if c > 0 && cum+c >= target {
			f := (target - cum) / c
			return float64(i)*w + f*w
		}
		cum += c
	}
	return float64(h.hi)
}

// mseRange searches clipping thresholds t = k·w (w the bin width, k up to
// the bin holding max|x|) for the one minimising the expected squared error
// of quantizing the histogram with the range [max(lo,-t), min(hi,t)] under
// the calibrator's TensorConfig. Each bin is represented by its centre: a
// centre inside the representable range costs scale²/12 (uniform rounding
// error), one outside costs its squared distance to the nearest
// representable end (clipping error).
func (h *HistogramCalibrator) mseRange() (float32, float32) {
	w := h.top / float64(h.bins)
	maxAbs := math.Max(-float64(h.lo), float64(h.hi))
	last := min(int(maxAbs/w), h.bins-1)
	qmin, qmax := h.cfg.Range()
	bestErr := math.Inf(1)
	bestLo, bestHi := h.lo, h.hi
	for k := 1; k <= last+1; k++ {
		t := float32(float64(k) * w)
		lo, hi := max(-t, h.lo), min(t, h.hi)
		if k == last+1 {
			lo, hi = h.lo, h.hi
		}
		scale, zp := h.cfg.qparams(lo, hi, qmin, qmax)
		s := float64(scale)
		rlo, rhi := float64(qmin-zp)*s, float64(qmax-zp)*s
		e2 := s * s / 12
		var err float64
		for i := 0; i <= last; i++ {
			c := (float64(i) + 0.5) * w
			if n := h.pos[i]; n > 0 {
				err += n * binErr(c, rlo, rhi, e2)
			}
			if n := h.neg[i]; n > 0 {
				err += n * binErr(-c, rlo, rhi, e2)
			}
		}
		if err < bestErr {
			bestErr, bestLo, bestHi = err, lo, hi
		}
	}
	return bestLo, bestHi
}

func binErr(c, lo, hi, inRange float64) float64 {
	switch {
	case c < lo:
		return (lo - c) * (lo - c)
	case c > hi:
		return (c - hi) * (c - hi)
	}
	return inRange
}

// entropyThreshold is TensorRT's entropy calibration (Migacz, "8-bit
// Inference with TensorRT", GTC 2017) on the histogram of |x|, corrected
// for one-sided (post-ReLU, [0, 1] input) data; the threshold is in the
// units of x. For each candidate count i of kept bins from nq (see
// entropyLevels) to the last non-empty bin, the reference P is the first i
// bins with all outliers added to bin i-1, the candidate Q maps bin k to
// level k·nq/i (levels of ⌊i/nq⌋ or ⌈i/nq⌉ bins, as pytorch-quantization's
// linspace does, rather than piling the remainder onto the last level) and
// spreads each level's count uniformly over its non-empty source bins; both
// are smoothed as MXNet's _smooth_distribution (eps = 1e-4 moved onto empty
// bins) and the threshold is the upper edge of bin i for the i with the
// smallest KL(P‖Q), the largest such i on ties.
//
// Exact zeros are left out of P and Q. Every preset represents 0.0 exactly
// (zero point nudged or symmetric), so they are quantized without error
// whatever the threshold; kept in bin 0 they form a spike that Q's uniform
// spreading cannot reproduce once a level spans several bins, which made the
// search favour i ≈ nq, i.e. clipping a ReLU output (half zeros) or an MNIST
// image (80 % zeros) to nq/Bins of the histogram range: the reported 0.996
// and 0.50 thresholds. pytorch-quantization's _compute_amax_entropy drops
// the same spike (bins[0] = bins[1]).
func (h *HistogramCalibrator) entropyThreshold() float64 {
	w := h.top / float64(h.bins)
	hist := make([]float64, h.bins)
	nb := 0
	for i := range hist {
		hist[i] = h.pos[i] + h.neg[i]
		if hist[i] > 0 {
			nb = i + 1
		}
	}
	hist[0] = max(hist[0]-h.exact0, 0)
	nq := h.entropyLevels()
	if nb <= nq {
		return float64(nb) * w
	}
	total := 0.0
	for _, c := range hist[:nb] {
		total += c
	}
	if total == 0 {
		return float64(nb) * w
	}
	p := make([]float64, nb)
	q := make([]float64, nb)
	best, bestI := math.Inf(1), nb
	kept := 0.0
	for _, c := range hist[:nq-1] {
		kept += c
	}
	for i := nq; i <= nb; i++ {
		kept += hist[i-1]
		copy(p, hist[:i])
		p[i-1] += total - kept
		// Level l holds the bins k with k·nq/i == l: k in
		// [⌈l·i/nq⌉, ⌈(l+1)·i/nq⌉).
		start := 0
		for l := 1; l <= nq; l++ {
			end := (l*i + nq - 1) / nq
			sum, nonzero := 0.0, 0
			for _, c := range hist[start:end] {
				sum += c
				if c != 0 {
					nonzero++
				}
			}
			for k := start; k < end; k++ {
				q[k] = 0
				if hist[k] != 0 {
					q[k] = sum / float64(nonzero)
				}
			}
			start = end
		}
		d, ok := klSmoothed(p[:i], q[:i])
		if ok && d <= best {
			best, bestI = d, i
		}
	}
	return float64(bestI) * w
}

// entropyLevels returns nq, the number of quantization steps the configured
// quantizer puts over [0, t] for a threshold t: for data seen to be
// one-sided (min >= 0) the range is [0, t] and an affine uint8 quantizer
// spends all 255 steps there (TensorRT's fixed 128 assumes a symmetric
// signed range and so judged every threshold with half the resolution it
// really gets); for two-sided data the |x| histogram is matched against the
// half of the codes on one side of zero (128 for int8, as in TensorRT).
// PowerOfTwoScale is ignored: it rounds the scale up per threshold, which
// the search does not model.
func (h *HistogramCalibrator) entropyLevels() int {
	c := h.cfg
	c.PowerOfTwoScale = false
	qmin, qmax := c.Range()
	lo := float32(-1)
	if h.lo >= 0 {
		lo = 0
	}
	scale, _ := c.qparams(lo, 1, qmin, qmax)
	return max(2, int(math.Round(1/float64(scale))))
}

// klSmoothed returns KL(P‖Q) of two count vectors after MXNet's smoothing;
// ok is false when smoothing is impossible (a distribution is all zero or
// would turn negative), which rules the candidate out.
func klSmoothed(p, q []float64) (float64, bool) {
	const eps = 1e-4
	smooth := func(v []float64) (sum float64, zeros, nonzeros int, eps1 float64, ok bool) {
		for _, x := range v {
			if x == 0 {
				zeros++
			} else {
				nonzeros++
			}
		}
		if nonzeros == 0 {
			return 0, 0, 0, 0, false
		}
		eps1 = eps * float64(zeros) / float64(nonzeros)
		for _, x := range v {
			if x == 0 {
				sum += eps
			} else {
				if x-eps1 <= 0 {
					return 0, 0, 0, 0, false
				}
				sum += x - eps1
			}
		}
		return sum, zeros, nonzeros, eps1, true
	}
	sp, _, _, e1p, ok := smooth(p)
	if !ok {
		return 0, false
	}
	sq, _, _, e1q, ok := smooth(q)
	if !ok {
		return 0, false
	}
	d := 0.0
	for k := range p {
		pk, qk := eps, eps
		if p[k] != 0 {
			pk = p[k] - e1p
		}
		if q[k] != 0 {
			qk = q[k] - e1q
		}
		pk, qk = pk/sp, qk/sq
		d += pk * math.Log(pk/qk)
	}
	return d, true
}

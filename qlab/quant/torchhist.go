package quant

import (
	"fmt"
	"math"
)

// TorchHistogramCalibrator is PyTorch 1.13's HistogramObserver: a histogram
// of Bins bins (default 2048) over the running [min, max], re-binned through
// a 128x upsampled copy when the range grows, and the min/max chosen by the
// L2-norm search ported from caffe2's NormMinimization
// (_non_linear_param_search). Memory: Bins float32 counts plus a transient
// Bins·128·downsample buffer while re-binning.
//
// One deliberate difference: PyTorch 1.13 passes int(min) and int(max) to
// torch.histc, so values outside the truncated range are dropped (fixed in
// PyTorch 2.0); this port bins over the true range. Results agree with
// PyTorch whenever the observed bounds are integers (the oracle vectors),
// to within the float reassociation of the norm sum (see the test).
type TorchHistogramCalibrator struct {
	name     string
	bins     int
	upsample int
	cfg      TensorConfig
	hist     []float32
	lo, hi   float32
	seen     bool
}

// NewTorchHistogram returns an empty PyTorch-style histogram calibrator for
// a tensor quantized with c (c.Calibrator.Bins, 0 meaning 2048).
func NewTorchHistogram(name string, c TensorConfig) *TorchHistogramCalibrator {
	bins := c.Calibrator.Bins
	if bins == 0 {
		bins = 2048
	}
	return &TorchHistogramCalibrator{name: name, bins: bins, upsample: 128, cfg: c, hist: make([]float32, bins)}
}

// Reset forgets everything observed.
func (t *TorchHistogramCalibrator) Reset() {
	clear(t.hist)
	t.seen = false
}

// histc adds torch.histc(x, bins, lo, hi) to dst: bin
// int((v-lo)*bins/(hi-lo)) in float32, the last bin closed, values outside
// [lo, hi] ignored, and a degenerate range widened to [lo-1, hi+1].
func histc(dst []float32, x []float32, lo, hi float32) {
	if lo == hi {
		lo, hi = lo-1, hi+1
	}
	n := len(dst)
	width := hi - lo
	for _, v := range x {
		if !(v >= lo && v <= hi) {
			continue
		}
		b := int(float32(float32(v-lo)*float32(n)) / width)
		if b >= n {
			b = n - 1
		}
		dst[b]++
	}
}

// Observe adds x, following HistogramObserver.forward.
func (t *TorchHistogramCalibrator) Observe(x []float32) error {
	if len(x) == 0 {
		return nil
	}
	lo, hi, err := batchMinMax(t.name, x)
	if err != nil {
		return err
	}
	if !t.seen || t.lo == t.hi {
		t.lo, t.hi, t.seen = lo, hi, true
		clear(t.hist)
		histc(t.hist, x, lo, hi)
		return nil
	}
	cmin, cmax := min(lo, t.lo), max(hi, t.hi)
	// _adjust_min_max, in float32 tensor arithmetic.
	hbw := float32(t.hi-t.lo) / float32(t.bins*t.upsample)
	span := float32(float32(t.bins) * hbw)
	ds := int(math.Ceil(float64(float32(cmax-cmin) / span)))
	e := float32(float32(float32(ds)*span) - float32(cmax-cmin))
	cmax += e
	start := int(math.RoundToEven(float64(float32(t.lo-cmin) / hbw)))
	combined := make([]float32, t.bins)
	histc(combined, x, cmin, cmax)
	if cmin == t.lo && cmax == t.hi {
		for i, c := range t.hist {
			combined[i] += c
		}
	} else {
		// _combine_histograms: upsample the old histogram, place it at
		// start in the new range, integrate in float64 and sample every
		// ds-th upsampled bin.
		up := make([]float64, t.bins*ds)
		for i, c := range t.hist {
			for k := 0; k < t.upsample; k++ {
				if j := start + i*t.upsample + k; j >= 0 && j < len(up) {
					up[j] = float64(c)
				}
			}
		}
		cum, prev := 0.0, 0.0
		for i := 0; i < t.bins; i++ {
			for k := i * ds; k < (i+1)*ds; k++ {
				cum += up[k]
			}
			combined[i] += float32((cum - prev) / float64(t.upsample))
			prev = cum
		}
	}
	t.hist, t.lo, t.hi = combined, cmin, cmax
	return nil
}

// Range returns the min and max selected by the norm search.
func (t *TorchHistogramCalibrator) Range() (float32, float32, error) {
	if !t.seen {
		return 0, 0, fmt.Errorf("%w: calibrator %q", ErrNoData, t.name)
	}
	startBin, endBin := t.search()
	bw := float32(t.hi-t.lo) / float32(t.bins)
	lo := t.lo + float32(bw*float32(startBin))
	hi := t.lo + float32(bw*float32(endBin+1))
	return lo, hi, nil
}

// search is _non_linear_param_search: shrink [start, end] one quantile step
// (1e-5 of the mass) at a time from whichever side frees more bins, while
// the L2 quantization error keeps decreasing.
func (t *TorchHistogramCalibrator) search() (int, int) {
	total := 0.0
	csum := make([]float32, t.bins)
	acc := 0.0
	for i, c := range t.hist {
		acc += float64(c)
		csum[i] = float32(acc)
	}
	total = float64(float32(acc))
	const step = 1e-5
	alpha, beta := 0.0, 1.0
	start, end := 0, t.bins-1
	normMin := math.Inf(1)
	for alpha < beta {
		na, nbeta := alpha+step, beta-step
		l, r := start, end
		for l < end && csum[l] < float32(na*total) {
			l++
		}
		for r > start && csum[r] > float32(nbeta*total) {
			r--
		}
		ns, ne := start, end
		if l-start > end-r {
			ns, alpha = l, na
		} else {
			ne, beta = r, nbeta
		}
		if ns == start && ne == end {
			continue
		}
		norm := t.quantError(ns, ne)
		if norm > normMin {
			break
		}
		normMin, start, end = norm, ns, ne
	}
	return start, end
}

// quantError is _compute_quantization_error: the L2 error of mapping each
// source bin, as a uniform density, onto dst bins (2^Bits of them, PyTorch's
// dst_nbins) spanning source bins [s, e].
func (t *TorchHistogramCalibrator) quantError(s, e int) float64 {
	bw := (float64(t.hi) - float64(t.lo)) / float64(t.bins)
	dstBins := float64(int(1) << t.cfg.bits())
	dw := bw * float64(e-s+1) / dstBins
	if dw == 0 {
		return 0
	}
	norm := func(a, b, density float64) float64 { return density * (b*b*b - a*a*a) / 3 }
	sum := 0.0
	for i, c := range t.hist {
		if c == 0 {
			continue
		}
		begin := float64(i-s) * bw
		end := begin + bw
		db := min(max(math.Floor(begin/dw), 0), dstBins-1)
		de := min(max(math.Floor(end/dw), 0), dstBins-1)
		density := float64(c) / bw
		n := norm(begin-(db+0.5)*dw, dw/2, density)
		n += (de - db - 1) * norm(-dw/2, dw/2, density)
		n += norm(-dw/2, end-(de*dw+dw/2), density)
		sum += n
	}
	return sum
}

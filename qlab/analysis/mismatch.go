package analysis

import (
	"fmt"
	"math"
	"slices"
)

// MismatchOptions configure ChannelMismatch. The zero value includes 0 in
// every range, as affine quantizers do (their range always contains 0).
type MismatchOptions struct {
	// ExcludeZero uses the raw [min, max] of each channel and of the tensor
	// instead of stretching them to contain 0.
	ExcludeZero bool
}

// Mismatch summarises how far per-channel ranges fall short of the
// per-tensor range of one layer: the cost of per-tensor quantization.
type Mismatch struct {
	Channels    int
	TensorRange float64
	// RatioMin/Median/Max summarise channel range / tensor range (1 = the
	// channel uses the whole per-tensor grid).
	RatioMin, RatioMedian, RatioMax float64
	// BitsLost* summarise log2(tensor range / channel range) over channels
	// with a non-zero range: the bits of resolution a channel gives up when
	// it shares the per-tensor grid.
	BitsLostMean, BitsLostMedian, BitsLostMax float64
	// ZeroRange counts channels whose range is 0 (constant, e.g. dead ReLU
	// channels); they lose all resolution and are left out of the BitsLost
	// summaries.
	ZeroRange int
}

// ChannelRanges returns each channel's range (max - min, or with 0
// included unless opts.ExcludeZero) and the tensor range.
func ChannelRanges(mins, maxs []float64, opts MismatchOptions) (ranges []float64, tensorRange float64, err error) {
	if len(mins) != len(maxs) || len(mins) == 0 {
		return nil, 0, fmt.Errorf("analysis: channel ranges: %d minima and %d maxima", len(mins), len(maxs))
	}
	tlo, thi := math.Inf(1), math.Inf(-1)
	ranges = make([]float64, len(mins))
	for c := range mins {
		lo, hi := mins[c], maxs[c]
		if math.IsNaN(lo) || math.IsNaN(hi) || lo > hi {
			return nil, 0, fmt.Errorf("analysis: channel ranges: channel %d has bad range [%v, %v]", c, lo, hi)
		}
		if !opts.ExcludeZero {
			lo, hi = min(lo, 0), max(hi, 0)
		}
		ranges[c] = hi - lo
		tlo, thi = min(tlo, lo), max(thi, hi)
	}
	return ranges, thi - tlo, nil
}

// BitsLost returns log2(tensorRange / channelRange) per channel (+Inf for a
// zero-range channel).
func BitsLost(ranges []float64, tensorRange float64) []float64 {
	out := make([]float64, len(ranges))
	for i, r := range ranges {
		out[i] = math.Log2(tensorRange / r)
	}
	return out
}

// ChannelMismatch summarises the per-channel ranges [mins[c], maxs[c]] of
// one layer against its per-tensor range.
func ChannelMismatch(mins, maxs []float64, opts MismatchOptions) (Mismatch, error) {
	ranges, tr, err := ChannelRanges(mins, maxs, opts)
	if err != nil {
		return Mismatch{}, err
	}
	m := Mismatch{Channels: len(ranges), TensorRange: tr}
	if tr == 0 {
		m.ZeroRange = len(ranges)
		m.RatioMin, m.RatioMedian, m.RatioMax = math.NaN(), math.NaN(), math.NaN()
		m.BitsLostMean, m.BitsLostMedian, m.BitsLostMax = math.NaN(), math.NaN(), math.NaN()
		return m, nil
	}
	ratios := make([]float64, len(ranges))
	var bits []float64
	for i, r := range ranges {
		ratios[i] = r / tr
		if r > 0 {
			bits = append(bits, math.Log2(tr/r))
		} else {
			m.ZeroRange++
		}
	}
	slices.Sort(ratios)
	m.RatioMin, m.RatioMedian, m.RatioMax = ratios[0], median(ratios), ratios[len(ratios)-1]
	if len(bits) == 0 {
		m.BitsLostMean, m.BitsLostMedian, m.BitsLostMax = math.NaN(), math.NaN(), math.NaN()
		return m, nil
	}
	slices.Sort(bits)
	var s float64
	for _, b := range bits {
		s += b
	}
	m.BitsLostMean, m.BitsLostMedian, m.BitsLostMax = s/float64(len(bits)), median(bits), bits[len(bits)-1]
	return m, nil
}

// median of a sorted, non-empty slice.
func median(s []float64) float64 {
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

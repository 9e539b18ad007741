package analysis

import (
	"fmt"
	"math"
	"slices"
)

// coarseShift selects how many float32 bits index a channel's coarse
// histogram: the sign, the 8 exponent bits and the top 2 mantissa bits
// (32-21 = 11 bits, 2,048 buckets, 16 KiB of int64 counts per channel). A
// bucket spans a relative width of at most 2^-2 of its lower magnitude, so
// a per-channel percentile read from it is within CoarseRelativeError of
// the true one, whatever the channel's scale.
const (
	coarseShift   = 21
	coarseBuckets = 1 << (32 - coarseShift)
)

// CoarseRelativeError is the worst-case relative error (2^-2) of
// per-channel percentiles once a channel has outgrown its exact buffer
// (Options.ChannelExactBuffer): they are then read from a 2,048-bucket
// histogram over the float32 bit pattern. While the buffer holds every
// value of the channel they are exact.
const CoarseRelativeError = 0x1p-2

// DefaultChannelExactBuffer is the number of values per channel kept
// verbatim by default when Options.ChannelPercentiles is set (1 KiB per
// channel).
const DefaultChannelExactBuffer = 256

// chanDist is one channel's distribution for percentiles: its values
// verbatim while they fit the buffer, then coarse-histogram counts. Only
// the counts (integers) and the value multiset (sorted before use) are
// kept, so the result does not depend on how the stream was chunked.
type chanDist struct {
	exact  []float32
	coarse []int64 // non-nil once the exact buffer overflowed
}

// add feeds one chunk of the channel; limit is the exact-buffer capacity.
func (d *chanDist) add(x []float32, limit int) {
	if d.coarse == nil && len(d.exact)+len(x) <= limit {
		d.exact = append(d.exact, x...)
		return
	}
	d.toCoarse()
	for _, v := range x {
		d.coarse[math.Float32bits(v)>>coarseShift]++
	}
}

// toCoarse moves the verbatim values into the coarse histogram.
func (d *chanDist) toCoarse() {
	if d.coarse != nil {
		return
	}
	d.coarse = make([]int64, coarseBuckets)
	for _, v := range d.exact {
		d.coarse[math.Float32bits(v)>>coarseShift]++
	}
	d.exact = nil
}

// merge folds b into d.
func (d *chanDist) merge(b *chanDist, limit int) {
	if b.coarse == nil {
		d.add(b.exact, limit)
		return
	}
	d.toCoarse()
	for i, c := range b.coarse {
		d.coarse[i] += c
	}
}

// percentiles returns the channel's percentiles given its moments m (for
// the count and the extremes that clamp the coarse buckets).
func (d *chanDist) percentiles(m Moments, ps []float64) []float64 {
	if d.coarse == nil {
		sorted := slices.Clone(d.exact)
		slices.Sort(sorted)
		return percentilesOf(ps, m.N, sorted, nil)
	}
	return percentilesOf(ps, m.N, nil, orderedBuckets(d.coarse, coarseShift, m.Min, m.Max))
}

// ChannelPercentiles returns percentiles (0 ≤ p ≤ 100, NumPy "linear"
// interpolation) of channel c, as Percentiles does for the whole stream:
// exact while ChannelExact(c) holds, else within CoarseRelativeError of
// the true value relative to its magnitude. NaN when the accumulator keeps
// no per-channel percentiles (Options.ChannelPercentiles unset), c is out
// of range, the channel is empty or p is out of range.
func (a *Accumulator) ChannelPercentiles(c int, ps ...float64) []float64 {
	if c < 0 || c >= len(a.cdist) || c >= len(a.chans) {
		out := make([]float64, len(ps))
		for i := range out {
			out[i] = math.NaN()
		}
		return out
	}
	return a.cdist[c].percentiles(a.chans[c], ps)
}

// ChannelExact reports whether channel c still holds every value verbatim,
// so that its ChannelPercentiles are exact.
func (a *Accumulator) ChannelExact(c int) bool {
	return c >= 0 && c < len(a.cdist) && a.cdist[c].coarse == nil
}

// addChannelDists feeds x viewed as outer × channels × inner into the
// per-channel distributions.
func (a *Accumulator) addChannelDists(x []float32, outer, channels, inner int) {
	if a.cdist == nil {
		a.cdist = make([]chanDist, channels)
	}
	for n := range outer {
		for c := range channels {
			off := (n*channels + c) * inner
			a.cdist[c].add(x[off:off+inner], a.opts.ChannelExactBuffer)
		}
	}
}

// ChannelHistogram returns channel c's counts over b (needs
// Options.ChannelPercentiles): exact while ChannelExact(c) holds, else
// rebinned from the coarse histogram, each bucket (clamped to the
// channel's extremes) counted in the bin holding its centre, so values
// within CoarseRelativeError of a bin edge may land one bin off.
func (a *Accumulator) ChannelHistogram(c int, b Bins) (*Histogram, error) {
	if c < 0 || c >= len(a.cdist) || c >= len(a.chans) {
		return nil, fmt.Errorf("analysis: channel histogram: no distribution kept for channel %d (%d channels, ChannelPercentiles %v)", c, len(a.cdist), a.opts.ChannelPercentiles)
	}
	h, err := NewHistogram(b)
	if err != nil {
		return nil, err
	}
	d, m := &a.cdist[c], a.chans[c]
	if d.coarse == nil {
		h.Add(d.exact)
		return h, nil
	}
	for _, fb := range orderedBuckets(d.coarse, coarseShift, m.Min, m.Max) {
		switch i := b.index((fb.lo + fb.hi) / 2); {
		case i < 0:
			h.Under += fb.n
		case i >= b.N:
			h.Over += fb.n
		default:
			h.Counts[i] += fb.n
		}
	}
	return h, nil
}

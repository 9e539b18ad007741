package analysis

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/qlab-dev/qlab/qlab/tensor"
)

// DefaultExactBuffer is the number of values an Accumulator keeps verbatim
// by default (16 KiB), so small tensors get exact percentiles and histograms.
const DefaultExactBuffer = 4096

// Options configure an Accumulator. The zero value keeps DefaultExactBuffer
// values verbatim, builds no fixed histogram and no per-channel statistics.
type Options struct {
	// ExactBuffer is how many values to keep verbatim for exact percentiles
	// and histograms while the stream is short. 0 means DefaultExactBuffer;
	// negative keeps none.
	ExactBuffer int
	// Bins, when Bins.N > 0, also accumulates an exact histogram over these
	// fixed bins (needed when the data range must be known in advance, e.g.
	// bins shared across models).
	Bins Bins
	// PerChannel makes AddTensor also keep moments and extremes per channel
	// (axis 1 of an N×C×... tensor; for rank 1 there is one channel).
	PerChannel bool
	// ChannelPercentiles, with PerChannel, also keeps each channel's
	// distribution so ChannelPercentiles and ChannelHistogram can answer:
	// the values verbatim up to ChannelExactBuffer per channel, then a
	// 2,048-bucket histogram over the float32 bit pattern (16 KiB per
	// channel, CoarseRelativeError). Off by default: it costs a second
	// pass over the data.
	ChannelPercentiles bool
	// ChannelExactBuffer is how many values per channel ChannelPercentiles
	// keeps verbatim. 0 means DefaultChannelExactBuffer; negative keeps
	// none.
	ChannelExactBuffer int
}

// Accumulator summarises a float32 stream fed chunk by chunk, in memory
// bounded independently of the stream length: float64 central moments,
// extremes, a fine histogram over the float32 bit pattern (for percentiles
// and automatic histograms), optionally a fixed-bin histogram and
// per-channel moments. Feeding the same values in different chunkings gives
// the same histogram counts exactly and the same moments to rounding.
type Accumulator struct {
	opts    Options
	m       Moments
	fine    []int64
	exact   []float32
	exactOK bool // exact holds every value seen
	hist    *Histogram
	chans   []Moments
	cdist   []chanDist // per-channel distributions (Options.ChannelPercentiles)
	scratch []Moments  // per-channel moments of the AddChannels call
	scans   []channelScan
	keys    *keyBuffer // fine-histogram keys of the block being counted
	fineAux []int64    // the helper goroutine's fine histogram, kept zero between calls
	keysAux *keyBuffer // the helper goroutine's keys
}

// NewAccumulator returns an empty accumulator; it fails only on bad
// Options.Bins.
func NewAccumulator(opts Options) (*Accumulator, error) {
	if opts.ExactBuffer == 0 {
		opts.ExactBuffer = DefaultExactBuffer
	}
	if opts.ChannelExactBuffer == 0 {
		opts.ChannelExactBuffer = DefaultChannelExactBuffer
	}
	a := &Accumulator{opts: opts, fine: make([]int64, fineBuckets), keys: new(keyBuffer), exactOK: true}
	if opts.ExactBuffer > 0 {
		a.exact = make([]float32, 0, opts.ExactBuffer)
	} else {
		a.exactOK = false
	}
	if opts.Bins.N != 0 {
		h, err := NewHistogram(opts.Bins)
		if err != nil {
			return nil, err
		}
		a.hist = h
	}
	return a, nil
}

// Add feeds one chunk. Non-finite values are an error naming the element;
// the accumulator is unchanged then.
func (a *Accumulator) Add(x []float32) error {
	if len(x) == 0 {
		return nil
	}
	// x is one channel of one sample: after the first chunk, one pass of
	// power sums about the running mean (see summariseChannels).
	var sc [1]Moments
	var st [1]channelScan
	if summariseChannels(x, 1, 1, len(x), sc[:], []Moments{a.m}, st[:], 0, a.fine, a.keys) {
		unFine(x, a.fine)
		return nonFinite(x, 0)
	}
	a.m.Merge(sc[0])
	a.addRest(x)
	return nil
}

// addRest updates the exact buffer and the fixed histogram.
func (a *Accumulator) addRest(x []float32) {
	if a.exactOK {
		if len(a.exact)+len(x) <= cap(a.exact) {
			a.exact = append(a.exact, x...)
		} else {
			a.exactOK = false
			a.exact = nil
		}
	}
	if a.hist != nil {
		a.hist.Add(x)
	}
}

// sumMinMaxGo returns the float64 sum and the extremes of x (non-empty).
// Two partial sums (even and odd elements) halve the add latency chain;
// the order is fixed, so results are deterministic.
func sumMinMaxGo(x []float32) (s float64, lo, hi float32) {
	var s0, s1 float64
	lo, hi = x[0], x[0]
	n2 := len(x) &^ 1
	for i := 0; i < n2; i += 2 {
		a, b := x[i], x[i+1]
		s0 += float64(a)
		s1 += float64(b)
		lo = min32(lo, min32(a, b))
		hi = max32(hi, max32(a, b))
	}
	if n2 < len(x) {
		v := x[n2]
		s0 += float64(v)
		lo, hi = min32(lo, v), max32(hi, v)
	}
	return s0 + s1, lo, hi
}

// centralSumsGo returns Σd², Σd³, Σd⁴ with d = x - mean, in float64, with
// two partial sums each.
func centralSumsGo(x []float32, mean float64) (m2, m3, m4 float64) {
	var a2, a3, a4, b2, b3, b4 float64
	n2 := len(x) &^ 1
	for i := 0; i < n2; i += 2 {
		d := float64(x[i]) - mean
		e := float64(x[i+1]) - mean
		d2, e2 := d*d, e*e
		a2 += d2
		b2 += e2
		a3 += d2 * d
		b3 += e2 * e
		a4 += d2 * d2
		b4 += e2 * e2
	}
	if n2 < len(x) {
		d := float64(x[n2]) - mean
		d2 := d * d
		a2 += d2
		a3 += d2 * d
		a4 += d2 * d2
	}
	return a2 + b2, a3 + b3, a4 + b4
}

// min32 and max32 skip the NaN handling of the min/max builtins: NaN is
// rejected through the sum anyway.
func min32(a, b float32) float32 {
	if b < a {
		return b
	}
	return a
}

func max32(a, b float32) float32 {
	if b > a {
		return b
	}
	return a
}

// parallelMin is the input size (values) from which AddChannels splits
// the work across two goroutines; below it the hand-off costs more than it
// saves.
const parallelMin = 1 << 15

// powerSums are Σd, Σd², Σd³, Σd⁴ of d = x - shift over some values.
type powerSums struct{ s1, s2, s3, s4 float64 }

// maxShiftRatio2 bounds (mean-shift)²/mean((x-shift)²) for central
// moments derived from powerSums. Within it the subtracted terms are at
// most 1/8 of the sums they are subtracted from (for M3, 3/8 of Σ|d|³ at
// most), so the rounding error stays of the order of that of summing the
// central powers directly; a shift farther from the mean falls back to a
// second pass about the mean.
const maxShiftRatio2 = 1.0 / 64

// shiftedSumsGo adds the power sums of x - shift to p and returns the
// extremes of x (non-empty).
func shiftedSumsGo(x []float32, shift float64, p *powerSums) (lo, hi float32) {
	var s1, s2, s3, s4 float64
	lo, hi = x[0], x[0]
	for _, v := range x {
		d := float64(v) - shift
		d2 := d * d
		s1 += d
		s2 += d2
		s3 += d2 * d
		s4 += d2 * d2
		lo, hi = min32(lo, v), max32(hi, v)
	}
	p.s1 += s1
	p.s2 += s2
	p.s3 += s3
	p.s4 += s4
	return lo, hi
}

// scanShifted is scanChunk with the power sums of x - shift (added to p)
// in place of the plain sum.
func scanShifted(x []float32, shift float64, p *powerSums, fine *fineTable, keys *keyBuffer) (lo, hi float32) {
	lo, hi = x[0], x[0]
	for len(x) > 0 {
		b := x[:min(len(x), keyBlock)]
		x = x[len(b):]
		blo, bhi := shiftedSumsFine(b, shift, p, fine, keys)
		lo, hi = min32(lo, blo), max32(hi, bhi)
	}
	return lo, hi
}

// central returns the mean and central sums of the n values p was built
// from, or ok false when shift is too far from their mean (see
// maxShiftRatio2).
func (p powerSums) central(n int, shift float64) (mean, m2, m3, m4 float64, ok bool) {
	nf := float64(n)
	dl := p.s1 / nf
	d2 := dl * dl
	if !(d2 <= maxShiftRatio2*(p.s2/nf)) {
		return 0, 0, 0, 0, false
	}
	m2 = p.s2 - nf*d2
	m3 = p.s3 - 3*dl*p.s2 + 2*nf*d2*dl
	m4 = p.s4 - 4*dl*p.s3 + 6*d2*p.s2 - 3*nf*d2*d2
	return shift + dl, m2, m3, m4, true
}

// summariseChannels fills sc[j] with the moments of channel first+j of x
// viewed as outer × channels × inner: a pass over the channel's outer
// chunks for sum, extremes and fine-histogram counts, then one for central
// sums about the channel's mean. When the channel has been seen before
// (prev[j], its moments so far, is not empty), the first pass computes
// power sums about prev[j].Mean instead, and the second pass is skipped
// unless this batch's mean has moved too far from it (maxShiftRatio2):
// activations of one channel keep their distribution from batch to batch.
// One Moments per channel rather than per
// (sample, channel) chunk keeps the merges (tens of flops and two
// divisions each) off the per-chunk path: RefNet-S has chunks of 16 and 64
// values. Every channel is counted into fine even after a non-finite one,
// so the caller can undo the counts over the whole channel range. It
// reports whether any channel held a NaN or Inf.
func summariseChannels(x []float32, outer, channels, inner int, sc, prev []Moments, st []channelScan, first int, fine []int64, keys *keyBuffer) (bad bool) {
	ft := (*fineTable)(fine)
	stride := channels * inner
	cnt := outer * inner
	for j := range st {
		v := x[(first+j)*inner]
		st[j] = channelScan{lo: v, hi: v}
	}
	// The first pass walks x in memory order, so that the hardware
	// prefetchers see one stream per sample instead of a jump every chunk.
	for n := range outer {
		base := n*stride + first*inner
		for j := range sc {
			chunk := x[base+j*inner : base+(j+1)*inner]
			c := &st[j]
			var lo, hi float32
			if prev[j].N == 0 {
				var s float64
				s, lo, hi = scanChunk(chunk, ft, keys)
				c.p.s1 += s
			} else {
				lo, hi = scanShifted(chunk, prev[j].Mean, &c.p, ft, keys)
			}
			c.lo, c.hi = min32(c.lo, lo), max32(c.hi, hi)
		}
	}
	for j := range sc {
		c := &st[j]
		// A NaN or Inf anywhere makes the float64 sum NaN or Inf (float32
		// values cannot overflow it), so one test covers the channel; it
		// must come first, as central would accept an infinite Σd.
		if math.IsNaN(c.p.s1) || math.IsInf(c.p.s1, 0) {
			bad = true
			continue
		}
		if prev[j].N > 0 {
			if mean, m2, m3, m4, ok := c.p.central(cnt, prev[j].Mean); ok {
				sc[j] = Moments{N: int64(cnt), Min: float64(c.lo), Max: float64(c.hi), Mean: mean, M2: m2, M3: m3, M4: m4}
				continue
			}
		}
		s := c.p.s1
		if prev[j].N > 0 {
			// The shift was too far: Σd + n·shift would lose digits of the
			// mean, so take the plain sum again, as the first pass of the
			// two-pass path does.
			s = 0
			for n := range outer {
				off := n*stride + (first+j)*inner
				cs, _, _ := sumMinMax(x[off : off+inner])
				s += cs
			}
		}
		mean := s / float64(cnt)
		var m2, m3, m4 float64
		for n := range outer {
			off := n*stride + (first+j)*inner
			t2, t3, t4 := centralSums(x[off:off+inner], mean)
			m2, m3, m4 = m2+t2, m3+t3, m4+t4
		}
		sc[j] = Moments{N: int64(cnt), Min: float64(c.lo), Max: float64(c.hi), Mean: mean, M2: m2, M3: m3, M4: m4}
	}
	return bad
}

// channelScan is one channel's first-pass state in summariseChannels.
type channelScan struct {
	p      powerSums
	lo, hi float32
}

// unFineChannels undoes the fine counts of channels [c0, c1) of x viewed
// as outer × channels × inner.
func unFineChannels(x []float32, outer, channels, inner, c0, c1 int, fine []int64) {
	for n := range outer {
		off := (n*channels + c0) * inner
		unFine(x[off:off+(c1-c0)*inner], fine)
	}
}

func unFine(x []float32, fine []int64) {
	for _, v := range x {
		fine[math.Float32bits(v)>>fineShift]--
	}
}

// nonFinite returns the error naming the first NaN/Inf of x (off is the
// index of x[0] in the caller's data).
func nonFinite(x []float32, off int) error {
	for i, v := range x {
		if b := math.Float32bits(v); b&0x7f800000 == 0x7f800000 {
			return fmt.Errorf("analysis: element %d is %v", off+i, v)
		}
	}
	return fmt.Errorf("analysis: non-finite data")
}

// AddTensor feeds a whole tensor. With Options.PerChannel, axis 1 is the
// channel axis (N×C×H×W, N×C); a rank-1 tensor is one channel. The number of
// channels must not change between calls.
func (a *Accumulator) AddTensor(t *tensor.Tensor) error {
	if t == nil {
		return fmt.Errorf("analysis: nil tensor")
	}
	if len(t.Data) != tensor.Size(t.Shape) {
		return fmt.Errorf("analysis: tensor shape %v does not hold %d elements", t.Shape, len(t.Data))
	}
	if !a.opts.PerChannel {
		return a.Add(t.Data)
	}
	nb, nc := 1, 1
	if len(t.Shape) >= 2 {
		nb, nc = t.Shape[0], t.Shape[1]
	}
	if err := a.AddChannels(t.Data, nb, nc); err != nil {
		return fmt.Errorf("analysis: tensor %v: %w", t.Shape, err)
	}
	return nil
}

// AddChannels feeds x viewed as outer × channels × inner (inner =
// len(x)/(outer·channels)), keeping per-channel moments along the middle
// axis: (N, C, H·W) for activations, (1, Cout, rest) for weights whose
// output channel is axis 0. The channel count must not change between
// calls. Non-finite values are an error naming the element; nothing is
// updated then.
func (a *Accumulator) AddChannels(x []float32, outer, channels int) error {
	if outer <= 0 || channels <= 0 || len(x)%(outer*channels) != 0 {
		return fmt.Errorf("analysis: %d values do not split into %d × %d channels", len(x), outer, channels)
	}
	if a.chans == nil {
		a.chans = make([]Moments, channels)
	} else if len(a.chans) != channels {
		return fmt.Errorf("analysis: %d channels; earlier data had %d", channels, len(a.chans))
	}
	if len(x) == 0 {
		return nil
	}
	inner := len(x) / (outer * channels)
	if cap(a.scratch) < channels {
		a.scratch = make([]Moments, channels)
	}
	sc := a.scratch[:channels]
	if cap(a.scans) < channels {
		a.scans = make([]channelScan, channels)
	}
	st := a.scans[:channels]
	// Summarise every channel before merging any, so a NaN leaves every
	// statistic untouched. Large inputs split the channels between this
	// goroutine and a helper with its own fine histogram (folded in
	// afterwards): the merge order below is fixed, so results do not
	// depend on the split.
	if half := channels / 2; len(x) >= parallelMin && runtime.GOMAXPROCS(0) > 1 && half > 0 {
		if a.fineAux == nil {
			a.fineAux = make([]int64, fineBuckets)
			a.keysAux = new(keyBuffer)
		}
		var wg sync.WaitGroup
		var badAux bool
		wg.Add(1)
		go func() {
			defer wg.Done()
			badAux = summariseChannels(x, outer, channels, inner, sc[half:], a.chans[half:], st[half:], half, a.fineAux, a.keysAux)
		}()
		bad := summariseChannels(x, outer, channels, inner, sc[:half], a.chans[:half], st[:half], 0, a.fine, a.keys)
		wg.Wait()
		if bad || badAux {
			unFineChannels(x, outer, channels, inner, 0, half, a.fine)
			unFineChannels(x, outer, channels, inner, half, channels, a.fineAux)
			return nonFinite(x, 0)
		}
		for i, c := range a.fineAux {
			if c != 0 {
				a.fine[i] += c
				a.fineAux[i] = 0
			}
		}
	} else if summariseChannels(x, outer, channels, inner, sc, a.chans, st, 0, a.fine, a.keys) {
		unFine(x, a.fine)
		return nonFinite(x, 0)
	}
	var all Moments
	for i, c := range sc {
		a.chans[i].Merge(c)
		all.Merge(c)
	}
	a.m.Merge(all)
	a.addRest(x)
	if a.opts.ChannelPercentiles {
		a.addChannelDists(x, outer, channels, inner)
	}
	return nil
}

// Merge folds b (built with the same Options) into a, as if b's values had
// been fed to a after its own. Per-channel moments merge when both have the
// same channel count.
func (a *Accumulator) Merge(b *Accumulator) error {
	if a.hist != nil && (b.hist == nil || b.hist.Bins != a.hist.Bins) {
		return fmt.Errorf("analysis: merge: fixed bins differ (%+v vs %+v)", a.opts.Bins, b.opts.Bins)
	}
	if a.chans != nil && b.chans != nil && len(a.chans) != len(b.chans) {
		return fmt.Errorf("analysis: merge: %d channels vs %d", len(a.chans), len(b.chans))
	}
	a.m.Merge(b.m)
	for i, c := range b.fine {
		a.fine[i] += c
	}
	if a.exactOK {
		if b.exactOK && len(a.exact)+len(b.exact) <= cap(a.exact) {
			a.exact = append(a.exact, b.exact...)
		} else {
			a.exactOK, a.exact = false, nil
		}
	}
	if a.hist != nil {
		a.hist.Under += b.hist.Under
		a.hist.Over += b.hist.Over
		for i, c := range b.hist.Counts {
			a.hist.Counts[i] += c
		}
	}
	if b.chans != nil {
		if a.chans == nil {
			a.chans = make([]Moments, len(b.chans))
		}
		for i := range a.chans {
			a.chans[i].Merge(b.chans[i])
		}
	}
	if b.cdist != nil {
		if a.cdist == nil {
			a.cdist = make([]chanDist, len(b.cdist))
		}
		for i := range a.cdist {
			a.cdist[i].merge(&b.cdist[i], a.opts.ChannelExactBuffer)
		}
	}
	return nil
}

// Moments returns the tensor-level moments.
func (a *Accumulator) Moments() Moments { return a.m }

// Count returns the number of values fed.
func (a *Accumulator) Count() int64 { return a.m.N }

// Channels returns the per-channel moments (nil without PerChannel).
func (a *Accumulator) Channels() []Moments { return slices.Clone(a.chans) }

// Exact reports whether every value is still held verbatim, so that
// percentiles, outlier fractions and histograms are exact.
func (a *Accumulator) Exact() bool { return a.exactOK }

// FixedHistogram returns the exact histogram over Options.Bins, or nil when
// none was requested.
func (a *Accumulator) FixedHistogram() *Histogram {
	if a.hist == nil {
		return nil
	}
	h := *a.hist
	h.Counts = slices.Clone(a.hist.Counts)
	return &h
}

// Summary is the one-row description of a stream.
type Summary struct {
	Count                int64
	Min, Max, Mean, Std  float64
	Skewness, Kurtosis   float64 // population skewness, excess kurtosis
	P001, P1, P5, P25    float64 // 0.1st, 1st, 5th, 25th percentiles
	P50, P75, P95, P99   float64
	P999                 float64 // 99.9th percentile
	Range, AbsMax        float64 // Max-Min, max(|Min|, |Max|)
	Outliers3, Outliers6 float64 // fraction beyond 3 and 6 standard deviations
	Exact                bool    // percentiles and outlier fractions are exact
}

// Summary returns all statistics of the stream.
func (a *Accumulator) Summary() Summary {
	m := a.m
	p := a.Percentiles(0.1, 1, 5, 25, 50, 75, 95, 99, 99.9)
	s := Summary{
		Count: m.N, Min: m.Min, Max: m.Max, Mean: m.Mean, Std: m.Std(),
		Skewness: m.Skewness(), Kurtosis: m.Kurtosis(),
		P001: p[0], P1: p[1], P5: p[2], P25: p[3], P50: p[4], P75: p[5], P95: p[6], P99: p[7], P999: p[8],
		Range: m.Max - m.Min, AbsMax: max(math.Abs(m.Min), math.Abs(m.Max)),
		Outliers3: a.OutlierFraction(3), Outliers6: a.OutlierFraction(6),
		Exact: a.exactOK,
	}
	if m.N == 0 {
		s.Min, s.Max, s.Mean, s.Range, s.AbsMax = math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN()
	}
	return s
}

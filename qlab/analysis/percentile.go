package analysis

import (
	"math"
	"slices"
)

// fineShift selects how many float32 bits index the fine histogram: the
// sign, the 8 exponent bits and the top 7 mantissa bits (32-16 = 16 bits,
// 65,536 buckets, 512 KiB of int64 counts). A bucket spans a relative width
// of at most 2^-7, so any value read back from it (a percentile, a bin edge
// decision) is within 0.79% of the true value relative to its magnitude,
// whatever the data's scale, with memory independent of the stream length.
const (
	fineShift   = 16
	fineBuckets = 1 << (32 - fineShift)
)

// fineTable is the fine histogram as the counting loops see it: an array,
// so the 16-bit keys index it without bounds checks.
type fineTable = [fineBuckets]int64

// keyBlock is how many values the SIMD kernel turns into fine-histogram
// keys per call; a keyBuffer holds one block's keys plus the 16 lanes the
// kernel may store past the last key kept.
const keyBlock = 4096

type keyBuffer [keyBlock + 16]uint32

// countFine adds x to the fine histogram one value at a time (the
// portable path and the tails of the SIMD one).
func countFine(x []float32, fine *fineTable) {
	for _, v := range x {
		fine[math.Float32bits(v)>>fineShift]++
	}
}

// scanChunk returns the float64 sum and the extremes of x (non-empty) and
// counts x into fine, in blocks of keyBlock values.
func scanChunk(x []float32, fine *fineTable, keys *keyBuffer) (s float64, lo, hi float32) {
	lo, hi = x[0], x[0]
	for len(x) > 0 {
		b := x[:min(len(x), keyBlock)]
		x = x[len(b):]
		bs, blo, bhi := sumMinMaxFine(b, fine, keys)
		s += bs
		lo, hi = min32(lo, blo), max32(hi, bhi)
	}
	return s, lo, hi
}

// FineRelativeError is the worst-case relative error of percentiles read
// from the fine histogram (the width of a bucket relative to its lower
// magnitude, 2^-7). Percentiles are exact while all values fit the exact
// buffer.
const FineRelativeError = 1.0 / 128

// smallestNormal32 is the smallest positive normal float32, 2^-126: the
// fine histogram's buckets below it hold zero and subnormals only, which
// percentiles report as 0.
const smallestNormal32 = 0x1p-126

// fineBucket describes one non-empty bucket of the fine histogram in value
// order.
type fineBucket struct {
	lo, hi float64
	n      int64
}

// fineOrdered returns the non-empty fine buckets in increasing value
// order, clamped to the observed [Min, Max].
func (a *Accumulator) fineOrdered() []fineBucket {
	return orderedBuckets(a.fine, fineShift, a.m.Min, a.m.Max)
}

// orderedBuckets returns the non-empty buckets of a histogram over float32
// bit patterns (index = bits>>shift, len(counts) = 1<<(32-shift)) in
// increasing value order, clamped to [lo, hi].
func orderedBuckets(counts []int64, shift int, vmin, vmax float64) []fineBucket {
	var out []fineBucket
	half := len(counts) / 2
	add := func(i int) {
		n := counts[i]
		if n == 0 {
			return
		}
		mag := i & (half - 1)
		lo := float64(math.Float32frombits(uint32(mag) << shift))
		hi := float64(math.Float32frombits(uint32(mag+1) << shift))
		if i >= half {
			lo, hi = -hi, -lo
		}
		out = append(out, fineBucket{max(lo, vmin), min(hi, vmax), n})
	}
	for i := len(counts) - 1; i >= half; i-- {
		add(i)
	}
	for i := range half {
		add(i)
	}
	return out
}

// Percentile returns the p-th percentile (0 ≤ p ≤ 100) with linear
// interpolation between order statistics (NumPy's default "linear" method).
// It is exact while Exact() holds; otherwise each order statistic is read
// from the fine histogram, placing the values of a bucket evenly across it,
// and is within FineRelativeError of the true one relative to its magnitude.
// NaN when empty or p is out of range.
func (a *Accumulator) Percentile(p float64) float64 {
	return a.Percentiles(p)[0]
}

// Percentiles returns several percentiles at once (see Percentile).
func (a *Accumulator) Percentiles(ps ...float64) []float64 {
	if a.m.N == 0 {
		return percentilesOf(ps, 0, nil, nil)
	}
	if a.exactOK {
		sorted := slices.Clone(a.exact)
		slices.Sort(sorted)
		return percentilesOf(ps, a.m.N, sorted, nil)
	}
	return percentilesOf(ps, a.m.N, nil, a.fineOrdered())
}

// percentilesOf returns the percentiles of n values given either all of
// them sorted, or (sorted nil) their histogram buckets in value order.
func percentilesOf(ps []float64, n int64, sorted []float32, buckets []fineBucket) []float64 {
	out := make([]float64, len(ps))
	if n == 0 {
		for i := range out {
			out[i] = math.NaN()
		}
		return out
	}
	var cum []int64
	if sorted == nil {
		cum = make([]int64, len(buckets)+1)
		for i, b := range buckets {
			cum[i+1] = cum[i] + b.n
		}
	}
	order := func(k int64) float64 {
		if sorted != nil {
			return float64(sorted[k])
		}
		j, _ := slices.BinarySearch(cum, k+1) // first bucket with cum >= k+1
		b := buckets[j-1]
		if math.Abs(b.lo) < smallestNormal32 && math.Abs(b.hi) < smallestNormal32 {
			// The bucket next to zero holds ±0 and float32 subnormals;
			// spreading its values across it would turn the exact zeros
			// of a ReLU output into meaningless 1e-43s.
			return 0
		}
		f := (float64(k-cum[j-1]) + 0.5) / float64(b.n)
		return b.lo + (b.hi-b.lo)*f
	}
	for i, p := range ps {
		if !(p >= 0 && p <= 100) {
			out[i] = math.NaN()
			continue
		}
		pos := p / 100 * float64(n-1)
		k := int64(math.Floor(pos))
		fr := pos - float64(k)
		v := order(k)
		if fr > 0 && k+1 < n {
			v += fr * (order(k+1) - v)
		}
		out[i] = v
	}
	return out
}

// countBelow returns how many values are < x: exact from the buffer, else
// from the fine histogram with values spread evenly in each bucket.
func (a *Accumulator) countBelow(x float64, buckets []fineBucket) float64 {
	if a.exactOK {
		c := 0
		for _, v := range a.exact {
			if float64(v) < x {
				c++
			}
		}
		return float64(c)
	}
	var c float64
	for _, b := range buckets {
		switch {
		case b.hi <= x:
			c += float64(b.n)
		case b.lo < x:
			c += float64(b.n) * (x - b.lo) / (b.hi - b.lo)
		}
	}
	return c
}

// OutlierFraction returns the fraction of values farther than k standard
// deviations from the mean: exact while Exact() holds, else estimated from
// the fine histogram (values spread evenly within the two boundary buckets).
func (a *Accumulator) OutlierFraction(k float64) float64 {
	n := a.m.N
	if n == 0 {
		return math.NaN()
	}
	mu, sd := a.m.Mean, a.m.Std()
	lo, hi := mu-k*sd, mu+k*sd
	if a.exactOK {
		c := 0
		for _, v := range a.exact {
			if f := float64(v); f < lo || f > hi {
				c++
			}
		}
		return float64(c) / float64(n)
	}
	b := a.fineOrdered()
	below := a.countBelow(lo, b)
	above := float64(n) - a.countBelow(math.Nextafter(hi, math.Inf(1)), b)
	return (below + above) / float64(n)
}

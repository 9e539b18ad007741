package analysis

import (
	"fmt"
	"math"
	"slices"
)

// Bins is a fixed histogram binning: N equal bins over [Lo, Hi]. The last
// bin is closed on the right so a value equal to Hi is counted in it.
type Bins struct {
	Lo, Hi float64
	N      int
}

// Width returns the bin width (Hi-Lo)/N.
func (b Bins) Width() float64 { return (b.Hi - b.Lo) / float64(b.N) }

// Edges returns the N+1 bin edges.
func (b Bins) Edges() []float64 {
	e := make([]float64, b.N+1)
	for i := range e {
		e[i] = b.Lo + (b.Hi-b.Lo)*float64(i)/float64(b.N)
	}
	return e
}

func (b Bins) validate() error {
	if b.N <= 0 || math.IsNaN(b.Lo) || math.IsNaN(b.Hi) || math.IsInf(b.Lo, 0) || math.IsInf(b.Hi, 0) || !(b.Hi > b.Lo) {
		return fmt.Errorf("analysis: bad bins %+v: need N > 0 and finite Lo < Hi", b)
	}
	return nil
}

// index returns the bin of v, -1 below Lo, N above Hi.
func (b Bins) index(v float64) int {
	if v < b.Lo {
		return -1
	}
	if v > b.Hi {
		return b.N
	}
	i := int((v - b.Lo) / (b.Hi - b.Lo) * float64(b.N))
	return min(i, b.N-1)
}

// Histogram holds counts over fixed bins; Under and Over count values below
// Bins.Lo and above Bins.Hi.
type Histogram struct {
	Bins        Bins
	Counts      []int64
	Under, Over int64
}

// NewHistogram returns an empty histogram over b.
func NewHistogram(b Bins) (*Histogram, error) {
	if err := b.validate(); err != nil {
		return nil, err
	}
	return &Histogram{Bins: b, Counts: make([]int64, b.N)}, nil
}

// Add counts the values of x.
func (h *Histogram) Add(x []float32) {
	b := h.Bins
	scale := float64(b.N) / (b.Hi - b.Lo)
	for _, v := range x {
		f := float64(v)
		switch {
		case f < b.Lo:
			h.Under++
		case f > b.Hi:
			h.Over++
		default:
			h.Counts[min(int((f-b.Lo)*scale), b.N-1)]++
		}
	}
}

// Total returns the number of values counted, in range or not.
func (h *Histogram) Total() int64 {
	t := h.Under + h.Over
	for _, c := range h.Counts {
		t += c
	}
	return t
}

// Density returns each bin's count divided by (total in range × width), so
// the bars integrate to 1 over the bins.
func (h *Histogram) Density() []float64 {
	var in int64
	for _, c := range h.Counts {
		in += c
	}
	d := make([]float64, len(h.Counts))
	if in == 0 {
		return d
	}
	w := h.Bins.Width()
	for i, c := range h.Counts {
		d[i] = float64(c) / (float64(in) * w)
	}
	return d
}

// BinRule chooses a number of bins from the data.
type BinRule int

const (
	// FreedmanDiaconis uses bin width 2·IQR·n^(-1/3) (falls back to Sturges
	// when the IQR is 0). It is the default.
	FreedmanDiaconis BinRule = iota
	// Sturges uses ceil(log2 n) + 1 bins.
	Sturges
)

// MaxAutoBins caps the bins an automatic rule may choose.
const MaxAutoBins = 512

func autoCount(rule BinRule, n int64, lo, hi, iqr float64) int {
	st := int(math.Ceil(math.Log2(float64(n)))) + 1
	k := st
	if rule == FreedmanDiaconis && iqr > 0 {
		h := 2 * iqr * math.Pow(float64(n), -1.0/3)
		k = int(math.Ceil((hi - lo) / h))
	}
	return max(1, min(k, MaxAutoBins))
}

// AutoBins returns bins spanning [Min, Max] with a count chosen by rule.
// An error when the accumulator is empty; a constant stream gets one bin of
// width 1 centred on the value.
func (a *Accumulator) AutoBins(rule BinRule) (Bins, error) {
	return SharedBins(rule, []*Accumulator{a})
}

// SharedBins returns one binning for several accumulators (e.g. the same
// layer under several initializers) so their histograms can be overlaid:
// the union range, and the bin count the rule gives for the pooled data.
func SharedBins(rule BinRule, accs []*Accumulator) (Bins, error) {
	var pool *Accumulator
	for i, a := range accs {
		if a == nil || a.m.N == 0 {
			return Bins{}, fmt.Errorf("analysis: shared bins: accumulator %d is empty", i)
		}
		if pool == nil {
			pool = &Accumulator{fine: make([]int64, fineBuckets), keys: new(keyBuffer), exactOK: a.exactOK, exact: slices.Clone(a.exact)}
			pool.m = a.m
			copy(pool.fine, a.fine)
			pool.exact = slices.Grow(pool.exact, len(accs)*DefaultExactBuffer)
			continue
		}
		pool.m.Merge(a.m)
		for j, c := range a.fine {
			pool.fine[j] += c
		}
		if pool.exactOK && a.exactOK {
			pool.exact = append(pool.exact, a.exact...)
		} else {
			pool.exactOK, pool.exact = false, nil
		}
	}
	if pool == nil {
		return Bins{}, fmt.Errorf("analysis: shared bins: no accumulators")
	}
	lo, hi := pool.m.Min, pool.m.Max
	if hi == lo {
		return Bins{Lo: lo - 0.5, Hi: hi + 0.5, N: 1}, nil
	}
	q := pool.Percentiles(25, 75)
	return Bins{Lo: lo, Hi: hi, N: autoCount(rule, pool.m.N, lo, hi, q[1]-q[0])}, nil
}

// Histogram returns counts over b: exact while Exact() holds or when b
// equals Options.Bins; otherwise rebinned from the fine histogram, each
// bucket counted in the bin holding its centre, so only values within
// FineRelativeError of a bin edge can land one bin off.
func (a *Accumulator) Histogram(b Bins) (*Histogram, error) {
	h, err := NewHistogram(b)
	if err != nil {
		return nil, err
	}
	switch {
	case a.hist != nil && a.hist.Bins == b:
		return a.FixedHistogram(), nil
	case a.exactOK:
		h.Add(a.exact)
	default:
		for _, fb := range a.fineOrdered() {
			switch i := b.index((fb.lo + fb.hi) / 2); {
			case i < 0:
				h.Under += fb.n
			case i >= b.N:
				h.Over += fb.n
			default:
				h.Counts[i] += fb.n
			}
		}
	}
	return h, nil
}

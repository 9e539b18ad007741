package analysis

import (
	"fmt"
	"math"
)

// Moments holds the count, extremes and central moment sums of a stream of
// values, in float64. M2, M3 and M4 are the sums of (x-Mean)^2, ^3 and ^4.
// The zero value is the empty stream.
//
// Chunks are summarised with two passes (mean first, then central sums;
// Accumulator.AddChannels instead uses one pass of power sums about each
// channel's running mean once it has one, with a second pass whenever the
// new data's mean is more than 1/8 of a standard deviation away from it)
// and merged with the pairwise formulas of Chan, Golub &
// LeVeque (1979) and Pébay (2008), always in the order the chunks arrive, so
// a given sequence of chunks gives bit-identical results on every run.
type Moments struct {
	N          int64
	Min, Max   float64
	Mean       float64
	M2, M3, M4 float64
}

// AddChunk merges the moments of x into m. It returns an error naming the
// first non-finite element; m is unchanged in that case.
func (m *Moments) AddChunk(x []float32) error {
	c, err := chunkMoments(x)
	if err != nil {
		return err
	}
	m.Merge(c)
	return nil
}

// chunkMoments summarises one chunk with two passes over it.
func chunkMoments(x []float32) (Moments, error) {
	var c Moments
	if len(x) == 0 {
		return c, nil
	}
	var s float64
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	for _, v := range x {
		s += float64(v)
		lo = min(lo, v)
		hi = max(hi, v)
	}
	if math.IsNaN(s) || math.IsInf(s, 0) {
		for i, v := range x {
			if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
				return c, fmt.Errorf("analysis: element %d of chunk is %v", i, v)
			}
		}
		return c, fmt.Errorf("analysis: chunk sum overflows float64")
	}
	n := float64(len(x))
	mean := s / n
	var m2, m3, m4 float64
	for _, v := range x {
		d := float64(v) - mean
		d2 := d * d
		m2 += d2
		m3 += d2 * d
		m4 += d2 * d2
	}
	return Moments{N: int64(len(x)), Min: float64(lo), Max: float64(hi), Mean: mean, M2: m2, M3: m3, M4: m4}, nil
}

// Merge folds b into m (m then describes the concatenation m ++ b).
func (m *Moments) Merge(b Moments) {
	if b.N == 0 {
		return
	}
	if m.N == 0 {
		*m = b
		return
	}
	na, nb := float64(m.N), float64(b.N)
	n := na + nb
	d := b.Mean - m.Mean
	dn := d / n
	dn2 := dn * dn
	t := d * dn * na * nb // d^2 na nb / n
	m4 := m.M4 + b.M4 + t*dn2*(na*na-na*nb+nb*nb) +
		6*dn2*(na*na*b.M2+nb*nb*m.M2) + 4*dn*(na*b.M3-nb*m.M3)
	m3 := m.M3 + b.M3 + t*dn*(na-nb) + 3*dn*(na*b.M2-nb*m.M2)
	m.M2 += b.M2 + t
	m.M3 = m3
	m.M4 = m4
	m.Mean += dn * nb
	m.N += b.N
	m.Min = min(m.Min, b.Min)
	m.Max = max(m.Max, b.Max)
}

// Var returns the population variance (M2/N), NaN when empty.
func (m Moments) Var() float64 {
	if m.N == 0 {
		return math.NaN()
	}
	return m.M2 / float64(m.N)
}

// Std returns the population standard deviation, NaN when empty.
func (m Moments) Std() float64 { return math.Sqrt(m.Var()) }

// Skewness returns the population skewness g1 = (M3/N) / (M2/N)^1.5; NaN
// when empty or constant.
func (m Moments) Skewness() float64 {
	if m.N == 0 || m.M2 == 0 {
		return math.NaN()
	}
	n := float64(m.N)
	return (m.M3 / n) / math.Pow(m.M2/n, 1.5)
}

// Kurtosis returns the population excess kurtosis g2 = (M4/N)/(M2/N)^2 - 3
// (0 for a Gaussian); NaN when empty or constant.
func (m Moments) Kurtosis() float64 {
	if m.N == 0 || m.M2 == 0 {
		return math.NaN()
	}
	n := float64(m.N)
	return (m.M4/n)/((m.M2/n)*(m.M2/n)) - 3
}

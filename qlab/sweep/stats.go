package sweep

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// ErrStats is wrapped when a statistic cannot be computed from its input
// (too few values, NaN, mismatched pairs).
var ErrStats = errors.New("sweep: statistics")

// Interval is a mean with a two-sided confidence interval [Lo, Hi] at
// Level (e.g. 0.95) over N values. With N = 1 Lo and Hi are NaN: one seed
// says nothing about the spread.
type Interval struct {
	Mean, Lo, Hi float64
	Level        float64
	N            int
}

// HalfWidth returns (Hi - Lo) / 2, the "±" of the interval.
func (iv Interval) HalfWidth() float64 { return (iv.Hi - iv.Lo) / 2 }

// StudentTQuantile returns the p-quantile of Student's t distribution with
// df degrees of freedom (gonum's distuv.StudentsT). For the 95% two-sided
// interval p is 0.975: 12.706 at df 1, 4.303 at df 2, 1.960 as df → ∞.
func StudentTQuantile(p, df float64) float64 {
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Quantile(p)
}

func checkFinite(what string, x []float64) error {
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: %s[%d] is %v", ErrStats, what, i, v)
		}
	}
	return nil
}

func level(l float64) (float64, error) {
	if l == 0 {
		return 0.95, nil
	}
	if !(l > 0 && l < 1) {
		return 0, fmt.Errorf("%w: confidence level %v; want 0 < level < 1", ErrStats, l)
	}
	return l, nil
}

func meanVar(x []float64) (mean, variance float64) {
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	if len(x) < 2 {
		return mean, math.NaN()
	}
	for _, v := range x {
		variance += (v - mean) * (v - mean)
	}
	return mean, variance / float64(len(x)-1)
}

// MeanCI returns the mean of x and its Student-t confidence interval at
// level (0 means 0.95): mean ± t_{(1+level)/2, n-1} · s/√n, s the sample
// standard deviation (n-1 denominator).
func MeanCI(x []float64, lvl float64) (Interval, error) {
	lvl, err := level(lvl)
	if err != nil {
		return Interval{}, err
	}
	if len(x) == 0 {
		return Interval{}, fmt.Errorf("%w: mean of no values", ErrStats)
	}
	if err := checkFinite("x", x); err != nil {
		return Interval{}, err
	}
	m, v := meanVar(x)
	iv := Interval{Mean: m, Lo: math.NaN(), Hi: math.NaN(), Level: lvl, N: len(x)}
	if len(x) > 1 {
		h := StudentTQuantile((1+lvl)/2, float64(len(x)-1)) * math.Sqrt(v/float64(len(x)))
		iv.Lo, iv.Hi = m-h, m+h
	}
	return iv, nil
}

// TTest is the result of a paired t-test.
type TTest struct {
	// MeanDiff is the mean of a[i] - b[i]; T the statistic
	// MeanDiff / (s_d/√n); DF = n - 1; P the two-sided p-value
	// 2·(1 - F_t(|T|; DF)). With zero spread T is ±Inf (P 0) or, for
	// identical pairs, NaN (P 1).
	MeanDiff, T, P float64
	DF             int
}

// PairedTTest compares a and b paired by index (the same seeds under two
// initializers). It needs at least two pairs.
func PairedTTest(a, b []float64) (TTest, error) {
	if len(a) != len(b) {
		return TTest{}, fmt.Errorf("%w: paired t-test of %d and %d values", ErrStats, len(a), len(b))
	}
	if len(a) < 2 {
		return TTest{}, fmt.Errorf("%w: paired t-test needs >= 2 pairs, got %d", ErrStats, len(a))
	}
	if err := errors.Join(checkFinite("a", a), checkFinite("b", b)); err != nil {
		return TTest{}, err
	}
	d := make([]float64, len(a))
	for i := range a {
		d[i] = a[i] - b[i]
	}
	m, v := meanVar(d)
	n := float64(len(d))
	r := TTest{MeanDiff: m, DF: len(d) - 1}
	switch se := math.Sqrt(v / n); {
	case se > 0:
		r.T = m / se
		r.P = 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: n - 1}.Survival(math.Abs(r.T))
	case m == 0:
		r.T, r.P = math.NaN(), 1
	default:
		r.T, r.P = math.Copysign(math.Inf(1), m), 0
	}
	return r, nil
}

// BootstrapMeanCI returns the percentile bootstrap interval at level (0
// means 0.95) of the mean of x, from resamples (0 means 10,000) resamples
// with replacement drawn from a PCG stream seeded by seed: the same seed
// gives the same interval everywhere.
func BootstrapMeanCI(x []float64, lvl float64, resamples int, seed uint64) (Interval, error) {
	lvl, err := level(lvl)
	if err != nil {
		return Interval{}, err
	}
	if len(x) == 0 {
		return Interval{}, fmt.Errorf("%w: bootstrap of no values", ErrStats)
	}
	if err := checkFinite("x", x); err != nil {
		return Interval{}, err
	}
	if resamples <= 0 {
		resamples = 10000
	}
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	means := make([]float64, resamples)
	n := len(x)
	for r := range means {
		var s float64
		for i := 0; i < n; i++ {
			s += x[rng.IntN(n)]
		}
		means[r] = s / float64(n)
	}
	sort.Float64s(means)
	m, _ := meanVar(x)
	alpha := (1 - lvl) / 2
	return Interval{Mean: m, Lo: quantileSorted(means, alpha), Hi: quantileSorted(means, 1-alpha), Level: lvl, N: n}, nil
}

// quantileSorted is the linear-interpolation quantile (type 7, numpy's
// default) of sorted s.
func quantileSorted(s []float64, p float64) float64 {
	h := p * float64(len(s)-1)
	lo := math.Floor(h)
	i := int(lo)
	if i+1 >= len(s) {
		return s[len(s)-1]
	}
	return s[i] + (h-lo)*(s[i+1]-s[i])
}

package analysis

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// MeanCI returns the mean of values (e.g. one accuracy per seed) and the
// half-width of its two-sided confidence interval at level (e.g. 0.95;
// 0 means 0.95) from Student's t distribution with n-1 degrees of freedom:
// t·s/√n with s the sample standard deviation. One value gives a NaN
// half-width; NaN values are an error.
func MeanCI(values []float64, level float64) (mean, half float64, err error) {
	if level == 0 {
		level = 0.95
	}
	if !(level > 0 && level < 1) {
		return 0, 0, fmt.Errorf("analysis: mean CI: level %v not in (0, 1)", level)
	}
	n := len(values)
	if n == 0 {
		return 0, 0, fmt.Errorf("analysis: mean CI: no values")
	}
	for i, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, 0, fmt.Errorf("analysis: mean CI: value %d is %v", i, v)
		}
		mean += v
	}
	mean /= float64(n)
	if n == 1 {
		return mean, math.NaN(), nil
	}
	var ss float64
	for _, v := range values {
		ss += (v - mean) * (v - mean)
	}
	s := math.Sqrt(ss / float64(n-1))
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(n - 1)}.Quantile(0.5 + level/2)
	return mean, t * s / math.Sqrt(float64(n)), nil
}

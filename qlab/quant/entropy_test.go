package quant

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestEntropyOneSided is the regression test for the Entropy calibrator
// clipping one-sided activations far inside their range (bug report: a [0,1]
// input clipped at 0.50 and ReLU outputs at 0.996 under QUInt8). The oracle
// is the distribution itself: for U[0,1] the KL-optimal threshold is the
// whole range (no tail to trade against), and for a ReLU output (half exact
// zeros, half |N(0,σ)| reaching ~7) it lies in the tail, well above the
// bulk of the half-normal, never near 1.
func TestEntropyOneSided(t *testing.T) {
	relu := func(r *rand.Rand) float32 {
		if r.IntN(2) == 0 {
			return 0
		}
		return float32(math.Abs(r.NormFloat64()) * 1.75) // max ≈ 7 over 2e5 samples
	}
	mnist := func(r *rand.Rand) float32 { // MNIST-like: mostly 0, strokes at 1
		switch u := r.Float64(); {
		case u < 0.8:
			return 0
		case u < 0.9:
			return 1
		default:
			return float32(r.Float64())
		}
	}
	uniform := func(r *rand.Rand) float32 { return float32(r.Float64()) }
	cases := []struct {
		name    string
		cfg     TensorConfig
		f       func(*rand.Rand) float32
		minFrac float64 // threshold / max must be at least this
	}{
		{"uniform QUInt8", QUInt8().Activations, uniform, 0.97},
		{"uniform default", TensorConfig{}, uniform, 0.97},
		{"uniform TFLite", TFLiteInt8().Activations, uniform, 0.97},
		{"mnist-like QUInt8", QUInt8().Activations, mnist, 0.97},
		{"relu QUInt8", QUInt8().Activations, relu, 0.5},
		{"relu TFLite", TFLiteInt8().Activations, relu, 0.5},
		{"relu symmetric int8", TensorConfig{Bits: 8, Signed: true, Symmetric: true}, relu, 0.45},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := samples(200000, uint64(40+i), c.f)
			tc := c.cfg
			tc.Calibrator = Calibration{Method: Entropy}
			cal, err := NewCalibrator(c.name, tc)
			if err != nil {
				t.Fatal(err)
			}
			observeBatches(t, cal, x, 10000)
			lo, hi, err := cal.Range()
			if err != nil {
				t.Fatal(err)
			}
			mx := float64(cal.(*HistogramCalibrator).hi)
			t.Logf("threshold %.4g of max %.4g", hi, mx)
			if lo != cal.(*HistogramCalibrator).lo || float64(hi) < c.minFrac*mx || float64(hi) > mx {
				t.Errorf("got [%v, %v]; want [min, >= %.2f·max = %.3f] (max %.3f)", lo, hi, c.minFrac, c.minFrac*mx, mx)
			}
		})
	}
}

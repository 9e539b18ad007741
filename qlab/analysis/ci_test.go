package analysis

import (
	"math"
	"testing"
)

func TestMeanCI(t *testing.T) {
	// Student t quantiles from tables: t(0.975; 4) = 2.776445,
	// t(0.995; 2) = 9.924843.
	cases := []struct {
		name     string
		x        []float64
		level    float64
		mean, hw float64
	}{
		{"5 seeds 95%", []float64{90.1, 90.5, 89.8, 90.9, 90.2}, 0, 90.3, 2.776445 * 0.4183300 / math.Sqrt(5)},
		{"3 seeds 99%", []float64{1, 2, 3}, 0.99, 2, 9.924843 * 1 / math.Sqrt(3)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, hw, err := MeanCI(c.x, c.level)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(m-c.mean) > 1e-12 || math.Abs(hw-c.hw) > 1e-5*c.hw {
				t.Errorf("got %v ± %v; want %v ± %v", m, hw, c.mean, c.hw)
			}
		})
	}
	if _, hw, _ := MeanCI([]float64{3}, 0); !math.IsNaN(hw) {
		t.Errorf("one value: got half-width %v; want NaN", hw)
	}
	if _, _, err := MeanCI([]float64{1, math.NaN()}, 0); err == nil {
		t.Errorf("NaN value: got nil error")
	}
	if _, _, err := MeanCI(nil, 0); err == nil {
		t.Errorf("no values: got nil error")
	}
}

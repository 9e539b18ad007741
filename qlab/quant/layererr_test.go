package quant

import (
	"context"
	"math"
	"testing"
)

func TestLayerErrors(t *testing.T) {
	m := smallNet(t, false)
	calib := selfLabelled(t, m, 32, 30)
	// Measured on the calibration set itself, so min/max ranges clip
	// nothing and the input error is pure rounding.
	test := calib
	ctx := context.Background()
	sqnr := func(cfg Config) []LayerError {
		t.Helper()
		q, err := Quantize(ctx, m, calib, Options{Config: cfg})
		if err != nil {
			t.Fatal(err)
		}
		rows, err := LayerErrors(ctx, m, q, test)
		if err != nil {
			t.Fatal(err)
		}
		if rows[0].Layer != InputName {
			t.Fatalf("first row %q; want the input", rows[0].Layer)
		}
		// Input: min/max calibration, no clipping inside the calibration
		// range, so the error is uniform rounding noise scale²/12.
		s := float64(q.Layer(InputName).Output.Scale[0])
		want := 10 * math.Log10(rows[0].Signal/(s*s/12))
		if math.Abs(rows[0].SQNR-want) > 1.5 {
			t.Errorf("input SQNR %.2f dB; want ≈ %.2f (uniform noise of step %g)", rows[0].SQNR, want, s)
		}
		for i, r := range rows {
			if r.Depth != i || r.Elements == 0 || math.IsNaN(r.SQNR) {
				t.Errorf("row %d: %+v", i, r)
			}
		}
		return rows
	}
	r8 := sqnr(QUInt8())
	r16 := sqnr(Config{Weights: TensorConfig{Bits: 16}, Activations: TensorConfig{Bits: 16}, Biases: TensorConfig{Float: true}})
	r4 := sqnr(Config{Weights: TensorConfig{Bits: 4, Signed: true, Symmetric: true}, Activations: TensorConfig{}, Biases: TensorConfig{Float: true}})
	last := len(r8) - 1
	t.Logf("output SQNR: 16-bit %.1f dB, 8-bit %.1f dB, 4-bit weights %.1f dB", r16[last].SQNR, r8[last].SQNR, r4[last].SQNR)
	if !(r16[last].SQNR > r8[last].SQNR+20 && r8[last].SQNR > r4[last].SQNR+6) {
		t.Errorf("output SQNR not ordered by bit width: 16-bit %.1f, 8-bit %.1f, 4-bit %.1f", r16[last].SQNR, r8[last].SQNR, r4[last].SQNR)
	}
}

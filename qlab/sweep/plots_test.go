package sweep

import (
	"bytes"
	"testing"

	"github.com/qlab-dev/qlab/qlab/figures"
)

func TestAccuracyBars(t *testing.T) {
	r := gridRecords()
	bars, err := r.AccuracyBars(0)
	if err != nil {
		t.Fatal(err)
	}
	if len(bars) != 4 {
		t.Fatalf("got %d bars; want 4 (2 initializers x FP32, quint8)", len(bars))
	}
	iv, _ := MeanCI([]float64{0.90, 0.92, 0.94}, 0)
	b := bars[0]
	if b.Arch != "net" || b.Init != "he_normal" || b.Precision != "FP32" || !near(b.Mean, 92, 1e-12) || !near(b.CI, 100*iv.HalfWidth(), 1e-12) {
		t.Errorf("got %+v; want net/he_normal/FP32 92 ± %v", b, 100*iv.HalfWidth())
	}
	if bars[1].Precision != "quint8" {
		t.Errorf("second bar precision %q; want quint8", bars[1].Precision)
	}
	f, err := r.AccuracyFigure(0, figures.BarOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if png := f.PNG(); !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("AccuracyFigure did not render a PNG")
	}
}

func TestLayerMatrix(t *testing.T) {
	r := gridRecords()
	// glorot_uniform's stem weights are 0.05 wider on every seed: a
	// significant paired difference; head/fc is identical: none.
	for _, rec := range r.Records {
		if rec.Trial.Init == "glorot_uniform" {
			rec.Layers[0].WeightStd += 0.05
		}
	}
	inits, layers, z, marks, err := r.LayerMatrix("net", "weight_std", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(inits) != 2 || inits[0] != "he_normal" || len(layers) != 2 || layers[0] != "stem/conv" {
		t.Fatalf("got inits %v, layers %v; want [he_normal glorot_uniform], [stem/conv head/fc]", inits, layers)
	}
	if !near(z[0][0], 0.2, 1e-12) || !near(z[1][0], 0.25, 1e-12) || z[1][1] != 1 {
		t.Errorf("got z %v; want [[0.2 1] [0.25 1]]", z)
	}
	if marks[0][0] || !marks[1][0] || marks[1][1] {
		t.Errorf("got marks %v; want only [1][0]", marks)
	}
	f, err := r.LayerHeatmap("net", "weight_std", figures.HeatmapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if png := f.PNG(); !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("LayerHeatmap did not render a PNG")
	}
	if _, _, _, _, err := r.LayerMatrix("nope", "weight_std", 0); err == nil {
		t.Errorf("unknown architecture: got no error")
	}
}

package figures

import (
	"bytes"
	"math"
	"testing"

	"github.com/qlab-dev/qlab/qlab/quant"
)

func TestQuantAnalysis(t *testing.T) {
	h := &quant.Hist{Lo: -1, Hi: 1, Counts: []int64{1, 4, 9, 4, 1}}
	a := &quant.Analysis{Model: "m", FloatAccuracy: 0.98, QuantAccuracy: 0.7, Layers: []quant.LayerSensitivity{
		{Layer: "input", Kind: "Input", OnlyThis: 0.98, AllButThis: 0.7, WeightSQNR: math.NaN(), OutputSQNR: 40, OutputHist: h},
		{Layer: "conv", Kind: "Conv2D", OnlyThis: 0.75, AllButThis: 0.96, WeightSQNR: 12, OutputSQNR: 9, WeightHist: h, OutputHist: h},
	}}
	f, err := QuantAnalysis(a)
	if err != nil {
		t.Fatal(err)
	}
	for name, fig := range map[string]*Figure{"sensitivity": f.Sensitivity, "sqnr": f.SQNR, "histograms": f.Histograms} {
		if png := fig.PNG(); !bytes.HasPrefix(png, []byte("\x89PNG")) {
			t.Errorf("%s: not a PNG (%d bytes)", name, len(png))
		}
	}
	if len(f.Histograms.Panels) < 2 {
		t.Errorf("%d histogram panels; want 2", len(f.Histograms.Panels))
	}
	if _, err := QuantAnalysis(&quant.Analysis{}); err == nil {
		t.Error("empty analysis accepted")
	}
}

func TestBarOptionsClip(t *testing.T) {
	o := BarOptions{Clip: [2]float64{0, 100}}
	for _, tc := range []struct{ mean, ci, low, high float64 }{{50, 10, 10, 10}, {95, 20, 20, 5}, {3, 40, 3, 40}, {120, 5, 5, 0}} {
		if l, h := o.clip(tc.mean, tc.ci); l != tc.low || h != tc.high {
			t.Errorf("clip(%v ± %v) = -%v +%v; want -%v +%v", tc.mean, tc.ci, l, h, tc.low, tc.high)
		}
	}
	if l, h := (BarOptions{}).clip(3, 40); l != 40 || h != 40 {
		t.Errorf("zero BarOptions clipped: -%v +%v", l, h)
	}
}

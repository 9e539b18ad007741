package figures

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/qlab-dev/qlab/qlab/analysis"
	"github.com/qlab-dev/qlab/qlab/quant"
)

// QuantAnalysisFigures is the figure set of a quant.Analysis.
type QuantAnalysisFigures struct {
	// Sensitivity has bars from zero per unit: accuracy (%) with only it
	// quantized and with all but it quantized; dashed lines mark the FP32
	// and the all-quantized accuracy.
	Sensitivity *Figure
	// SQNR plots each unit's weight and output SQNR (dB) as dots.
	SQNR *Figure
	// Histograms has one panel per unit: its float weights and its float
	// outputs (densities over each one's range).
	Histograms *Figure
}

// QuantAnalysis draws a.
func QuantAnalysis(a *quant.Analysis) (*QuantAnalysisFigures, error) {
	if a == nil || len(a.Layers) == 0 {
		return nil, fmt.Errorf("figures: quant analysis: no layers")
	}
	var names []string
	only, but := make([]float64, len(a.Layers)), make([]float64, len(a.Layers))
	for i, r := range a.Layers {
		names = append(names, r.Layer)
		only[i], but[i] = 100*r.OnlyThis, 100*r.AllButThis
	}
	out := &QuantAnalysisFigures{}

	p := NewPlot()
	p.Y.Label.Text = "accuracy (%)"
	layerAxis(p, names, "", ColumnWidth)
	f := Single(p)
	for k, s := range []struct {
		label string
		vals  []float64
	}{{"only this layer quantized", only}, {"all but this layer quantized", but}} {
		b := &valueBars{vals: s.vals, base: 0, offset: -0.2 + 0.4*float64(k), width: 0.36, color: k}
		p.Add(b)
		f.Legend = append(f.Legend, LegendEntry{Label: s.label, Thumbs: []plot.Thumbnailer{b}})
	}
	for k, ref := range []struct {
		label string
		v     float64
	}{{fmt.Sprintf("FP32 %.1f%%", 100*a.FloatAccuracy), a.FloatAccuracy}, {fmt.Sprintf("all quantized %.1f%%", 100*a.QuantAccuracy), a.QuantAccuracy}} {
		l, err := plotter.NewLine(plotter.XYs{{X: -0.5, Y: 100 * ref.v}, {X: float64(len(names)) - 0.5, Y: 100 * ref.v}})
		if err != nil {
			return nil, fmt.Errorf("figures: quant analysis: %w", err)
		}
		l.LineStyle = draw.LineStyle{Color: axisGray, Width: vg.Points(0.8), Dashes: Dashes(k + 1)}
		p.Add(l)
		f.Legend = append(f.Legend, LegendEntry{Label: ref.label, Thumbs: []plot.Thumbnailer{l}})
	}
	layerAxis(p, names, "", ColumnWidth)
	p.Y.Min, p.Y.Max = 0, 100
	out.Sensitivity = f

	p = NewPlot()
	p.Y.Label.Text = "SQNR (dB)"
	layerAxis(p, names, "", ColumnWidth)
	f = Single(p)
	for k, s := range []struct {
		label string
		get   func(quant.LayerSensitivity) float64
	}{{"weight", func(r quant.LayerSensitivity) float64 { return r.WeightSQNR }}, {"output (accumulated)", func(r quant.LayerSensitivity) float64 { return r.OutputSQNR }}} {
		var pts plotter.XYs
		for i, r := range a.Layers {
			if v := s.get(r); !math.IsNaN(v) && !math.IsInf(v, 0) {
				pts = append(pts, plotter.XY{X: float64(i) - 0.1 + 0.2*float64(k), Y: v})
			}
		}
		if len(pts) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return nil, fmt.Errorf("figures: quant analysis: %w", err)
		}
		sc.GlyphStyle.Color = Color(k)
		sc.GlyphStyle.Radius = vg.Points(2.5)
		sc.GlyphStyle.Shape = draw.CircleGlyph{}
		p.Add(sc)
		f.Legend = append(f.Legend, LegendEntry{Label: s.label, Thumbs: []plot.Thumbnailer{sc}})
	}
	layerAxis(p, names, "", ColumnWidth)
	out.SQNR = f

	var panels []HistPanel
	for _, r := range a.Layers {
		hp := HistPanel{Title: r.Layer}
		for _, h := range []struct {
			name string
			h    *quant.Hist
		}{{"weights", r.WeightHist}, {"outputs", r.OutputHist}} {
			if h.h == nil {
				continue
			}
			hp.Series = append(hp.Series, HistSeries{Name: h.name, Hist: &analysis.Histogram{Bins: analysis.Bins{Lo: h.h.Lo, Hi: h.h.Hi, N: len(h.h.Counts)}, Counts: h.h.Counts}})
		}
		if len(hp.Series) > 0 {
			panels = append(panels, hp)
		}
	}
	hf, err := HistogramGrid(panels, HistOptions{})
	if err != nil {
		return nil, fmt.Errorf("figures: quant analysis: %w", err)
	}
	out.Histograms = hf
	return out, nil
}

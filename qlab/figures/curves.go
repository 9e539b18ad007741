package figures

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Run is one training run's curves, per epoch. Any of the four series may
// be nil; present ones have len(Epoch) values (NaN for gaps).
type Run struct {
	Name                string
	Epoch               []float64
	TrainLoss, TestLoss []float64
	TrainAcc, TestAcc   []float64 // accuracy in %
}

// TrainingCurves draws loss (left) and accuracy (right) against epoch, one
// colour per run, training solid and test dashed. The epoch axis is ticked
// at whole epochs only.
func TrainingCurves(runs []Run, opts LineOptions) (*Figure, error) {
	if len(runs) == 0 {
		return nil, fmt.Errorf("figures: training curves: no runs")
	}
	loss, acc := NewPlot(), NewPlot()
	loss.X.Label.Text = orDefault(opts.XLabel, "epoch")
	acc.X.Label.Text = loss.X.Label.Text
	loss.X.Tick.Marker, acc.X.Tick.Marker = intTicks{}, intTicks{}
	loss.Y.Label.Text = "loss"
	acc.Y.Label.Text = orDefault(opts.YLabel, "accuracy (%)")
	if opts.LogY {
		loss.Y.Scale = plot.LogScale{}
		loss.Y.Tick.Marker = logTicks{}
	}
	f, _ := NewFigure(1, 2, loss, acc)
	f.Width, f.Height = opts.Width, opts.Height
	if f.Width == 0 {
		f.Width = ColumnWidth
	}
	if f.Height == 0 {
		f.Height = 1.7
	}
	var anyTest bool
	for ri, r := range runs {
		for k, ys := range [][]float64{r.TrainLoss, r.TestLoss, r.TrainAcc, r.TestAcc} {
			if ys == nil {
				continue
			}
			if len(ys) != len(r.Epoch) {
				return nil, fmt.Errorf("figures: training curves: run %q has %d values for %d epochs", r.Name, len(ys), len(r.Epoch))
			}
			pts := make(plotter.XYs, 0, len(ys))
			for i, y := range ys {
				if !math.IsNaN(y) && !(opts.LogY && k < 2 && y <= 0) {
					pts = append(pts, plotter.XY{X: r.Epoch[i], Y: y})
				}
			}
			if len(pts) == 0 {
				continue
			}
			l, err := plotter.NewLine(pts)
			if err != nil {
				return nil, fmt.Errorf("figures: training curves: run %q: %w", r.Name, err)
			}
			l.LineStyle = lineStyle(ri, k%2 == 1)
			if k%2 == 1 {
				anyTest = true
			}
			if k < 2 {
				loss.Add(l)
			} else {
				acc.Add(l)
			}
		}
		f.Legend = append(f.Legend, LegendEntry{Label: r.Name, Thumbs: []plot.Thumbnailer{solidThumb{ri}}})
	}
	if anyTest {
		f.Legend = append(f.Legend,
			LegendEntry{Label: "train", Thumbs: []plot.Thumbnailer{styleThumb{draw.LineStyle{Color: axisGray, Width: vg.Points(1)}}}},
			LegendEntry{Label: "test", Thumbs: []plot.Thumbnailer{styleThumb{draw.LineStyle{Color: axisGray, Width: vg.Points(1), Dashes: lineStyle(0, true).Dashes}}}})
	}
	return f, nil
}

// RangeOverTraining draws each layer's dynamic range against epoch,
// ranges[l][e] for layer l at epochs[e]. Layers are coloured by depth with
// viridis; up to 8 layers are named in the legend, more get a colour bar
// of layer index. The epoch axis is ticked at whole epochs only.
func RangeOverTraining(layers []string, epochs []float64, ranges [][]float64, opts LineOptions) (*Figure, error) {
	if len(layers) == 0 || len(ranges) != len(layers) {
		return nil, fmt.Errorf("figures: range over training: %d layers, %d range series", len(layers), len(ranges))
	}
	p := NewPlot()
	p.X.Label.Text = orDefault(opts.XLabel, "epoch")
	p.Y.Label.Text = orDefault(opts.YLabel, "range")
	p.X.Tick.Marker = intTicks{}
	if opts.LogY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
	}
	f := Single(p)
	f.Width, f.Height = opts.Width, opts.Height
	cm := Viridis(0, math.Max(float64(len(layers)-1), 1))
	for l, rs := range ranges {
		if len(rs) != len(epochs) {
			return nil, fmt.Errorf("figures: range over training: layer %q has %d values for %d epochs", layers[l], len(rs), len(epochs))
		}
		pts := make(plotter.XYs, 0, len(rs))
		for e, v := range rs {
			if !math.IsNaN(v) && !(opts.LogY && v <= 0) {
				pts = append(pts, plotter.XY{X: epochs[e], Y: v})
			}
		}
		if len(pts) == 0 {
			continue
		}
		line, err := plotter.NewLine(pts)
		if err != nil {
			return nil, fmt.Errorf("figures: range over training: layer %q: %w", layers[l], err)
		}
		col, _ := cm.At(float64(l))
		line.LineStyle = draw.LineStyle{Color: col, Width: vg.Points(1)}
		p.Add(line)
		if len(layers) <= 8 {
			f.Legend = append(f.Legend, LegendEntry{Label: layers[l], Thumbs: []plot.Thumbnailer{line}})
		}
	}
	if len(layers) > 8 {
		f.ColorBar = &ColorBar{Map: cm, Label: "layer index"}
	}
	return f, nil
}

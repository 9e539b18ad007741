package figures

import (
	"fmt"
	"math"

	"github.com/qlab-dev/qlab/qlab/analysis"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// HistSeries is one histogram drawn in a panel, e.g. one initializer.
type HistSeries struct {
	Name string
	Hist *analysis.Histogram
}

// HistPanel is one panel of a histogram grid, e.g. one layer, with the
// series overlaid (they should share bins: see analysis.SharedBins).
type HistPanel struct {
	Title  string
	Series []HistSeries
}

// HistOptions configure HistogramGrid. The zero value draws densities on
// a linear axis, ceil(sqrt(panels)) columns, x labelled "value".
type HistOptions struct {
	// Cols is the number of panel columns; 0 chooses ceil(sqrt(n)).
	Cols int
	// Counts draws raw counts instead of densities (densities let series
	// with different sample counts be compared).
	Counts bool
	// LogY uses a logarithmic y axis (to see the tails).
	LogY bool
	// XLabel labels the x axis of the bottom row; "" means "value".
	XLabel string
	// Width of the figure in inches; 0 means ColumnWidth, or twice it for
	// more than 2 columns.
	Width float64
}

// HistogramGrid draws one panel per HistPanel with its series overlaid as
// translucent step histograms, colour i for series i, with a shared legend
// above the grid.
func HistogramGrid(panels []HistPanel, opts HistOptions) (*Figure, error) {
	if len(panels) == 0 {
		return nil, fmt.Errorf("figures: histogram grid: no panels")
	}
	cols := opts.Cols
	if cols <= 0 {
		cols = int(math.Ceil(math.Sqrt(float64(len(panels)))))
	}
	rows := (len(panels) + cols - 1) / cols
	xlabel := opts.XLabel
	if xlabel == "" {
		xlabel = "value"
	}
	ylabel := "density"
	if opts.Counts {
		ylabel = "count"
	}
	f := &Figure{Rows: rows, Cols: cols, Panels: make([]*plot.Plot, rows*cols), Width: opts.Width}
	if f.Width == 0 {
		f.Width = ColumnWidth
		if cols > 2 {
			f.Width = 2 * ColumnWidth
		}
	}
	var names []string
	for pi, pan := range panels {
		p := NewPlot()
		p.Title.Text = pan.Title
		p.Title.TextStyle.Font.Size = vg.Points(TickSize + 0.5)
		if pi%cols == 0 {
			p.Y.Label.Text = ylabel
		}
		if pi/cols == rows-1 || pi+cols >= len(panels) {
			p.X.Label.Text = xlabel
		}
		if opts.LogY {
			p.Y.Scale = plot.LogScale{}
			p.Y.Tick.Marker = logTicks{}
		}
		for si, s := range pan.Series {
			if s.Hist == nil || len(s.Hist.Counts) == 0 {
				return nil, fmt.Errorf("figures: histogram grid: panel %q series %q has no histogram", pan.Title, s.Name)
			}
			ys := s.Hist.Density()
			if opts.Counts {
				ys = make([]float64, len(s.Hist.Counts))
				for i, c := range s.Hist.Counts {
					ys[i] = float64(c)
				}
			}
			line, err := stepLine(s.Hist.Bins.Edges(), ys, opts.LogY)
			if err != nil {
				return nil, fmt.Errorf("figures: histogram grid: panel %q series %q: %w", pan.Title, s.Name, err)
			}
			line.LineStyle = lineStyle(si, false)
			line.LineStyle.Width = vg.Points(0.7)
			line.FillColor = withAlpha(Color(si), 0.22)
			p.Add(line)
			if idx := indexOf(names, s.Name); idx < 0 {
				names = append(names, s.Name)
				f.Legend = append(f.Legend, LegendEntry{Label: s.Name, Thumbs: []plot.Thumbnailer{line}})
			}
		}
		if opts.LogY {
			p.Y.Min = math.Max(p.Y.Min, logFloor(p.Y.Max))
		} else {
			p.Y.Min = 0
		}
		f.Panels[pi] = p
	}
	if len(f.Legend) < 2 {
		f.Legend = nil // one series needs no legend
	}
	return f, nil
}

// logFloor is the lowest value shown on a log-density axis: 6 decades
// below the peak, so empty bins do not stretch the axis to 1e-300.
func logFloor(peak float64) float64 { return peak * 1e-6 }

// stepLine returns the outline of a histogram with the given edges and
// heights, closed down to 0 at both ends (to a tiny value on log axes).
func stepLine(edges, ys []float64, logY bool) (*plotter.Line, error) {
	if len(edges) != len(ys)+1 {
		return nil, fmt.Errorf("%d edges for %d bins", len(edges), len(ys))
	}
	peak := 0.0
	for _, y := range ys {
		peak = math.Max(peak, y)
	}
	floor := 0.0
	if logY {
		floor = logFloor(peak)
	}
	pts := make(plotter.XYs, 0, 2*len(ys)+2)
	pts = append(pts, plotter.XY{X: edges[0], Y: floor})
	for i, y := range ys {
		y = math.Max(y, floor)
		pts = append(pts, plotter.XY{X: edges[i], Y: y}, plotter.XY{X: edges[i+1], Y: y})
	}
	pts = append(pts, plotter.XY{X: edges[len(edges)-1], Y: floor})
	return plotter.NewLine(pts)
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// HistogramGridFromStats builds a HistogramGrid from the same layers
// measured in several models (e.g. one LayerStats per initializer): one
// panel per layer of the first set, bins shared across the models for that
// layer (analysis.SharedBins with the Freedman–Diaconis rule, capped at
// maxBins; 0 means 60).
func HistogramGridFromStats(models []string, stats []*analysis.LayerStats, maxBins int, opts HistOptions) (*Figure, error) {
	if len(models) != len(stats) || len(stats) == 0 {
		return nil, fmt.Errorf("figures: histogram grid: %d model names for %d stats", len(models), len(stats))
	}
	if maxBins <= 0 {
		maxBins = 60
	}
	var panels []HistPanel
	for _, layer := range stats[0].Layers {
		accs := make([]*analysis.Accumulator, len(stats))
		for i, s := range stats {
			if accs[i] = s.Get(layer); accs[i] == nil {
				return nil, fmt.Errorf("figures: histogram grid: model %q has no layer %q", models[i], layer)
			}
		}
		bins, err := analysis.SharedBins(analysis.FreedmanDiaconis, accs)
		if err != nil {
			return nil, fmt.Errorf("figures: histogram grid: layer %q: %w", layer, err)
		}
		bins.N = min(bins.N, maxBins)
		pan := HistPanel{Title: layer}
		for i, a := range accs {
			h, err := a.Histogram(bins)
			if err != nil {
				return nil, fmt.Errorf("figures: histogram grid: layer %q: %w", layer, err)
			}
			pan.Series = append(pan.Series, HistSeries{Name: models[i], Hist: h})
		}
		panels = append(panels, pan)
	}
	return HistogramGrid(panels, opts)
}

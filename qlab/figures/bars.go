package figures

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// AccuracyBar is one bar of AccuracyBars: the mean accuracy of an
// (architecture, initializer, precision) cell over seeds, with the
// half-width of its confidence interval (e.g. 1.96·sd/√n; 0 for none).
type AccuracyBar struct {
	Arch, Init, Precision string
	Mean, CI              float64
}

// BarOptions configure AccuracyBars. The zero value labels y "accuracy (%)"
// and starts the axis at the lowest bar minus its CI, rounded down (0 if
// YFromZero); negative values hang from 0 on an axis that includes them.
type BarOptions struct {
	YLabel string
	// YFromZero starts the y axis at 0.
	YFromZero     bool
	Cols          int // panel columns; 0 puts all architectures in one row
	Width, Height float64
	// Clip, when Clip[1] > Clip[0], clips the error bars to the metric's
	// range [Clip[0], Clip[1]] (e.g. 0 and 100 for accuracy in percent):
	// a Student-t interval from few seeds can reach past it.
	Clip [2]float64
}

// clip returns the error bar's extents below and above mean, clipped to
// opts.Clip.
func (o BarOptions) clip(mean, ci float64) (low, high float64) {
	low, high = ci, ci
	if o.Clip[1] > o.Clip[0] {
		low = math.Max(0, math.Min(ci, mean-o.Clip[0]))
		high = math.Max(0, math.Min(ci, o.Clip[1]-mean))
	}
	return low, high
}

// AccuracyBars draws grouped bars, one panel per architecture, groups by
// initializer along x, one colour per precision (e.g. FP32, INT8), with
// error bars of ±CI. Orders follow first appearance in rows.
func AccuracyBars(rows []AccuracyBar, opts BarOptions) (*Figure, error) {
	if len(rows) == 0 {
		return nil, fmt.Errorf("figures: accuracy bars: no rows")
	}
	var archs, inits, precs []string
	for _, r := range rows {
		if math.IsNaN(r.Mean) || math.IsNaN(r.CI) || r.CI < 0 {
			return nil, fmt.Errorf("figures: accuracy bars: %s/%s/%s has mean %v, CI %v", r.Arch, r.Init, r.Precision, r.Mean, r.CI)
		}
		if indexOf(archs, r.Arch) < 0 {
			archs = append(archs, r.Arch)
		}
		if indexOf(inits, r.Init) < 0 {
			inits = append(inits, r.Init)
		}
		if indexOf(precs, r.Precision) < 0 {
			precs = append(precs, r.Precision)
		}
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, r := range rows {
		l, h := opts.clip(r.Mean, r.CI)
		lo, hi = math.Min(lo, r.Mean-l), math.Max(hi, r.Mean+h)
	}
	ymin := 0.0
	if !opts.YFromZero {
		step := math.Pow(10, math.Floor(math.Log10(math.Max(hi-lo, 1e-9))))
		ymin = math.Max(0, math.Floor((lo-0.5*(hi-lo))/step)*step)
	}
	// Negative values (e.g. an accuracy "drop" that is a gain) hang from 0
	// on an axis that includes them.
	base := ymin
	if lo < 0 {
		hi = math.Max(hi, 0)
		ymin, base = lo-0.05*(hi-lo), 0
	}
	cols := opts.Cols
	if cols <= 0 {
		cols = len(archs)
	}
	nr := (len(archs) + cols - 1) / cols
	f := &Figure{Rows: nr, Cols: cols, Panels: make([]*plot.Plot, nr*cols), Width: opts.Width, Height: opts.Height}
	if f.Width == 0 && cols > 1 {
		f.Width = 2 * ColumnWidth
	}
	slot := 0.8 / float64(len(precs))
	for ai, arch := range archs {
		p := NewPlot()
		p.Title.Text = arch
		p.Title.TextStyle.Font.Size = vg.Points(LabelSize)
		pw := f.Width
		if pw == 0 {
			pw = ColumnWidth
		}
		layerAxis(p, inits, "", pw/float64(cols))
		if ai%cols == 0 {
			p.Y.Label.Text = orDefault(opts.YLabel, "accuracy (%)")
		}
		for pi, prec := range precs {
			vals := make([]float64, len(inits))
			for i := range vals {
				vals[i] = math.NaN()
			}
			var errs plotter.XYs
			var ci plotter.YErrors
			for _, r := range rows {
				if r.Arch == arch && r.Precision == prec {
					i := indexOf(inits, r.Init)
					vals[i] = r.Mean
					if r.CI > 0 { // an empty interval is not drawn
						errs = append(errs, plotter.XY{X: float64(i) - 0.4 + slot*(float64(pi)+0.5), Y: r.Mean})
						l, h := opts.clip(r.Mean, r.CI)
						ci = append(ci, struct{ Low, High float64 }{l, h})
					}
				}
			}
			b := &valueBars{vals: vals, base: base, offset: -0.4 + slot*(float64(pi)+0.5), width: slot * 0.9, color: pi}
			p.Add(b)
			if len(errs) > 0 {
				eb, err := plotter.NewYErrorBars(struct {
					plotter.XYs
					plotter.YErrors
				}{errs, ci})
				if err != nil {
					return nil, fmt.Errorf("figures: accuracy bars: %w", err)
				}
				eb.LineStyle = draw.LineStyle{Color: axisGray, Width: vg.Points(0.6)}
				eb.CapWidth = vg.Points(2.5)
				p.Add(eb)
			}
			if ai == 0 {
				f.Legend = append(f.Legend, LegendEntry{Label: prec, Thumbs: []plot.Thumbnailer{b}})
			}
		}
		layerAxis(p, inits, "", pw/float64(cols))
		p.Y.Min, p.Y.Max = ymin, hi+0.05*(hi-ymin)
		f.Panels[ai] = p
	}
	return f, nil
}

// valueBars draws bars from base to each value at x = i + offset.
type valueBars struct {
	vals          []float64
	base          float64
	offset, width float64
	color         int
}

func (vb *valueBars) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	for i, v := range vb.vals {
		if math.IsNaN(v) {
			continue
		}
		x := float64(i) + vb.offset
		r := vg.Rectangle{Min: vg.Point{X: tx(x - vb.width/2), Y: ty(vb.base)}, Max: vg.Point{X: tx(x + vb.width/2), Y: ty(v)}}
		c.SetColor(Color(vb.color))
		c.Fill(r.Path())
	}
}

func (vb *valueBars) DataRange() (xmin, xmax, ymin, ymax float64) {
	ymin, ymax = vb.base, vb.base
	for _, v := range vb.vals {
		if !math.IsNaN(v) {
			ymax = math.Max(ymax, v)
		}
	}
	return -0.5, float64(len(vb.vals)) - 0.5, ymin, ymax
}

func (vb *valueBars) Thumbnail(c *draw.Canvas) {
	r := vg.Rectangle{Min: vg.Point{X: c.Min.X + vg.Points(3), Y: c.Min.Y}, Max: vg.Point{X: c.Max.X - vg.Points(3), Y: c.Max.Y}}
	c.SetColor(Color(vb.color))
	c.Fill(r.Path())
}

package figures

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
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
		lo, hi = math.Min(lo, r.Mean-r.CI), math.Max(hi, r.Mean+r.CI)
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
						ci = append(ci, struct{ Low, High float64 }{r.CI, r.CI})
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

// Viridis returns the viridis colour map (van der Walt & Smith), a
// perceptually uniform sequential map readable in greyscale and by
// colour-blind readers, spanning [min, max].
func Viridis(min, max float64) palette.ColorMap {
	controls := []color.Color{
		color.NRGBA{0x44, 0x01, 0x54, 0xff}, color.NRGBA{0x48, 0x28, 0x78, 0xff},
		color.NRGBA{0x3e, 0x4a, 0x89, 0xff}, color.NRGBA{0x31, 0x68, 0x8e, 0xff},
		color.NRGBA{0x26, 0x82, 0x8e, 0xff}, color.NRGBA{0x1f, 0x9e, 0x89, 0xff},
		color.NRGBA{0x35, 0xb7, 0x79, 0xff}, color.NRGBA{0x6d, 0xcd, 0x59, 0xff},
		color.NRGBA{0xb4, 0xde, 0x2c, 0xff}, color.NRGBA{0xfd, 0xe7, 0x25, 0xff},
	}
	return &linearMap{controls: controls, min: min, max: max, alpha: 1}
}

// linearMap interpolates linearly in sRGB between equally spaced controls.
type linearMap struct {
	controls        []color.Color
	min, max, alpha float64
}

func (m *linearMap) At(v float64) (color.Color, error) {
	if math.IsNaN(v) {
		return nil, palette.ErrNaN
	}
	if v < m.min {
		return nil, palette.ErrUnderflow
	}
	if v > m.max {
		return nil, palette.ErrOverflow
	}
	t := 0.0
	if m.max > m.min {
		t = (v - m.min) / (m.max - m.min) * float64(len(m.controls)-1)
	}
	i := min(int(t), len(m.controls)-2)
	fr := t - float64(i)
	a := color.NRGBAModel.Convert(m.controls[i]).(color.NRGBA)
	b := color.NRGBAModel.Convert(m.controls[i+1]).(color.NRGBA)
	mix := func(x, y uint8) uint8 { return uint8(math.Round(float64(x) + fr*(float64(y)-float64(x)))) }
	return color.NRGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), uint8(255 * m.alpha)}, nil
}

func (m *linearMap) Max() float64       { return m.max }
func (m *linearMap) Min() float64       { return m.min }
func (m *linearMap) SetMax(v float64)   { m.max = v }
func (m *linearMap) SetMin(v float64)   { m.min = v }
func (m *linearMap) Alpha() float64     { return m.alpha }
func (m *linearMap) SetAlpha(a float64) { m.alpha = a }
func (m *linearMap) Palette(n int) palette.Palette {
	cs := make([]color.Color, n)
	for i := range cs {
		v := m.min
		if n > 1 {
			v += (m.max - m.min) * float64(i) / float64(n-1)
		}
		cs[i], _ = m.At(v)
	}
	return plainPalette(cs)
}

type plainPalette []color.Color

func (p plainPalette) Colors() []color.Color { return p }

// HeatmapOptions configure Heatmap. The zero value uses viridis over the
// data's range, no marks.
type HeatmapOptions struct {
	// Label names the metric on the colour bar, with units.
	Label string
	// XLabel and YLabel name the axes.
	XLabel, YLabel string
	// Min and Max fix the colour scale; both 0 means the data range.
	Min, Max float64
	// Diverging uses Moreland's blue–red diverging map centred on 0 (for
	// signed differences) instead of viridis.
	Diverging bool
	// Marks[y][x] true draws "*" on the cell (e.g. a significant
	// difference); nil for none.
	Marks [][]bool
	// Annotate writes each cell's value (3 significant digits).
	Annotate      bool
	Width, Height float64
}

// Heatmap draws z[y][x] (e.g. y = initializer, x = layer) as coloured
// cells with a colour bar; NaN cells are left light grey.
func Heatmap(yLabels, xLabels []string, z [][]float64, opts HeatmapOptions) (*Figure, error) {
	if len(yLabels) == 0 || len(xLabels) == 0 || len(z) != len(yLabels) {
		return nil, fmt.Errorf("figures: heatmap: %d rows of values for %d y labels", len(z), len(yLabels))
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, row := range z {
		if len(row) != len(xLabels) {
			return nil, fmt.Errorf("figures: heatmap: row %q has %d values for %d columns", yLabels[i], len(row), len(xLabels))
		}
		for _, v := range row {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if opts.Marks != nil && len(opts.Marks) != len(z) {
		return nil, fmt.Errorf("figures: heatmap: %d rows of marks for %d rows", len(opts.Marks), len(z))
	}
	if opts.Min != 0 || opts.Max != 0 {
		lo, hi = opts.Min, opts.Max
	}
	if math.IsInf(lo, 1) {
		return nil, fmt.Errorf("figures: heatmap: no finite values")
	}
	if opts.Diverging {
		m := math.Max(math.Abs(lo), math.Abs(hi))
		lo, hi = -m, m
	}
	if hi == lo {
		lo, hi = lo-0.5, hi+0.5
	}
	var cm palette.ColorMap
	if opts.Diverging {
		cm = moreland.SmoothBlueRed()
	} else {
		cm = Viridis(lo, hi)
	}
	cm.SetMin(lo)
	cm.SetMax(hi)
	p := NewPlot()
	p.Add(&cells{z: z, cm: cm, marks: opts.Marks, annotate: opts.Annotate})
	w := opts.Width
	if w == 0 {
		w = ColumnWidth
	}
	// Room left beside the colour bar and the row labels.
	layerAxis(p, xLabels, opts.XLabel, w-0.7-0.6)
	yt := make([]plot.Tick, len(yLabels))
	for i, l := range yLabels {
		yt[i] = plot.Tick{Value: float64(i), Label: l}
	}
	p.Y.Tick.Marker = plot.ConstantTicks(yt)
	p.Y.Min, p.Y.Max = -0.5, float64(len(yLabels))-0.5
	p.Y.Scale = plot.InvertedScale{Normalizer: plot.LinearScale{}} // first row on top, like a table
	p.Y.Label.Text = opts.YLabel
	f := Single(p)
	f.ColorBar = &ColorBar{Map: cm, Label: opts.Label}
	f.Width, f.Height = opts.Width, opts.Height
	return f, nil
}

// cells draws the heatmap cells, marks and annotations.
type cells struct {
	z        [][]float64
	cm       palette.ColorMap
	marks    [][]bool
	annotate bool
}

func (h *cells) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	mark := text.Style{Color: color.White, Font: sansFace(LabelSize), XAlign: draw.XCenter, YAlign: draw.YCenter, Handler: plot.DefaultTextHandler}
	for y, row := range h.z {
		for x, v := range row {
			r := vg.Rectangle{Min: vg.Point{X: tx(float64(x) - 0.5), Y: ty(float64(y) + 0.5)}, Max: vg.Point{X: tx(float64(x) + 0.5), Y: ty(float64(y) - 0.5)}}
			col, err := h.cm.At(math.Min(math.Max(v, h.cm.Min()), h.cm.Max()))
			if err != nil {
				col = color.Gray{0xEE}
			}
			c.SetColor(col)
			c.Fill(r.Path())
			// White text on dark cells, black on light ones.
			r8, g8, b8, _ := col.RGBA()
			lum := (0.2126*float64(r8) + 0.7152*float64(g8) + 0.0722*float64(b8)) / 65535
			st := mark
			if lum > 0.5 {
				st.Color = color.Black
			}
			cx, cy := (r.Min.X+r.Max.X)/2, (r.Min.Y+r.Max.Y)/2
			label := ""
			if h.annotate && !math.IsNaN(v) {
				label = fmt.Sprintf("%.3g", v)
				st.Font = sansFace(TickSize - 1)
			}
			if h.marks != nil && x < len(h.marks[y]) && h.marks[y][x] {
				label += "*"
			}
			if label != "" {
				c.FillText(st, vg.Point{X: cx, Y: cy}, label)
			}
		}
	}
}

func (h *cells) DataRange() (xmin, xmax, ymin, ymax float64) {
	return -0.5, float64(len(h.z[0])) - 0.5, -0.5, float64(len(h.z)) - 0.5
}

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

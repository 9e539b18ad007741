package figures

import (
	"fmt"
	"math"

	"github.com/qlab-dev/qlab/qlab/analysis"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// layerAxis makes p's x axis nominal over the layer names (x = 0..n-1),
// rotating the labels when they would not fit side by side in a panel
// about widthIn inches wide (0 means the column width).
func layerAxis(p *plot.Plot, layers []string, xlabel string, widthIn ...float64) {
	ticks := make([]plot.Tick, len(layers))
	var need vg.Length
	for i, l := range layers {
		ticks[i] = plot.Tick{Value: float64(i), Label: l}
		need += p.X.Tick.Label.Width(l) + vg.Points(4)
	}
	avail := vg.Length(ColumnWidth) * vg.Inch
	if len(widthIn) > 0 && widthIn[0] > 0 {
		avail = vg.Length(widthIn[0]) * vg.Inch
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Min, p.X.Max = -0.6, float64(len(layers))-0.4
	// The data area is what is left after the y axis (~0.45 in).
	if need > avail-vg.Length(0.45)*vg.Inch {
		p.X.Tick.Label.Rotation = math.Pi / 4
		p.X.Tick.Label.XAlign = draw.XRight
		p.X.Tick.Label.YAlign = draw.YCenter
	}
	p.X.Label.Text = xlabel
}

// Box is a five-number summary drawn as a box plot: whiskers from Low to
// High, box from Q1 to Q3, a line at the median.
type Box struct {
	Low, Q1, Median, Q3, High float64
}

// BoxSeries is one model's boxes, one per layer.
type BoxSeries struct {
	Name  string
	Boxes []Box
}

// boxes draws one series' boxes at x = layer index + offset.
type boxes struct {
	b      []Box
	offset float64 // in x units
	width  float64 // in x units
	color  int
}

func (bx *boxes) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	col := Color(bx.color)
	ls := draw.LineStyle{Color: col, Width: vg.Points(0.7)}
	for i, b := range bx.b {
		if math.IsNaN(b.Median) {
			continue
		}
		x := float64(i) + bx.offset
		x0, x1, xm := tx(x-bx.width/2), tx(x+bx.width/2), tx(x)
		q1, q3, md := ty(b.Q1), ty(b.Q3), ty(b.Median)
		rect := vg.Rectangle{Min: vg.Point{X: x0, Y: q1}, Max: vg.Point{X: x1, Y: q3}}
		c.SetColor(withAlpha(col, 0.25))
		c.Fill(rect.Path())
		c.StrokeLines(ls, []vg.Point{{X: x0, Y: q1}, {X: x1, Y: q1}, {X: x1, Y: q3}, {X: x0, Y: q3}, {X: x0, Y: q1}})
		med := ls
		med.Width = vg.Points(1.2)
		c.StrokeLine2(med, x0, md, x1, md)
		c.StrokeLine2(ls, xm, q3, xm, ty(b.High))
		c.StrokeLine2(ls, xm, q1, xm, ty(b.Low))
		cap := (x1 - x0) / 4
		c.StrokeLine2(ls, xm-cap, ty(b.High), xm+cap, ty(b.High))
		c.StrokeLine2(ls, xm-cap, ty(b.Low), xm+cap, ty(b.Low))
	}
}

func (bx *boxes) DataRange() (xmin, xmax, ymin, ymax float64) {
	ymin, ymax = math.Inf(1), math.Inf(-1)
	for _, b := range bx.b {
		if math.IsNaN(b.Median) {
			continue
		}
		ymin, ymax = math.Min(ymin, b.Low), math.Max(ymax, b.High)
	}
	return -0.5, float64(len(bx.b)) - 0.5, ymin, ymax
}

// Thumbnail draws a small filled box for the legend.
func (bx *boxes) Thumbnail(c *draw.Canvas) {
	col := Color(bx.color)
	r := vg.Rectangle{Min: vg.Point{X: c.Min.X + vg.Points(2), Y: c.Min.Y}, Max: vg.Point{X: c.Max.X - vg.Points(2), Y: c.Max.Y}}
	c.SetColor(withAlpha(col, 0.25))
	c.Fill(r.Path())
	c.StrokeLines(draw.LineStyle{Color: col, Width: vg.Points(0.7)}, []vg.Point{r.Min, {X: r.Max.X, Y: r.Min.Y}, r.Max, {X: r.Min.X, Y: r.Max.Y}, r.Min})
}

// BoxOptions configure LayerBoxes. The zero value labels the axes "layer"
// and "value".
type BoxOptions struct {
	XLabel, YLabel string
	Width, Height  float64 // inches; 0 for the defaults
}

// LayerBoxes draws per-layer box plots along depth, the series (e.g.
// initializers) side by side within each layer in colours 0, 1, ...
func LayerBoxes(layers []string, series []BoxSeries, opts BoxOptions) (*Figure, error) {
	if len(layers) == 0 || len(series) == 0 {
		return nil, fmt.Errorf("figures: layer boxes: %d layers, %d series", len(layers), len(series))
	}
	p := NewPlot()
	layerAxis(p, layers, orDefault(opts.XLabel, "layer"))
	p.Y.Label.Text = orDefault(opts.YLabel, "value")
	f := Single(p)
	f.Width, f.Height = opts.Width, opts.Height
	slot := 0.8 / float64(len(series))
	for si, s := range series {
		if len(s.Boxes) != len(layers) {
			return nil, fmt.Errorf("figures: layer boxes: series %q has %d boxes for %d layers", s.Name, len(s.Boxes), len(layers))
		}
		bx := &boxes{b: s.Boxes, offset: -0.4 + slot*(float64(si)+0.5), width: slot * 0.8, color: si}
		p.Add(bx)
		f.Legend = append(f.Legend, LegendEntry{Label: s.Name, Thumbs: []plot.Thumbnailer{bx}})
	}
	layerAxis(p, layers, p.X.Label.Text) // Add widened X to the boxes' range
	padY(p, 0.03)
	if len(series) < 2 {
		f.Legend = nil
	}
	return f, nil
}

// BoxesFromTable reads one Box per row of an analysis summary table
// (LayerStats.Table): whiskers at the 1st and 99th percentiles, box at the
// quartiles. It returns the layer names too.
func BoxesFromTable(t *analysis.Table) ([]string, []Box, error) {
	layers, err := t.Strings("layer")
	if err != nil {
		return nil, nil, fmt.Errorf("figures: %w", err)
	}
	var cols [5][]float64
	for i, c := range []string{"p1", "p25", "p50", "p75", "p99"} {
		if cols[i], err = t.Floats(c); err != nil {
			return nil, nil, fmt.Errorf("figures: %w", err)
		}
	}
	out := make([]Box, len(layers))
	for i := range out {
		out[i] = Box{Low: cols[0][i], Q1: cols[1][i], Median: cols[2][i], Q3: cols[3][i], High: cols[4][i]}
	}
	return layers, out, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// RangeOptions configure RangeBars. The zero value uses a log y axis
// labelled "range" (ranges across layers span decades).
type RangeOptions struct {
	// LinearY uses a linear y axis instead of the default log axis.
	LinearY        bool
	XLabel, YLabel string
	Width, Height  float64
}

// RangeBars draws each layer's per-tensor dynamic range as a bar and its
// per-channel ranges as points over it (spread across the bar
// deterministically so they do not overlap), showing the
// channelwise/layerwise mismatch along depth. channelRanges may be nil, or
// have nil entries for layers without channels.
// On the default log axis the y range runs from the 1–2–5 value at or
// below half the smallest positive range to the one at or above the
// largest, so both ends carry labels.
func RangeBars(layers []string, tensorRange []float64, channelRanges [][]float64, opts RangeOptions) (*Figure, error) {
	if len(layers) == 0 || len(tensorRange) != len(layers) || (channelRanges != nil && len(channelRanges) != len(layers)) {
		return nil, fmt.Errorf("figures: range bars: %d layers, %d tensor ranges, %d channel lists", len(layers), len(tensorRange), len(channelRanges))
	}
	p := NewPlot()
	layerAxis(p, layers, orDefault(opts.XLabel, "layer"))
	p.Y.Label.Text = orDefault(opts.YLabel, "range")
	logY := !opts.LinearY
	lo, hi := math.Inf(1), 0.0
	for _, r := range tensorRange {
		if r > 0 {
			lo, hi = math.Min(lo, r), math.Max(hi, r)
		}
	}
	for _, cr := range channelRanges {
		for _, r := range cr {
			if r > 0 {
				lo, hi = math.Min(lo, r), math.Max(hi, r)
			}
		}
	}
	base := 0.0
	if logY {
		if math.IsInf(lo, 1) {
			return nil, fmt.Errorf("figures: range bars: no positive range for a log axis")
		}
		// Start and end the axis on labelled 1–2–5 ticks, so the lowest
		// decade in view is labelled.
		base = snap125(lo/2, false)
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
	}
	bars := &rangeBars{vals: tensorRange, base: base}
	p.Add(bars)
	var pts plotter.XYs
	for l, cr := range channelRanges {
		for c, r := range cr {
			if logY && r <= 0 {
				continue // a dead channel has no place on a log axis
			}
			// Golden-ratio sequence: even, deterministic spread in [-0.3, 0.3].
			j := math.Mod(float64(c)*0.6180339887498949, 1) - 0.5
			pts = append(pts, plotter.XY{X: float64(l) + 0.6*j, Y: r})
		}
	}
	f := Single(p)
	f.Width, f.Height = opts.Width, opts.Height
	f.Legend = []LegendEntry{{Label: "per tensor", Thumbs: []plot.Thumbnailer{bars}}}
	if len(pts) > 0 {
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return nil, fmt.Errorf("figures: range bars: %w", err)
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: withAlpha(Vermillion, 0.75), Radius: vg.Points(0.9), Shape: draw.CircleGlyph{}}
		p.Add(sc)
		f.Legend = append(f.Legend, LegendEntry{Label: "per channel", Thumbs: []plot.Thumbnailer{sc}})
	}
	layerAxis(p, layers, p.X.Label.Text)
	if logY {
		p.Y.Min, p.Y.Max = base, snap125(hi, true)
	} else {
		p.Y.Min = 0
	}
	return f, nil
}

// rangeBars draws bars from base to each value, centred on the layers.
type rangeBars struct {
	vals []float64
	base float64
}

func (rb *rangeBars) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	for i, v := range rb.vals {
		if !(v > rb.base) {
			continue
		}
		r := vg.Rectangle{Min: vg.Point{X: tx(float64(i) - 0.38), Y: ty(rb.base)}, Max: vg.Point{X: tx(float64(i) + 0.38), Y: ty(v)}}
		c.SetColor(withAlpha(SkyBlue, 0.55))
		c.Fill(r.Path())
		c.StrokeLines(draw.LineStyle{Color: Blue, Width: vg.Points(0.5)}, []vg.Point{r.Min, {X: r.Min.X, Y: r.Max.Y}, r.Max, {X: r.Max.X, Y: r.Min.Y}})
	}
}

func (rb *rangeBars) DataRange() (xmin, xmax, ymin, ymax float64) {
	ymin, ymax = rb.base, rb.base
	for _, v := range rb.vals {
		ymax = math.Max(ymax, v)
	}
	return -0.5, float64(len(rb.vals)) - 0.5, ymin, ymax
}

func (rb *rangeBars) Thumbnail(c *draw.Canvas) {
	r := vg.Rectangle{Min: vg.Point{X: c.Min.X + vg.Points(3), Y: c.Min.Y}, Max: vg.Point{X: c.Max.X - vg.Points(3), Y: c.Max.Y}}
	c.SetColor(withAlpha(SkyBlue, 0.55))
	c.Fill(r.Path())
}

// RangeBarsFromStats draws RangeBars for the layers of s that have
// per-channel statistics, using ranges with 0 included (what an affine
// quantizer covers).
func RangeBarsFromStats(s *analysis.LayerStats, opts RangeOptions) (*Figure, error) {
	ch := s.ChannelTable()
	var layers []string
	var tr []float64
	var cr [][]float64
	for i, a := range s.Accs {
		chans := a.Channels()
		if len(chans) == 0 {
			continue
		}
		rows := ch.Where("layer", s.Layers[i])
		r, err := rows.Floats("range")
		if err != nil {
			return nil, fmt.Errorf("figures: %w", err)
		}
		m := a.Moments()
		layers = append(layers, s.Layers[i])
		tr = append(tr, math.Max(m.Max, 0)-math.Min(m.Min, 0))
		cr = append(cr, r)
	}
	if len(layers) == 0 {
		return nil, fmt.Errorf("figures: range bars: stats %q have no per-channel statistics", s.Name)
	}
	return RangeBars(layers, tr, cr, opts)
}

// ErrorSeries is one model's per-layer error metric: measured with only
// that layer quantized (Isolated) and with every layer up to it quantized
// (Propagated). Either may be nil; NaN values leave gaps.
type ErrorSeries struct {
	Name                 string
	Isolated, Propagated []float64
}

// LineOptions configure ErrorLines and RangeOverTraining. The zero value
// uses linear axes labelled by the figure kind.
type LineOptions struct {
	LogY           bool
	XLabel, YLabel string
	Width, Height  float64
}

// ErrorLines draws a per-layer error metric (SQNR in dB, MSE, rmse/scale)
// along depth, one colour per series, isolated solid and propagated dashed.
func ErrorLines(layers []string, series []ErrorSeries, opts LineOptions) (*Figure, error) {
	if len(layers) == 0 || len(series) == 0 {
		return nil, fmt.Errorf("figures: error lines: %d layers, %d series", len(layers), len(series))
	}
	p := NewPlot()
	layerAxis(p, layers, orDefault(opts.XLabel, "layer"))
	p.Y.Label.Text = orDefault(opts.YLabel, "SQNR (dB)")
	if opts.LogY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
	}
	f := Single(p)
	f.Width, f.Height = opts.Width, opts.Height
	var anyIso, anyProp bool
	for si, s := range series {
		var thumbs []plot.Thumbnailer
		for k, ys := range [][]float64{s.Isolated, s.Propagated} {
			if ys == nil {
				continue
			}
			if len(ys) != len(layers) {
				return nil, fmt.Errorf("figures: error lines: series %q has %d values for %d layers", s.Name, len(ys), len(layers))
			}
			ls, err := seriesLine(ys, si, k == 1, opts.LogY)
			if err != nil {
				return nil, fmt.Errorf("figures: error lines: series %q: %w", s.Name, err)
			}
			for _, l := range ls {
				p.Add(l)
			}
			if k == 0 {
				anyIso = true
			} else {
				anyProp = true
			}
			if len(thumbs) == 0 && len(ls) > 0 {
				thumbs = []plot.Thumbnailer{solidThumb{si}}
			}
		}
		f.Legend = append(f.Legend, LegendEntry{Label: s.Name, Thumbs: thumbs})
	}
	if anyIso && anyProp {
		f.Legend = append(f.Legend,
			LegendEntry{Label: "isolated", Thumbs: []plot.Thumbnailer{styleThumb{draw.LineStyle{Color: axisGray, Width: vg.Points(1)}}}},
			LegendEntry{Label: "propagated", Thumbs: []plot.Thumbnailer{styleThumb{draw.LineStyle{Color: axisGray, Width: vg.Points(1), Dashes: lineStyle(0, true).Dashes}}}})
	}
	layerAxis(p, layers, p.X.Label.Text)
	return f, nil
}

// seriesLine returns line-and-point plotters for ys at x = 0..n-1, split
// at NaN (and at non-positive values on a log axis).
func seriesLine(ys []float64, color int, dashed, logY bool) ([]plot.Plotter, error) {
	var out []plot.Plotter
	var seg plotter.XYs
	flush := func() error {
		if len(seg) == 0 {
			return nil
		}
		l, s, err := plotter.NewLinePoints(seg)
		if err != nil {
			return err
		}
		l.LineStyle = lineStyle(color, dashed)
		s.GlyphStyle = draw.GlyphStyle{Color: Color(color), Radius: vg.Points(1.3), Shape: draw.CircleGlyph{}}
		if dashed {
			s.GlyphStyle.Shape = draw.RingGlyph{}
		}
		out = append(out, l, s)
		seg = nil
		return nil
	}
	for i, y := range ys {
		if math.IsNaN(y) || math.IsInf(y, 0) || (logY && y <= 0) {
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		}
		seg = append(seg, plotter.XY{X: float64(i), Y: y})
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// solidThumb is a legend swatch: a short solid line in series colour i.
type solidThumb struct{ i int }

func (s solidThumb) Thumbnail(c *draw.Canvas) {
	styleThumb{draw.LineStyle{Color: Color(s.i), Width: vg.Points(1.5)}}.Thumbnail(c)
}

// styleThumb is a legend swatch: a horizontal line in the given style.
type styleThumb struct{ ls draw.LineStyle }

func (s styleThumb) Thumbnail(c *draw.Canvas) {
	y := (c.Min.Y + c.Max.Y) / 2
	c.StrokeLine2(s.ls, c.Min.X, y, c.Max.X, y)
}

// padY widens a linear y axis by frac of its span at both ends, so marks
// at the data's extremes do not sit on the frame.
func padY(p *plot.Plot, frac float64) {
	d := (p.Y.Max - p.Y.Min) * frac
	p.Y.Min -= d
	p.Y.Max += d
}

package figures

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

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

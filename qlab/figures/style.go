package figures

import (
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Font sizes of the house style, in points, chosen to stay readable when a
// 3.4 in wide figure is printed at its natural size.
const (
	TitleSize = 8.5
	LabelSize = 8
	TickSize  = 7
)

// ColumnWidth is the default figure width: one column of a two-column
// paper, in inches.
const ColumnWidth = 3.4

// Okabe–Ito colours (Okabe & Ito 2008, "Color Universal Design"),
// distinguishable under the common colour-vision deficiencies.
var (
	Black         = color.RGBA{0x00, 0x00, 0x00, 0xff}
	Orange        = color.RGBA{0xE6, 0x9F, 0x00, 0xff}
	SkyBlue       = color.RGBA{0x56, 0xB4, 0xE9, 0xff}
	BluishGreen   = color.RGBA{0x00, 0x9E, 0x73, 0xff}
	Yellow        = color.RGBA{0xF0, 0xE4, 0x42, 0xff}
	Blue          = color.RGBA{0x00, 0x72, 0xB2, 0xff}
	Vermillion    = color.RGBA{0xD5, 0x5E, 0x00, 0xff}
	ReddishPurple = color.RGBA{0xCC, 0x79, 0xA7, 0xff}
)

// Palette is the series colour order: the Okabe–Ito colours with the
// strongest contrast on white first (yellow last).
var Palette = []color.Color{Blue, Vermillion, BluishGreen, Orange, ReddishPurple, SkyBlue, Black, Yellow}

// Color returns the i-th series colour, cycling through Palette.
func Color(i int) color.Color { return Palette[((i%len(Palette))+len(Palette))%len(Palette)] }

// Dashes returns the i-th line dash pattern (solid first), for series that
// must also differ in print without colour.
func Dashes(i int) []vg.Length {
	pats := [][]vg.Length{nil, {vg.Points(3), vg.Points(1.5)}, {vg.Points(1), vg.Points(1)}, {vg.Points(4), vg.Points(1.2), vg.Points(1), vg.Points(1.2)}}
	return pats[((i%len(pats))+len(pats))%len(pats)]
}

var (
	sans     = font.Font{Typeface: "Liberation", Variant: "Sans"}
	gridGray = color.Gray{0xE0}
	axisGray = color.Gray{0x40}
)

func sansFace(size float64) font.Font {
	f := sans
	f.Size = vg.Points(size)
	return f
}

// Style applies the house style to p: sans-serif fonts at TitleSize,
// LabelSize and TickSize, thin dark-grey axes with short ticks, tight
// padding, and a legend with small entries. It adds no grid (see Grid).
func Style(p *plot.Plot) {
	// Titles are regular weight: gonum's PDF backend cannot embed
	// Liberation Sans Bold ("undefined font"), and a figure must look the
	// same in every format.
	p.Title.TextStyle.Font = font.From(sans, vg.Points(TitleSize))
	p.Title.Padding = vg.Points(3)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(sans, vg.Points(LabelSize))
		a.Label.Padding = vg.Points(2)
		a.Tick.Label.Font = font.From(sans, vg.Points(TickSize))
		a.LineStyle.Width = vg.Points(0.5)
		a.LineStyle.Color = axisGray
		a.Tick.LineStyle.Width = vg.Points(0.5)
		a.Tick.LineStyle.Color = axisGray
		a.Tick.Length = vg.Points(2.5)
		a.Padding = vg.Points(1)
		a.Tick.Marker = cleanTicks{}
	}
	p.Legend.TextStyle.Font = font.From(sans, vg.Points(TickSize))
	p.Legend.ThumbnailWidth = vg.Points(12)
	p.Legend.Padding = vg.Points(0.5)
}

// NewPlot returns a plot in the house style with a thin grid behind the
// data.
func NewPlot() *plot.Plot {
	p := plot.New()
	Style(p)
	p.Add(Grid())
	return p
}

// Grid returns the house grid: 0.25 pt light-grey lines at the major ticks.
func Grid() *plotter.Grid {
	g := plotter.NewGrid()
	g.Vertical.Width = vg.Points(0.25)
	g.Vertical.Color = gridGray
	g.Horizontal.Width = vg.Points(0.25)
	g.Horizontal.Color = gridGray
	return g
}

// lineStyle returns the style of series i: its colour, 1 pt wide, dashed
// when dashed is true.
func lineStyle(i int, dashed bool) draw.LineStyle {
	ls := draw.LineStyle{Color: Color(i), Width: vg.Points(1)}
	if dashed {
		ls.Dashes = []vg.Length{vg.Points(3), vg.Points(1.5)}
	}
	return ls
}

// withAlpha returns c at the given opacity (premultiplied).
func withAlpha(c color.Color, a float64) color.Color {
	r, g, b, _ := c.RGBA()
	return color.NRGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), uint8(a * 255)}
}

// cleanTicks is the house tick marker: 3–6 major ticks at "nice" steps
// (1, 2, 2.5 or 5 × 10^k), no minor ticks (they clutter small panels), and
// labels in shortest form ("2.5", not "2.50").
type cleanTicks struct{}

func (cleanTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return (plot.DefaultTicks{}).Ticks(lo, hi)
	}
	raw := (hi - lo) / 4
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var out []plot.Tick
	for k := math.Ceil(lo/step - 1e-9); k*step <= hi+step*1e-9; k++ {
		v := k * step
		if math.Abs(v) < step*1e-9 {
			v = 0
		}
		out = append(out, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', 6, 64)})
	}
	return out
}

func nan() float64 { return math.NaN() }

// logTicks marks a log axis the usual way: a labelled tick at every power
// of ten inside the axis range (every other one past 8 decades), unlabelled
// minor ticks at 2–9 × 10^k when the axis spans under 4 decades, and, when
// it spans two decades or less (hi/lo ≤ 100), labels at 2 and 5 × 10^k
// too, so that no stretch of the axis is left unlabelled. Where that still
// gives fewer than two labels (e.g. 6–15) every m × 10^k is labelled if
// that makes three or more, else (e.g. 0.012–0.03) linear steps are used. Labels are in shortest form: gonum's LogTicks prints 1e-4 as
// "9.999999999999999e-05" and also returns the enclosing powers of ten,
// for which the plot reserves blank margins.
type logTicks struct{}

// logTickTol absorbs the rounding of 10^k so that a power of ten at the
// very edge of the axis is kept.
const logTickTol = 1e-9

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0) || !(hi > lo) || math.IsInf(hi, 0) {
		return cleanTicks{}.Ticks(lo, hi)
	}
	in := func(v float64) bool { return v >= lo*(1-logTickTol) && v <= hi*(1+logTickTol) }
	label := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	e0, e1 := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	decades := math.Log10(hi / lo)
	var out []plot.Tick
	if decades <= 2+logTickTol {
		labelled := 0
		for e := e0; e <= e1; e++ {
			for m := 1.0; m <= 9; m++ {
				v := m * math.Pow(10, e)
				if !in(v) {
					continue
				}
				if m == 1 || m == 2 || m == 5 {
					out = append(out, plot.Tick{Value: v, Label: label(v)})
					labelled++
				} else {
					out = append(out, plot.Tick{Value: v})
				}
			}
		}
		if labelled >= 2 {
			return out
		}
		var all []plot.Tick
		for _, t := range out {
			all = append(all, plot.Tick{Value: t.Value, Label: label(t.Value)})
		}
		if len(all) >= 3 {
			return all
		}
		// Too narrow for any two m × 10^k: linear steps read best.
		out = nil
		for _, t := range (cleanTicks{}).Ticks(lo, hi) {
			if t.Value > 0 {
				out = append(out, t)
			}
		}
		return out
	}
	step := 1.0
	if decades > 8 {
		step = 2
	}
	for e := e0; e <= e1; e++ {
		v := math.Pow(10, e)
		if in(v) && math.Mod(e, step) == 0 {
			out = append(out, plot.Tick{Value: v, Label: label(v)})
		}
		if decades >= 4 {
			continue
		}
		for m := 2.0; m <= 9; m++ {
			if w := m * v; in(w) {
				out = append(out, plot.Tick{Value: w})
			}
		}
	}
	return out
}

// intTicks marks an axis of whole numbers (epochs): the cleanTicks steps,
// but never finer than 1 and never 2.5, so no tick falls between epochs.
type intTicks struct{}

func (intTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return (plot.DefaultTicks{}).Ticks(lo, hi)
	}
	raw := (hi - lo) / 4
	step := 1.0
	if raw > 1 {
		mag := math.Pow(10, math.Floor(math.Log10(raw)))
		step = 10 * mag
		for _, m := range []float64{1, 2, 2.5, 5, 10} {
			if m*mag >= raw && math.Trunc(m*mag) == m*mag {
				step = m * mag
				break
			}
		}
	}
	var out []plot.Tick
	for k := math.Ceil(lo/step - 1e-9); k*step <= hi+step*1e-9; k++ {
		v := k * step
		if v == 0 {
			v = 0 // not -0
		}
		out = append(out, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
	}
	return out
}

// snap125 returns the largest (up false) or smallest (up true) value of
// the 1–2–5 sequence (m × 10^k, m ∈ {1, 2, 5}) at or below / above v > 0,
// so that a log axis starts and ends on a labelled tick.
func snap125(v float64, up bool) float64 {
	e := math.Floor(math.Log10(v))
	cands := []float64{}
	for _, k := range []float64{e - 1, e, e + 1} {
		for _, m := range []float64{1, 2, 5} {
			cands = append(cands, m*math.Pow(10, k))
		}
	}
	best := math.NaN()
	for _, c := range cands {
		switch {
		case up && c >= v*(1-logTickTol) && !(c >= best):
			best = c
		case !up && c <= v*(1+logTickTol) && !(c <= best):
			best = c
		}
	}
	return best
}

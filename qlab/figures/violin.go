package figures

import (
	"fmt"
	"math"

	"github.com/qlab-dev/qlab/qlab/analysis"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// ViolinSeries is one model's distributions along depth: one histogram per
// layer (drawn as a mirrored density), and optionally the medians (NaN or
// a nil slice for none).
type ViolinSeries struct {
	Name    string
	Hists   []*analysis.Histogram
	Medians []float64
}

// violins draws one series' violins at x = layer index + offset, each
// scaled so its widest bin spans the slot width.
type violins struct {
	s      ViolinSeries
	offset float64
	width  float64
	color  int
}

func (v *violins) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	col := Color(v.color)
	ls := draw.LineStyle{Color: col, Width: vg.Points(0.6)}
	for i, h := range v.s.Hists {
		if h == nil {
			continue
		}
		d := h.Density()
		peak := 0.0
		for _, y := range d {
			peak = math.Max(peak, y)
		}
		if peak == 0 {
			continue
		}
		x := float64(i) + v.offset
		edges := h.Bins.Edges()
		// Trim empty bins at both ends: with bins shared across models a
		// narrow distribution would otherwise trail a zero-width line over
		// the whole shared range.
		first, last := 0, len(d)-1
		for d[first] == 0 {
			first++
		}
		for d[last] == 0 {
			last--
		}
		var left, right []vg.Point
		// Close the shape at the outer edges, trace bin centres between.
		left = append(left, vg.Point{X: tx(x), Y: ty(edges[first])})
		for j := first; j <= last; j++ {
			y := d[j]
			w := v.width / 2 * y / peak
			yc := ty((edges[j] + edges[j+1]) / 2)
			left = append(left, vg.Point{X: tx(x - w), Y: yc})
			right = append(right, vg.Point{X: tx(x + w), Y: yc})
		}
		left = append(left, vg.Point{X: tx(x), Y: ty(edges[last+1])})
		pts := left
		for j := len(right) - 1; j >= 0; j-- {
			pts = append(pts, right[j])
		}
		pts = append(pts, left[0])
		c.FillPolygon(withAlpha(col, 0.3), pts)
		c.StrokeLines(ls, pts)
		if i < len(v.s.Medians) && !math.IsNaN(v.s.Medians[i]) {
			m := ty(v.s.Medians[i])
			med := draw.LineStyle{Color: col, Width: vg.Points(1.2)}
			c.StrokeLine2(med, tx(x-v.width/4), m, tx(x+v.width/4), m)
		}
	}
}

func (v *violins) DataRange() (xmin, xmax, ymin, ymax float64) {
	ymin, ymax = math.Inf(1), math.Inf(-1)
	for _, h := range v.s.Hists {
		if h != nil {
			ymin, ymax = math.Min(ymin, h.Bins.Lo), math.Max(ymax, h.Bins.Hi)
		}
	}
	return -0.5, float64(len(v.s.Hists)) - 0.5, ymin, ymax
}

func (v *violins) Thumbnail(c *draw.Canvas) { (&boxes{color: v.color}).Thumbnail(c) }

// LayerViolins draws per-layer violin plots along depth, the series (e.g.
// initializers) side by side within each layer.
func LayerViolins(layers []string, series []ViolinSeries, opts BoxOptions) (*Figure, error) {
	if len(layers) == 0 || len(series) == 0 {
		return nil, fmt.Errorf("figures: layer violins: %d layers, %d series", len(layers), len(series))
	}
	p := NewPlot()
	p.Y.Label.Text = orDefault(opts.YLabel, "value")
	f := Single(p)
	f.Width, f.Height = opts.Width, opts.Height
	slot := 0.84 / float64(len(series))
	for si, s := range series {
		if len(s.Hists) != len(layers) {
			return nil, fmt.Errorf("figures: layer violins: series %q has %d histograms for %d layers", s.Name, len(s.Hists), len(layers))
		}
		v := &violins{s: s, offset: -0.42 + slot*(float64(si)+0.5), width: slot * 0.92, color: si}
		p.Add(v)
		f.Legend = append(f.Legend, LegendEntry{Label: s.Name, Thumbs: []plot.Thumbnailer{v}})
	}
	layerAxis(p, layers, orDefault(opts.XLabel, "layer"), opts.Width)
	padY(p, 0.03)
	if len(series) < 2 {
		f.Legend = nil
	}
	return f, nil
}

// ViolinsFromStats builds LayerViolins input from the same layers measured
// in several models: per layer, bins shared across the models spanning
// their 0.1st to 99.9th percentiles (so one outlier does not flatten the
// violin), with the given number of bins (0 means 40), and the medians.
func ViolinsFromStats(models []string, stats []*analysis.LayerStats, bins int) ([]string, []ViolinSeries, error) {
	if len(models) != len(stats) || len(stats) == 0 {
		return nil, nil, fmt.Errorf("figures: violins: %d model names for %d stats", len(models), len(stats))
	}
	if bins <= 0 {
		bins = 40
	}
	series := make([]ViolinSeries, len(models))
	for i := range series {
		series[i].Name = models[i]
	}
	layers := stats[0].Layers
	for _, layer := range layers {
		lo, hi := math.Inf(1), math.Inf(-1)
		accs := make([]*analysis.Accumulator, len(stats))
		for i, s := range stats {
			if accs[i] = s.Get(layer); accs[i] == nil || accs[i].Count() == 0 {
				return nil, nil, fmt.Errorf("figures: violins: model %q has no data for layer %q", models[i], layer)
			}
			q := accs[i].Percentiles(0.1, 99.9)
			lo, hi = math.Min(lo, q[0]), math.Max(hi, q[1])
		}
		if hi <= lo {
			lo, hi = lo-0.5, hi+0.5
		}
		b := analysis.Bins{Lo: lo, Hi: hi, N: bins}
		for i, a := range accs {
			h, err := a.Histogram(b)
			if err != nil {
				return nil, nil, fmt.Errorf("figures: violins: layer %q: %w", layer, err)
			}
			series[i].Hists = append(series[i].Hists, h)
			series[i].Medians = append(series[i].Medians, a.Percentile(50))
		}
	}
	return append([]string(nil), layers...), series, nil
}

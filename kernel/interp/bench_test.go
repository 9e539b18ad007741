package interp

import (
	"context"
	"testing"
	"time"

	"github.com/qlab-dev/qlab/qlab/display"
)

func BenchmarkExecuteTrivial(b *testing.B) {
	in := newInterp(b, Options{})
	r := newRecorder()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := in.Execute(context.Background(), "x := 1\nx + 1", r); err != nil {
			b.Fatal(err)
		}
	}
}

// histCell draws ten histograms of 2,000 seeded normal samples in a 2x5
// grid and returns the figure as PNG + SVG, the way a notebook cell
// showing per-layer weight distributions does.
const histCell = `import (
	"fmt"
	"math/rand"

	"github.com/qlab-dev/qlab/qlab/display"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)
rng := rand.New(rand.NewSource(1))
plots := make([][]*plot.Plot, 2)
for r := 0; r < 2; r++ {
	plots[r] = make([]*plot.Plot, 5)
	for c := 0; c < 5; c++ {
		p := plot.New()
		p.Title.Text = fmt.Sprintf("layer %d", r*5+c)
		v := make(plotter.Values, 2000)
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		h, err := plotter.NewHist(v, 40)
		if err != nil {
			panic(err)
		}
		p.Add(h)
		plots[r][c] = p
	}
}
display.Drawing(func(cv draw.Canvas) {
	canvases := plot.Align(plots, draw.Tiles{Rows: 2, Cols: 5}, cv)
	for r := range plots {
		for c := range plots[r] {
			plots[r][c].Draw(canvases[r][c])
		}
	}
}, "weight histograms", display.PlotOptions{Width: 15 * vg.Inch, Height: 6 * vg.Inch})`

func TestHistogramFigureCell(t *testing.T) {
	in := newInterp(t, Options{})
	d, err, _ := run(t, in, histCell)
	if err != nil {
		t.Fatal(err)
	}
	if d == nil {
		t.Fatal("no result")
	}
	for _, m := range []display.MIME{display.MIMEPNG, display.MIMESVG, display.MIMEPlain} {
		if _, ok := d.Data[m]; !ok {
			t.Errorf("result lacks %s", m)
		}
	}
	md, _ := d.Metadata[display.MIMEPNG].(map[string]any)
	if md["width"] != 1440 || md["height"] != 576 {
		t.Errorf("PNG size: got %v; want 1440x576 (15x6 in at 96 DPI)", md)
	}
}

func BenchmarkHistogramFigureCell(b *testing.B) {
	in := newInterp(b, Options{})
	r := newRecorder()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		d, err := in.Execute(context.Background(), histCell, r)
		if err != nil || d == nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(b.N), "ms/cell")
}

package figures

import (
	"bytes"
	"encoding/xml"
	"flag"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var regen = flag.Bool("regen", false, "rewrite the golden images in testdata/")

// goldenDPI keeps the committed images small; it still exercises every
// glyph and line of a figure.
const goldenDPI = 100

// Tolerance of the golden comparison: a pixel differs when any channel
// differs by more than pixelTol (of 255); at most maxDiffFrac of the pixels
// may differ (anti-aliasing and font hinting vary slightly across
// platforms, layout changes move thousands of pixels).
const (
	pixelTol    = 24
	maxDiffFrac = 0.002
)

var goldenFigures = []struct {
	name string
	fig  func() *Figure
}{
	{"histogram_grid", exampleHistFigure},
	{"layer_boxes", exampleBoxFigure},
	{"range_bars", exampleRangeFigure},
	{"error_lines", exampleErrorFigure},
	{"accuracy_bars", exampleAccuracyFigure},
	{"heatmap", exampleHeatmapFigure},
	{"training_curves", exampleTrainingFigure},
	{"range_over_training", exampleRangeTrainingFigure},
	{"layer_violins", exampleViolinFigure},
}

func TestGoldenImages(t *testing.T) {
	for _, g := range goldenFigures {
		t.Run(g.name, func(t *testing.T) {
			fig := g.fig()
			got, err := fig.Render(FormatPNG, goldenDPI)
			if err != nil {
				t.Fatal(err)
			}
			// Every backend must draw every figure kind (fonts, images and
			// dashes are backend-specific).
			for _, fm := range []Format{FormatSVG, FormatPDF, FormatEPS} {
				if b, err := fig.Render(fm, 0); err != nil || len(b) == 0 {
					t.Errorf("render %s: %d bytes, %v", fm, len(b), err)
				}
			}
			path := filepath.Join("testdata", g.name+"_golden.png")
			if *regen {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -regen to create it)", err)
			}
			frac, err := diffFraction(got, want)
			if err != nil || frac > maxDiffFrac {
				out := filepath.Join(t.TempDir(), g.name+".png")
				os.WriteFile(out, got, 0o644)
				t.Errorf("%s: %.4f of pixels differ (max %.4f), err %v; got image written to %s", g.name, frac, maxDiffFrac, err, out)
			}
		})
	}
}

// diffFraction decodes two PNGs and returns the fraction of pixels that
// differ by more than pixelTol in some channel; an error if sizes differ.
func diffFraction(a, b []byte) (float64, error) {
	ia, err := png.Decode(bytes.NewReader(a))
	if err != nil {
		return 1, err
	}
	ib, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return 1, err
	}
	if ia.Bounds() != ib.Bounds() {
		return 1, errSize{ia.Bounds(), ib.Bounds()}
	}
	r := ia.Bounds()
	diff := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, a1 := ia.At(x, y).RGBA()
			r2, g2, b2, a2 := ib.At(x, y).RGBA()
			for _, d := range [4][2]uint32{{r1, r2}, {g1, g2}, {b1, b2}, {a1, a2}} {
				if absDiff(d[0]>>8, d[1]>>8) > pixelTol {
					diff++
					break
				}
			}
		}
	}
	return float64(diff) / float64(r.Dx()*r.Dy()), nil
}

type errSize [2]image.Rectangle

func (e errSize) Error() string {
	return "image sizes differ: " + e[0].String() + " vs " + e[1].String()
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

func TestDiffFractionDetectsChange(t *testing.T) {
	a, _ := exampleErrorFigure().Render(FormatPNG, goldenDPI)
	f := exampleErrorFigure()
	f.Panels[0].Y.Label.Text = "MSE"
	b, _ := f.Render(FormatPNG, goldenDPI)
	if frac, err := diffFraction(a, a); err != nil || frac != 0 {
		t.Errorf("identical images: got %v, %v; want 0", frac, err)
	}
	if frac, _ := diffFraction(a, b); frac <= maxDiffFrac {
		t.Errorf("changed y label: got diff fraction %v; want > %v", frac, maxDiffFrac)
	}
}

func TestExportFormats(t *testing.T) {
	f := exampleHeatmapFigure()
	dir := t.TempDir()
	if err := f.Save(dir, "heat"); err != nil {
		t.Fatal(err)
	}
	read := func(ext string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, "heat."+ext))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	t.Run("svg", func(t *testing.T) {
		d := xml.NewDecoder(bytes.NewReader(read("svg")))
		var root string
		for {
			tok, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("SVG does not parse as XML: %v", err)
			}
			if se, ok := tok.(xml.StartElement); ok && root == "" {
				root = se.Name.Local
			}
		}
		if root != "svg" {
			t.Errorf("SVG root element: got %q; want svg", root)
		}
	})
	t.Run("pdf", func(t *testing.T) {
		b := read("pdf")
		if !bytes.HasPrefix(b, []byte("%PDF-")) || !bytes.HasSuffix(bytes.TrimRight(b, "\r\n"), []byte("%%EOF")) {
			t.Errorf("PDF: got prefix %q suffix %q; want %%PDF- ... %%%%EOF", b[:min(8, len(b))], b[max(0, len(b)-8):])
		}
		if !bytes.Contains(b, []byte("/FontFile")) {
			t.Errorf("PDF does not embed its fonts")
		}
	})
	t.Run("eps", func(t *testing.T) {
		b := read("eps")
		if !bytes.HasPrefix(b, []byte("%!PS-Adobe-3.0 EPSF-3.0")) || !bytes.Contains(b, []byte("%%BoundingBox:")) {
			t.Errorf("EPS header: got %q", b[:min(40, len(b))])
		}
	})
	t.Run("png", func(t *testing.T) {
		img, err := png.Decode(bytes.NewReader(read("png")))
		if err != nil {
			t.Fatal(err)
		}
		w, _ := f.size()
		if want := int(w.Dots(ExportDPI) + 0.5); img.Bounds().Dx() != want {
			t.Errorf("PNG width at %d dpi: got %d px; want %d", ExportDPI, img.Bounds().Dx(), want)
		}
	})
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
	if len(entries) != 4 {
		t.Errorf("files written: got %d; want 4", len(entries))
	}
	if err := f.Save(dir, "x", "gif"); err == nil {
		t.Errorf("unknown format: got nil error")
	}
	if err := f.Save(dir, "a/b"); err == nil {
		t.Errorf("name with a slash: got nil error")
	}
}

func TestInlineDisplay(t *testing.T) {
	f := exampleTrainingFigure()
	b := f.PNG()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := img.Bounds().Dx(), int(math.Round(ColumnWidth*InlineDPI)); got != want {
		t.Errorf("inline PNG width: got %d; want %d (%.1f in at %d dpi)", got, want, ColumnWidth, InlineDPI)
	}
	if s := f.SVG(); !bytes.Contains(s, []byte("<svg")) {
		t.Errorf("SVG(): no <svg> element")
	}
	f.Title = "Training, 3 initializers"
	for _, fm := range AllFormats {
		if b, err := f.Render(fm, 0); err != nil || len(b) == 0 {
			t.Errorf("titled figure, %s: %d bytes, %v", fm, len(b), err)
		}
	}
}

func TestFigureInputErrors(t *testing.T) {
	cases := map[string]func() error{
		"hist no panels": func() error { _, err := HistogramGrid(nil, HistOptions{}); return err },
		"boxes mismatch": func() error {
			_, err := LayerBoxes([]string{"a", "b"}, []BoxSeries{{Name: "x", Boxes: []Box{{}}}}, BoxOptions{})
			return err
		},
		"range log of zeros": func() error { _, err := RangeBars([]string{"a"}, []float64{0}, nil, RangeOptions{}); return err },
		"error lines length": func() error {
			_, err := ErrorLines([]string{"a"}, []ErrorSeries{{Name: "x", Isolated: []float64{1, 2}}}, LineOptions{})
			return err
		},
		"accuracy NaN": func() error {
			_, err := AccuracyBars([]AccuracyBar{{Arch: "a", Init: "b", Precision: "c", Mean: nan()}}, BarOptions{})
			return err
		},
		"heatmap ragged": func() error {
			_, err := Heatmap([]string{"a"}, []string{"x", "y"}, [][]float64{{1}}, HeatmapOptions{})
			return err
		},
		"training length": func() error {
			_, err := TrainingCurves([]Run{{Name: "r", Epoch: []float64{1}, TrainLoss: []float64{1, 2}}}, LineOptions{})
			return err
		},
		"grid too small": func() error { _, err := NewFigure(1, 1, NewPlot(), NewPlot()); return err },
	}
	for name, fn := range cases {
		t.Run(name, func(t *testing.T) {
			if err := fn(); err == nil || !strings.HasPrefix(err.Error(), "figures: ") {
				t.Errorf("got %v; want an error prefixed \"figures: \"", err)
			}
		})
	}
}

func BenchmarkHistogramGridPNG(b *testing.B) {
	f := exampleHistFigure() // 10 panels, 2 series each
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Render(FormatPNG, ExportDPI); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/figure")
}

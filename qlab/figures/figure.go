package figures

import (
	"bytes"
	"fmt"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgeps"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgpdf"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Format is an output file format.
type Format string

// The formats Save writes.
const (
	FormatPNG Format = "png"
	FormatSVG Format = "svg"
	FormatPDF Format = "pdf"
	FormatEPS Format = "eps"
)

// AllFormats are the formats Save writes when given none.
var AllFormats = []Format{FormatPNG, FormatSVG, FormatPDF, FormatEPS}

// Default resolutions, in dots per inch.
const (
	InlineDPI = 150 // PNG(): notebook display
	ExportDPI = 300 // Save: print
)

// LegendEntry is one entry of a figure's shared legend: a label and the
// thumbnails drawn before it (usually the plotter of the series).
type LegendEntry struct {
	Label  string
	Thumbs []plot.Thumbnailer
}

// ColorBar is a vertical colour scale drawn in a strip at the figure's
// right edge.
type ColorBar struct {
	Map   palette.ColorMap
	Label string // axis label, with units
}

// Figure is one plot or a grid of plots, with an optional title, a shared
// legend strip above the panels (outside the data), and an optional colour
// bar on the right. It renders itself (PNG, SVG) and saves all formats.
type Figure struct {
	// Title is drawn above everything; empty for none (papers put titles in
	// captions).
	Title string
	// Rows and Cols give the grid; Panels holds Rows×Cols plots row-major,
	// nil for an empty tile.
	Rows, Cols int
	Panels     []*plot.Plot
	// Legend entries shared by all panels, laid out in rows above them.
	Legend []LegendEntry
	// ColorBar, if set, is drawn at the right.
	ColorBar *ColorBar
	// Width and Height in inches. Zero Width is ColumnWidth; zero Height is
	// Width × 0.75 / Cols × Rows plus the legend strip.
	Width, Height float64
	// DPI for PNG(); 0 means InlineDPI. Save uses ExportDPI unless
	// ExportDPI below is set.
	DPI int
	// ExportDPI for the PNG that Save writes; 0 means ExportDPI (300).
	ExportDPI int
}

// NewFigure returns a figure of the given plots laid out in rows×cols.
func NewFigure(rows, cols int, panels ...*plot.Plot) (*Figure, error) {
	if rows <= 0 || cols <= 0 || len(panels) > rows*cols {
		return nil, fmt.Errorf("figures: %d panels do not fit a %d×%d grid", len(panels), rows, cols)
	}
	p := make([]*plot.Plot, rows*cols)
	copy(p, panels)
	return &Figure{Rows: rows, Cols: cols, Panels: p}, nil
}

// Single returns a one-panel figure.
func Single(p *plot.Plot) *Figure {
	return &Figure{Rows: 1, Cols: 1, Panels: []*plot.Plot{p}}
}

func (f *Figure) size() (w, h vg.Length) {
	wi := f.Width
	if wi <= 0 {
		wi = ColumnWidth
	}
	w = vg.Length(wi) * vg.Inch
	if f.Height > 0 {
		return w, vg.Length(f.Height) * vg.Inch
	}
	rows, cols := max(f.Rows, 1), max(f.Cols, 1)
	h = w * 0.75 / vg.Length(cols) * vg.Length(rows)
	if cols == 1 && rows == 1 {
		h = w * 0.7
	}
	h += f.titleHeight() + f.legendHeight(w)
	return w, h
}

var (
	legendText = text.Style{Color: color.Black, Font: font.From(sans, vg.Points(TickSize)), XAlign: draw.XLeft, YAlign: draw.YCenter, Handler: plot.DefaultTextHandler}
	titleText  = text.Style{Color: color.Black, Font: font.From(sans, vg.Points(TitleSize)), XAlign: draw.XCenter, YAlign: draw.YTop, Handler: plot.DefaultTextHandler}
)

const (
	thumbW    = 12 // legend thumbnail width, points
	entryGap  = 8  // gap between legend entries, points
	entryRowH = 10 // legend row height, points
)

func (f *Figure) titleHeight() vg.Length {
	if f.Title == "" {
		return 0
	}
	return titleText.Height(f.Title) + vg.Points(3)
}

// legendRows lays the entries out in rows that fit width w.
func (f *Figure) legendRows(w vg.Length) [][]LegendEntry {
	var rows [][]LegendEntry
	var cur []LegendEntry
	var x vg.Length
	avail := w - vg.Points(8)
	for _, e := range f.Legend {
		ew := vg.Points(thumbW+3) + legendText.Width(e.Label)
		if len(cur) > 0 && x+ew > avail {
			rows = append(rows, cur)
			cur, x = nil, 0
		}
		cur = append(cur, e)
		x += ew + vg.Points(entryGap)
	}
	if len(cur) > 0 {
		rows = append(rows, cur)
	}
	return rows
}

func (f *Figure) legendHeight(w vg.Length) vg.Length {
	n := len(f.legendRows(w))
	if n == 0 {
		return 0
	}
	return vg.Length(n)*vg.Points(entryRowH) + vg.Points(3)
}

// Draw draws the figure onto c.
func (f *Figure) Draw(c draw.Canvas) {
	c.SetColor(color.White)
	c.Fill(c.Rectangle.Path())
	area := c
	if f.Title != "" {
		top := area.Max.Y
		area.FillText(titleText, vg.Point{X: (area.Min.X + area.Max.X) / 2, Y: top - vg.Points(1)}, f.Title)
		area.Max.Y -= f.titleHeight()
	}
	if len(f.Legend) > 0 {
		rows := f.legendRows(area.Max.X - area.Min.X)
		y := area.Max.Y - vg.Points(entryRowH)/2 - vg.Points(1)
		for _, row := range rows {
			var total vg.Length
			for i, e := range row {
				total += vg.Points(thumbW+3) + legendText.Width(e.Label)
				if i > 0 {
					total += vg.Points(entryGap)
				}
			}
			x := (area.Min.X+area.Max.X)/2 - total/2
			for _, e := range row {
				icon := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
					Min: vg.Point{X: x, Y: y - vg.Points(3.5)},
					Max: vg.Point{X: x + vg.Points(thumbW), Y: y + vg.Points(3.5)},
				}}
				for _, t := range e.Thumbs {
					t.Thumbnail(&icon)
				}
				x += vg.Points(thumbW + 3)
				area.FillText(legendText, vg.Point{X: x, Y: y}, e.Label)
				x += legendText.Width(e.Label) + vg.Points(entryGap)
			}
			y -= vg.Points(entryRowH)
		}
		area.Max.Y -= f.legendHeight(c.Max.X - c.Min.X)
	}
	if f.ColorBar != nil {
		const stripW = 0.7 // inches
		strip := area
		strip.Min.X = area.Max.X - vg.Length(stripW)*vg.Inch
		area.Max.X = strip.Min.X
		f.drawColorBar(strip)
	}
	tiles := draw.Tiles{Rows: max(f.Rows, 1), Cols: max(f.Cols, 1), PadX: vg.Points(4), PadY: vg.Points(4), PadTop: vg.Points(1), PadRight: vg.Points(2), PadBottom: vg.Points(1), PadLeft: vg.Points(1)}
	for i, p := range f.Panels {
		if p == nil {
			continue
		}
		p.Draw(tiles.At(area, i%tiles.Cols, i/tiles.Cols))
	}
}

func (f *Figure) drawColorBar(c draw.Canvas) {
	cb := &vectorBar{cm: f.ColorBar.Map}
	p := plot.New()
	Style(p)
	p.Add(cb)
	p.HideX()
	p.Y.Label.Text = f.ColorBar.Label
	p.Y.Min, p.Y.Max = f.ColorBar.Map.Min(), f.ColorBar.Map.Max()
	// A slim bar, vertically inset like the panels' data area.
	c.Min.X += vg.Points(6)
	c.Max.X -= vg.Points(4)
	c.Min.Y += vg.Points(20)
	c.Max.Y -= vg.Points(6)
	p.Draw(c)
}

// Render returns the figure encoded in format; dpi applies to PNG (0 means
// InlineDPI).
func (f *Figure) Render(format Format, dpi int) ([]byte, error) {
	w, h := f.size()
	var b bytes.Buffer
	var wt io.WriterTo
	format = Format(strings.ToLower(string(format)))
	switch format {
	case FormatPNG:
		if dpi <= 0 {
			dpi = InlineDPI
		}
		c := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(dpi), vgimg.UseBackgroundColor(color.White))
		f.Draw(draw.New(c))
		// Best-speed deflate: the default level spends more time than
		// drawing (half of a 300 dpi render) to save ~30% of the bytes.
		enc := png.Encoder{CompressionLevel: png.BestSpeed}
		if err := enc.Encode(&b, c.Image()); err != nil {
			return nil, fmt.Errorf("figures: render png: %w", err)
		}
		return b.Bytes(), nil
	case FormatSVG:
		c := vgsvg.New(w, h)
		f.Draw(draw.New(c))
		wt = c
	case FormatPDF:
		c := vgpdf.New(w, h)
		c.EmbedFonts(true) // journals reject PDFs with unembedded fonts
		f.Draw(draw.New(c))
		wt = c
	case FormatEPS:
		c := vgeps.New(w, h)
		f.Draw(draw.New(c))
		wt = c
	default:
		return nil, fmt.Errorf("figures: unknown format %q (want png, svg, pdf or eps)", format)
	}
	if _, err := wt.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("figures: render %s: %w", format, err)
	}
	out := b.Bytes()
	// gonum/plot v0.17's vgeps writes "%%!PS-Adobe-3.0 EPSF-3.0"; an EPS
	// file must start with "%!PS" or tools (LaTeX's epstopdf, file(1))
	// reject it.
	if format == FormatEPS && bytes.HasPrefix(out, []byte("%%!PS")) {
		out = out[1:]
		// Its %%Creator comment also lacks the DSC colon.
		out = bytes.Replace(out, []byte("\n%%Creator gonum"), []byte("\n%%Creator: gonum"), 1)
	}
	return out, nil
}

// PNG renders the figure as PNG at f.DPI (InlineDPI by default), so a
// notebook displays it inline; nil if rendering fails.
func (f *Figure) PNG() []byte {
	b, err := f.Render(FormatPNG, f.DPI)
	if err != nil {
		return nil
	}
	return b
}

// SVG renders the figure as an SVG document; nil if rendering fails.
func (f *Figure) SVG() []byte {
	b, err := f.Render(FormatSVG, 0)
	if err != nil {
		return nil
	}
	return b
}

// Save writes dir/name.<ext> for each format (all of AllFormats when none
// are given), PNG at f.ExportDPI (ExportDPI by default). Each file is
// written to a temporary file in dir and renamed into place, so a reader
// never sees a partial figure.
func (f *Figure) Save(dir, name string, formats ...Format) error {
	if name == "" || strings.ContainsAny(name, `/\`) {
		return fmt.Errorf("figures: bad figure name %q", name)
	}
	if len(formats) == 0 {
		formats = AllFormats
	}
	dpi := f.ExportDPI
	if dpi <= 0 {
		dpi = ExportDPI
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("figures: save %q: %w", name, err)
	}
	for _, fm := range formats {
		b, err := f.Render(fm, dpi)
		if err != nil {
			return err
		}
		if err := writeAtomic(filepath.Join(dir, name+"."+strings.ToLower(string(fm))), b); err != nil {
			return fmt.Errorf("figures: save %q: %w", name, err)
		}
	}
	return nil
}

func writeAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		if err := os.Chmod(tmp.Name(), 0o644); err != nil {
			werr = err
		}
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
	}
	return werr
}

// vectorBar draws a vertical colour scale as filled rectangles rather than
// an image (gonum's ColorBar draws an image, which EPS cannot hold).
type vectorBar struct{ cm palette.ColorMap }

func (b *vectorBar) Plot(c draw.Canvas, p *plot.Plot) {
	const steps = 96
	tx, ty := p.Transforms(&c)
	lo, hi := b.cm.Min(), b.cm.Max()
	for i := range steps {
		v0 := lo + (hi-lo)*float64(i)/steps
		col, err := b.cm.At(math.Min(v0+(hi-lo)/(2*steps), hi))
		if err != nil {
			continue
		}
		// Each strip runs to the top and the next one paints over it, so
		// anti-aliasing leaves no light seams between strips.
		r := vg.Rectangle{Min: vg.Point{X: tx(0), Y: ty(v0)}, Max: vg.Point{X: tx(1), Y: ty(hi)}}
		c.SetColor(col)
		c.Fill(r.Path())
	}
}

func (b *vectorBar) DataRange() (xmin, xmax, ymin, ymax float64) {
	return 0, 1, b.cm.Min(), b.cm.Max()
}

package display

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"reflect"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// PNGer is implemented by values that render themselves as PNG bytes.
type PNGer interface{ PNG() []byte }

// JPEGer is implemented by values that render themselves as JPEG bytes.
type JPEGer interface{ JPEG() []byte }

// SVGer is implemented by values that render themselves as an SVG document.
type SVGer interface{ SVG() []byte }

// HTMLer is implemented by values that render themselves as HTML.
type HTMLer interface{ HTML() string }

// Markdowner is implemented by values that render themselves as Markdown.
type Markdowner interface{ Markdown() string }

// LaTeXer is implemented by values that render themselves as LaTeX
// (with $ delimiters).
type LaTeXer interface{ LaTeX() string }

// JSONer is implemented by values that render themselves as a JSON value
// (anything encoding/json marshals).
type JSONer interface{ JSON() any }

// Renderer is implemented by values that build their whole bundle; it takes
// precedence over every other interface.
type Renderer interface{ Render() Data }

// Image returns an image/png bundle of img, PNG-encoded at default
// compression, with width and height metadata in pixels.
func Image(img image.Image) (Data, error) {
	if img == nil {
		return Data{}, errors.New("display: nil image")
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return Data{}, fmt.Errorf("display: encoding image: %w", err)
	}
	d := PNG(buf.Bytes())
	b := img.Bounds()
	d.Data[MIMEPlain] = fmt.Sprintf("<image %dx%d>", b.Dx(), b.Dy())
	return d, nil
}

// PlotOptions sets how Plot renders a figure. The zero value renders a
// 6x4 inch figure at 96 DPI (576x384 pixels) as PNG and SVG.
type PlotOptions struct {
	// Width and Height of the figure; 0 means 6 inches and 4 inches.
	Width, Height vg.Length
	// DPI of the PNG; 0 means 96 (one CSS pixel per PNG pixel).
	DPI int
	// NoSVG leaves out the image/svg+xml representation (smaller notebooks;
	// frontends then show the PNG). False includes SVG, which frontends
	// prefer and which stays sharp when zoomed or exported.
	NoSVG bool
}

func (o PlotOptions) withDefaults() PlotOptions {
	if o.Width <= 0 {
		o.Width = 6 * vg.Inch
	}
	if o.Height <= 0 {
		o.Height = 4 * vg.Inch
	}
	if o.DPI <= 0 {
		o.DPI = 96
	}
	return o
}

// Plot renders p as a bundle with image/png (and image/svg+xml unless
// opt.NoSVG) and a one-line text/plain naming the plot's title.
func Plot(p *plot.Plot, opt PlotOptions) (Data, error) {
	if p == nil {
		return Data{}, errors.New("display: nil plot")
	}
	return Drawing(func(c draw.Canvas) { p.Draw(c) }, plotTitle(p), opt)
}

// Drawing renders an arbitrary drawing function, for figures made of several
// plots (plot.Align tiles) that are not a single *plot.Plot. text is the
// text/plain representation.
func Drawing(drawFn func(draw.Canvas), text string, opt PlotOptions) (Data, error) {
	opt = opt.withDefaults()
	img := vgimg.NewWith(vgimg.UseWH(opt.Width, opt.Height), vgimg.UseDPI(opt.DPI))
	drawFn(draw.New(img))
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return Data{}, fmt.Errorf("display: rendering PNG: %w", err)
	}
	d := PNG(buf.Bytes())
	if !opt.NoSVG {
		svg := vgsvg.New(opt.Width, opt.Height)
		drawFn(draw.New(svg))
		var sb bytes.Buffer
		if _, err := svg.WriteTo(&sb); err != nil {
			return Data{}, fmt.Errorf("display: rendering SVG: %w", err)
		}
		d.Data[MIMESVG] = sb.String()
	}
	d.Data[MIMEPlain] = text
	return d, nil
}

func plotTitle(p *plot.Plot) string {
	if t := strings.TrimSpace(p.Title.Text); t != "" {
		return fmt.Sprintf("<plot %q>", t)
	}
	return "<plot>"
}

// Auto returns the richest bundle for v. In order of preference:
// a Data or *Data as is; Renderer; *plot.Plot (PNG + SVG); image.Image (PNG);
// PNGer, JPEGer, SVGer, HTMLer, Markdowner, LaTeXer, JSONer (each also gets a
// text/plain fallback: v's String() when it is a fmt.Stringer, else %v);
// error (its message); anything else as text/plain %v (with field names, %+v,
// for structs and pointers to structs, since bare positional fields read
// poorly). A value implementing several rich interfaces gets all of them in
// one bundle so the frontend can choose. When rendering fails, Auto returns
// the error's text as text/plain; use AutoErr to get the error.
func Auto(v any) Data {
	d, err := AutoErr(v)
	if err != nil {
		return Text(err.Error())
	}
	return d
}

// AutoErr is Auto, returning rendering errors (of images and plots) instead
// of folding them into the text.
func AutoErr(v any) (Data, error) {
	v = unwrap(v)
	switch x := v.(type) {
	case nil:
		return Text("<nil>"), nil
	case Data:
		return x, nil
	case *Data:
		if x == nil {
			return Text("<nil>"), nil
		}
		return *x, nil
	case Renderer:
		return x.Render(), nil
	case *plot.Plot:
		return Plot(x, PlotOptions{})
	case image.Image:
		return Image(x)
	case error:
		// Checked before the rich interfaces: an error that also renders
		// itself is still, first of all, an error; its message is the text.
		if !isRich(v) {
			return Text(x.Error()), nil
		}
	}
	d := Data{Data: map[MIME]any{}}
	if x, ok := v.(PNGer); ok {
		b := x.PNG()
		d = PNG(b)
	}
	if x, ok := v.(JPEGer); ok {
		d.Data[MIMEJPEG] = JPEG(x.JPEG()).Data[MIMEJPEG]
	}
	if x, ok := v.(SVGer); ok {
		d.Data[MIMESVG] = string(x.SVG())
	}
	if x, ok := v.(HTMLer); ok {
		d.Data[MIMEHTML] = x.HTML()
	}
	if x, ok := v.(Markdowner); ok {
		d.Data[MIMEMarkdown] = x.Markdown()
	}
	if x, ok := v.(LaTeXer); ok {
		d.Data[MIMELaTeX] = x.LaTeX()
	}
	if x, ok := v.(JSONer); ok {
		d.Data[MIMEJSON] = x.JSON()
	}
	d.Data[MIMEPlain] = PlainText(v)
	return d, nil
}

func isRich(v any) bool {
	switch v.(type) {
	case PNGer, JPEGer, SVGer, HTMLer, Markdowner, LaTeXer, JSONer:
		return true
	}
	return false
}

// PlainText formats v the way Auto's text/plain does: error message, String()
// for fmt.Stringer, %+v for structs and pointers to structs, %v otherwise,
// with strings quoted (%q) so "" and " " are visible, as Go users expect
// from a REPL.
func PlainText(v any) string {
	v = unwrap(v)
	switch x := v.(type) {
	case nil:
		return "<nil>"
	case error, fmt.Stringer:
		// fmt recovers panics in Error and String (nil receivers).
		return fmt.Sprint(x)
	case string:
		return fmt.Sprintf("%q", x)
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Struct || (rv.Kind() == reflect.Pointer && !rv.IsNil() && rv.Elem().Kind() == reflect.Struct) {
		return fmt.Sprintf("%+v", v)
	}
	return fmt.Sprintf("%v", v)
}

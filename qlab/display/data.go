package display

import (
	"encoding/base64"
	"fmt"
)

// MIME is a MIME type used as a key of a display bundle.
type MIME string

// MIME types the kernel and frontends understand.
const (
	MIMEPlain    MIME = "text/plain"
	MIMEHTML     MIME = "text/html"
	MIMEMarkdown MIME = "text/markdown"
	MIMESVG      MIME = "image/svg+xml"
	MIMEPNG      MIME = "image/png"
	MIMEJPEG     MIME = "image/jpeg"
	MIMEJSON     MIME = "application/json"
	MIMELaTeX    MIME = "text/latex"
)

// Data is a MIME bundle: one value in several representations, as carried by
// Jupyter's execute_result, display_data and update_display_data messages.
//
// Data values are strings, except under MIMEJSON where any JSON-marshalable
// value is allowed; PNG and JPEG are base64-encoded strings. Metadata holds
// per-MIME metadata (for images: map[string]any{"width": w, "height": h} in
// pixels). Transient holds data that is not stored in the notebook; the kernel
// uses the key "display_id" for in-place updates.
type Data struct {
	Data      map[MIME]any
	Metadata  map[MIME]any
	Transient map[string]any
}

// TransientDisplayID is the Transient key naming the display a bundle updates.
const TransientDisplayID = "display_id"

// DisplayID returns the bundle's display_id, or "" when it has none.
func (d Data) DisplayID() string {
	s, _ := d.Transient[TransientDisplayID].(string)
	return s
}

// WithDisplayID returns a copy of d whose Transient carries display_id id.
// The maps of d are copied, so d itself is unchanged.
func (d Data) WithDisplayID(id string) Data {
	out := d.clone()
	if out.Transient == nil {
		out.Transient = map[string]any{}
	}
	out.Transient[TransientDisplayID] = id
	return out
}

// Text returns the bundle's text/plain representation, or "" when absent.
func (d Data) Text() string {
	s, _ := d.Data[MIMEPlain].(string)
	return s
}

func (d Data) clone() Data {
	return Data{Data: cloneMap(d.Data), Metadata: cloneMap(d.Metadata), Transient: cloneMap(d.Transient)}
}

func cloneMap[K comparable](m map[K]any) map[K]any {
	if m == nil {
		return nil
	}
	out := make(map[K]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// bundle builds a Data with a single representation plus a text/plain
// fallback, which Jupyter requires for every bundle a frontend may not render.
func bundle(mime MIME, value any, plain string) Data {
	d := Data{Data: map[MIME]any{mime: value}}
	if mime != MIMEPlain {
		d.Data[MIMEPlain] = plain
	}
	return d
}

// Text returns a text/plain bundle.
func Text(s string) Data { return bundle(MIMEPlain, s, s) }

// HTML returns a text/html bundle with a short text/plain fallback.
func HTML(s string) Data { return bundle(MIMEHTML, s, "<HTML>") }

// Markdown returns a text/markdown bundle whose text/plain fallback is the
// Markdown source itself.
func Markdown(s string) Data { return bundle(MIMEMarkdown, s, s) }

// SVG returns an image/svg+xml bundle.
func SVG(s string) Data { return bundle(MIMESVG, s, "<SVG image>") }

// PNG returns an image/png bundle of already-encoded PNG bytes. Width and
// height metadata are filled from the PNG header when it is readable.
func PNG(b []byte) Data {
	d := bundle(MIMEPNG, base64.StdEncoding.EncodeToString(b), fmt.Sprintf("<PNG image, %d bytes>", len(b)))
	if w, h, ok := pngSize(b); ok {
		d.Metadata = map[MIME]any{MIMEPNG: map[string]any{"width": w, "height": h}}
	}
	return d
}

// JPEG returns an image/jpeg bundle of already-encoded JPEG bytes.
func JPEG(b []byte) Data {
	return bundle(MIMEJPEG, base64.StdEncoding.EncodeToString(b), fmt.Sprintf("<JPEG image, %d bytes>", len(b)))
}

// JSON returns an application/json bundle of v, which must be marshalable
// with encoding/json; the text/plain fallback is v formatted with %v.
func JSON(v any) Data { return bundle(MIMEJSON, v, fmt.Sprintf("%v", v)) }

// Math returns a text/latex bundle displaying s as display math. s is LaTeX
// math without delimiters ("\\int_0^1 x\\,dx"); it is wrapped in $$...$$
// unless it already starts with '$'.
func Math(s string) Data {
	if len(s) == 0 || s[0] != '$' {
		s = "$$" + s + "$$"
	}
	return bundle(MIMELaTeX, s, s)
}

// LaTeX returns a text/latex bundle of s as given (include the $ delimiters).
func LaTeX(s string) Data { return bundle(MIMELaTeX, s, s) }

// MakeData returns a bundle holding value under mime, with a text/plain
// fallback when mime is not text/plain. It is the escape hatch for MIME types
// without a helper.
func MakeData(mime MIME, value any) Data {
	return bundle(mime, value, fmt.Sprintf("<%s>", mime))
}

// pngSize reads width and height from a PNG's IHDR chunk.
func pngSize(b []byte) (w, h int, ok bool) {
	const sig = "\x89PNG\r\n\x1a\n"
	if len(b) < 24 || string(b[:8]) != sig || string(b[12:16]) != "IHDR" {
		return 0, 0, false
	}
	be := func(p []byte) int { return int(p[0])<<24 | int(p[1])<<16 | int(p[2])<<8 | int(p[3]) }
	return be(b[16:20]), be(b[20:24]), true
}

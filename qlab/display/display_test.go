package display

import (
	"bytes"
	"encoding/base64"
	"errors"
	"image"
	"image/color"
	"image/png"
	"strings"
	"sync"
	"testing"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

type pnger struct{}

func (pnger) PNG() []byte { return tinyPNG() }

type svger struct{}

func (svger) SVG() []byte { return []byte("<svg/>") }

type htmler struct{}

func (htmler) HTML() string { return "<b>x</b>" }

type mder struct{}

func (mder) Markdown() string { return "*x*" }

type both struct{}

func (both) HTML() string     { return "<i>h</i>" }
func (both) Markdown() string { return "m" }
func (both) String() string   { return "both!" }

type renderer struct{}

func (renderer) Render() Data { return Text("rendered") }

type point struct{ X, Y int }

func tinyPNG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	img.Set(1, 1, color.RGBA{255, 0, 0, 255})
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

func TestAuto(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 4, 5))
	p := plot.New()
	p.Title.Text = "loss"
	h, err := plotter.NewHist(plotter.Values{1, 2, 2, 3}, 3)
	if err != nil {
		t.Fatal(err)
	}
	p.Add(h)
	for _, tc := range []struct {
		name  string
		v     any
		mimes []MIME
		plain string // "" skips the check
	}{
		{"int", 42, []MIME{MIMEPlain}, "42"},
		{"string is quoted", "a b", []MIME{MIMEPlain}, `"a b"`},
		{"struct with field names", point{1, 2}, []MIME{MIMEPlain}, "{X:1 Y:2}"},
		{"pointer to struct", &point{1, 2}, []MIME{MIMEPlain}, "&{X:1 Y:2}"},
		{"error", errors.New("bad"), []MIME{MIMEPlain}, "bad"},
		{"nil", nil, []MIME{MIMEPlain}, "<nil>"},
		{"image", img, []MIME{MIMEPNG, MIMEPlain}, "<image 4x5>"},
		{"plot", p, []MIME{MIMEPNG, MIMESVG, MIMEPlain}, `<plot "loss">`},
		{"PNGer", pnger{}, []MIME{MIMEPNG, MIMEPlain}, ""},
		{"SVGer", svger{}, []MIME{MIMESVG, MIMEPlain}, ""},
		{"HTMLer", htmler{}, []MIME{MIMEHTML, MIMEPlain}, "{}"},
		{"Markdowner", mder{}, []MIME{MIMEMarkdown, MIMEPlain}, ""},
		{"several interfaces and Stringer", both{}, []MIME{MIMEHTML, MIMEMarkdown, MIMEPlain}, "both!"},
		{"Renderer", renderer{}, []MIME{MIMEPlain}, "rendered"},
		{"Data as is", HTML("<p>"), []MIME{MIMEHTML, MIMEPlain}, "<HTML>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Auto(tc.v)
			if len(d.Data) != len(tc.mimes) {
				t.Errorf("got MIME types %v; want %v", keys(d), tc.mimes)
			}
			for _, m := range tc.mimes {
				if _, ok := d.Data[m]; !ok {
					t.Errorf("got MIME types %v; want %s among them", keys(d), m)
				}
			}
			if tc.plain != "" && d.Text() != tc.plain {
				t.Errorf("text/plain: got %q; want %q", d.Text(), tc.plain)
			}
			for _, m := range []MIME{MIMEPNG, MIMEJPEG} {
				if s, ok := d.Data[m].(string); ok {
					if _, err := base64.StdEncoding.DecodeString(s); err != nil {
						t.Errorf("%s is not base64: %v", m, err)
					}
				}
			}
		})
	}
}

func keys(d Data) []MIME {
	var out []MIME
	for k := range d.Data {
		out = append(out, k)
	}
	return out
}

func TestHelpers(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    Data
		mime MIME
		want any
	}{
		{"HTML", HTML("<b>"), MIMEHTML, "<b>"},
		{"Markdown", Markdown("# t"), MIMEMarkdown, "# t"},
		{"SVG", SVG("<svg/>"), MIMESVG, "<svg/>"},
		{"Math wraps in $$", Math(`x^2`), MIMELaTeX, `$$x^2$$`},
		{"Math keeps delimiters", Math(`$x$`), MIMELaTeX, `$x$`},
		{"LaTeX as is", LaTeX(`$y$`), MIMELaTeX, `$y$`},
		{"Text", Text("t"), MIMEPlain, "t"},
		{"PNG base64", PNG([]byte{1, 2}), MIMEPNG, "AQI="},
		{"JPEG base64", JPEG([]byte{3}), MIMEJPEG, "Aw=="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.d.Data[tc.mime]; got != tc.want {
				t.Errorf("got %v; want %v", got, tc.want)
			}
			if _, ok := tc.d.Data[MIMEPlain]; !ok {
				t.Errorf("no text/plain fallback in %v", keys(tc.d))
			}
		})
	}
	d := PNG(tinyPNG())
	md, _ := d.Metadata[MIMEPNG].(map[string]any)
	if md["width"] != 3 || md["height"] != 2 {
		t.Errorf("PNG metadata: got %v; want width 3 height 2", md)
	}
	j := JSON(map[string]int{"a": 1})
	if m, ok := j.Data[MIMEJSON].(map[string]int); !ok || m["a"] != 1 {
		t.Errorf("JSON: got %v; want the value itself", j.Data[MIMEJSON])
	}
}

// capturePub installs a publisher for the test and returns what it got.
type published struct {
	mu      sync.Mutex
	ds      []Data
	updates []bool
}

func capturePub(t *testing.T) *published {
	p := &published{}
	old := SetPublisher(func(d Data, update bool) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.ds = append(p.ds, d)
		p.updates = append(p.updates, update)
	})
	t.Cleanup(func() { SetPublisher(old) })
	return p
}

func TestHandle(t *testing.T) {
	p := capturePub(t)
	h := NewHandle()
	if err := h.Display("first"); err != nil {
		t.Fatal(err)
	}
	if err := h.Update(Markdown("second")); err != nil {
		t.Fatal(err)
	}
	if err := Display(42); err != nil {
		t.Fatal(err)
	}
	if len(p.ds) != 3 {
		t.Fatalf("got %d publications; want 3", len(p.ds))
	}
	if p.updates[0] || !p.updates[1] || p.updates[2] {
		t.Errorf("updates: got %v; want [false true false]", p.updates)
	}
	if p.ds[0].DisplayID() != h.ID() || p.ds[1].DisplayID() != h.ID() {
		t.Errorf("display ids %q, %q; want %q", p.ds[0].DisplayID(), p.ds[1].DisplayID(), h.ID())
	}
	if p.ds[2].DisplayID() != "" {
		t.Errorf("plain Display carries display id %q; want none", p.ds[2].DisplayID())
	}
	if NewHandle().ID() == h.ID() {
		t.Errorf("two handles share id %q", h.ID())
	}
	// Update before Display shows it first.
	h2 := NewHandle()
	h2.Update("x")
	if p.updates[3] {
		t.Errorf("first Update of a new handle sent update_display_data; want display_data")
	}
}

func TestProgressBarUpdatesByDisplayID(t *testing.T) {
	p := capturePub(t)
	now := time.Unix(1000, 0)
	bar := NewProgressBar("epochs", 4)
	bar.now = func() time.Time { return now }
	bar.start, bar.last = now, time.Time{}
	for i := 1; i <= 4; i++ {
		now = now.Add(time.Second)
		bar.Set(i, "loss 0.5")
	}
	// Within the throttle interval: not drawn.
	bar.Set(4, "loss 0.1")
	n := len(p.ds)
	bar.Close()
	if len(p.ds) != n+1 {
		t.Fatalf("Close did not draw the final state")
	}
	if p.updates[0] {
		t.Errorf("first draw is an update; want display_data")
	}
	for i, d := range p.ds {
		if d.DisplayID() != bar.ID() {
			t.Errorf("publication %d has display id %q; want %q", i, d.DisplayID(), bar.ID())
		}
		if i > 0 && !p.updates[i] {
			t.Errorf("publication %d is not an update", i)
		}
		if _, ok := d.Data[MIMEHTML]; !ok || d.Text() == "" {
			t.Errorf("publication %d lacks HTML or text/plain: %v", i, keys(d))
		}
	}
	// 1 initial + 4 sets spaced 1 s + final; the throttled Set is dropped.
	if len(p.ds) != 6 {
		t.Errorf("got %d draws; want 6", len(p.ds))
	}
	last := p.ds[len(p.ds)-1]
	for _, want := range []string{"epochs", "100%", "4/4", "loss 0.1", "1.00/s"} {
		if !strings.Contains(last.Text(), want) {
			t.Errorf("final text %q lacks %q", last.Text(), want)
		}
	}
	mid := p.ds[2].Text() // after 2 of 4 in 2 s: 1/s, 2 s left
	for _, want := range []string{" 50%", "2/4", "00:02<00:02"} {
		if !strings.Contains(mid, want) {
			t.Errorf("text %q lacks %q", mid, want)
		}
	}
}

func TestProgressBarOutsideKernel(t *testing.T) {
	old := SetPublisher(nil)
	defer SetPublisher(old)
	var buf bytes.Buffer
	bar := NewProgressBar("t", 2)
	bar.w = &buf
	bar.MinInterval = 0
	bar.Set(1, "")
	bar.Close()
	out := buf.String()
	if !strings.HasPrefix(out, "\r") || strings.Count(out, "\r") < 2 || !strings.HasSuffix(out, "\n") {
		t.Errorf("got %q; want carriage-return redraws ending in a newline", out)
	}
	if !strings.Contains(out, "1/2") {
		t.Errorf("got %q; want it to contain 1/2", out)
	}
}

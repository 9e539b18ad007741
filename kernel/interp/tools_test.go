package interp

import (
	"context"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/qlab-dev/qlab/qlab/display"
)

func TestCaptureFD(t *testing.T) {
	in := newInterp(t, Options{CaptureFD: true})
	// yaegi's standard library has no syscall; a compiled function writing
	// to descriptor 1 with a raw system call stands in for C-less compiled
	// code that bypasses os.Stdout.
	if err := in.yi.Use(map[string]map[string]reflect.Value{
		"example.com/raw/raw": {"Write1": reflect.ValueOf(func(s string) { syscall.Write(1, []byte(s)) })},
	}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, cell, stdout, stderr string
	}{
		{"fmt", "import \"fmt\"\nfmt.Println(\"via fmt\")", "via fmt\n", ""},
		{"compiled os.Stdout.Write", "import \"os\"\nos.Stdout.Write([]byte(\"via os\\n\"))", "via os\n", ""},
		{"syscall.Write to fd 1", "import \"example.com/raw\"\nraw.Write1(\"via syscall\\n\")", "via syscall\n", ""},
		{"stderr", "import \"os\"\nimport \"fmt\"\nfmt.Fprintln(os.Stderr, \"to stderr\")", "", "to stderr\n"},
		{"import again", "import \"os\"\nimport \"fmt\"\nfmt.Fprint(os.Stdout, \"again\")", "again", ""},
		{"same import twice in a cell", "import \"os\"\nimport \"os\"\nos.Stdout.WriteString(\"twice\")", "twice", ""},
		{"utf-8 split across writes", "import \"os\"\nb := []byte(\"é\\n\")\nos.Stdout.Write(b[:1])\nos.Stdout.Write(b[1:])", "é\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRecorder()
			if _, err := in.Execute(context.Background(), tc.cell, r); err != nil {
				t.Fatalf("Execute: %v", err)
			}
			if got := r.text("stdout"); got != tc.stdout {
				t.Errorf("stdout: got %q; want %q", got, tc.stdout)
			}
			if got := r.text("stderr"); got != tc.stderr {
				t.Errorf("stderr: got %q; want %q", got, tc.stderr)
			}
			for _, name := range []string{"stdout", "stderr"} {
				if s := r.text(name); !utf8.ValidString(s) {
					t.Errorf("%s: invalid UTF-8 %q", name, s)
				}
			}
		})
	}
}

func TestCaptureStreamsWhileRunning(t *testing.T) {
	in := newInterp(t, Options{CaptureFD: true})
	r := newRecorder()
	seen := make(chan time.Time, 1)
	go func() {
		for i := 0; i < 200; i++ {
			if strings.Contains(r.text("stdout"), "early") {
				seen <- time.Now()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	if _, err := in.Execute(context.Background(), "import \"os\"\nimport \"time\"\nos.Stdout.Write([]byte(\"early\\n\"))\ntime.Sleep(400 * time.Millisecond)", r); err != nil {
		t.Fatal(err)
	}
	done := time.Now()
	select {
	case at := <-seen:
		if !at.Before(done.Add(-200 * time.Millisecond)) {
			t.Errorf("output arrived %v before the cell ended; want it while the cell sleeps", done.Sub(at))
		}
	default:
		t.Fatalf("output %q never streamed", r.text("stdout"))
	}
}

func TestComplete(t *testing.T) {
	in := newInterp(t, Options{})
	run(t, in, `import "strings"
import "qlab/tensor"
type Point struct{ X, Y float64 }
func (p Point) Norm() float64 { return p.X*p.X + p.Y*p.Y }
counter := 3
pt := Point{1, 2}
var sb strings.Builder
func compute() int { return 1 }`)
	for _, tc := range []struct {
		name    string
		code    string
		cursor  int // -1: end
		has     []string
		hasNot  []string
		start   int
		wantEnd int // -1: cursor
	}{
		{"identifier", "x := cou", -1, []string{"counter"}, []string{"compute"}, 5, -1},
		{"function", "comp", -1, []string{"compute"}, nil, 0, -1},
		{"keyword", "fun", -1, []string{"func"}, nil, 0, -1},
		{"package member", "strings.Has", -1, []string{"HasPrefix", "HasSuffix"}, []string{"Builder"}, 8, -1},
		{"qlab package member", "tensor.", -1, []string{"New", "Tensor"}, nil, 7, -1},
		{"method and fields of interpreted type", "pt.", -1, []string{"Norm", "X", "Y"}, nil, 3, -1},
		{"method of compiled type", "sb.Wr", -1, []string{"WriteString", "WriteByte"}, []string{"Len"}, 3, -1},
		{"cursor mid-line", "a := cou + 1", 8, []string{"counter"}, nil, 5, -1},
		{"code points", "s := \"é\"; cou", -1, []string{"counter"}, nil, 10, -1},
		{"import path", "import \"qlab/ten", -1, []string{"qlab/tensor"}, nil, 8, -1},
		{"helpers hidden", "_ql", -1, nil, []string{"_qlabShow"}, 0, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cursor := tc.cursor
			if cursor < 0 {
				cursor = utf8.RuneCountInString(tc.code)
			}
			m, start, end := in.Complete(tc.code, cursor)
			set := map[string]bool{}
			for _, s := range m {
				set[s] = true
			}
			for _, h := range tc.has {
				if !set[h] {
					t.Errorf("matches %v lack %q", m, h)
				}
			}
			for _, h := range tc.hasNot {
				if set[h] {
					t.Errorf("matches %v include %q", m, h)
				}
			}
			wantEnd := tc.wantEnd
			if wantEnd < 0 {
				wantEnd = cursor
			}
			if start != tc.start || end != wantEnd {
				t.Errorf("range: got [%d,%d); want [%d,%d)", start, end, tc.start, wantEnd)
			}
		})
	}
}

func TestInspect(t *testing.T) {
	in := newInterp(t, Options{})
	run(t, in, `import "strings"
import "github.com/qlab-dev/qlab/qlab/display"
import "qlab/tensor"
// Area is the area of a w by h rectangle.
func Area(w, h float64) float64 { return w * h }
type Box struct{ W, H float64 }
// Volume is the box's volume at depth d.
func (b Box) Volume(d float64) float64 { return b.W * b.H * d }
bx := Box{1, 2}
v := 7
t := tensor.New(2, 3)`)
	for _, tc := range []struct {
		name, code string
		cursor     int
		want       []string // substrings of text/plain
	}{
		{"embedded doc of a kernel package", "display.Markdown", 10, []string{"func Markdown(s string) Data", "text/markdown"}},
		{"qlab symbol", "tensor.New", 8, []string{"func New(", "Tensor"}},
		{"stdlib from GOROOT", "strings.HasPrefix(", 18, []string{"func HasPrefix(s, prefix string) bool", "begins with"}},
		{"cell function", "Area(2, 3)", 2, []string{"func Area(w, h float64) float64", "area of a w by h"}},
		{"variable", "v + 1", 0, []string{"v := 7", "int"}},
		{"method of a compiled value", "t.Reshape", 4, []string{"Reshape"}},
		{"method of a cell type", "bx.Volume(3)", 5, []string{"func (b Box) Volume(d float64) float64", "volume at depth d"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, found := in.Inspect(tc.code, tc.cursor, 0)
			if !found {
				t.Fatalf("not found")
			}
			text := d.Text()
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("got %q; want it to contain %q", text, w)
				}
			}
			if _, ok := d.Data[display.MIMEMarkdown]; !ok {
				t.Errorf("no text/markdown in %v", d.Data)
			}
		})
	}
	if _, found := in.Inspect("nosuchname", 3, 0); found {
		t.Errorf("unknown name found; want not found")
	}
}

func TestIsComplete(t *testing.T) {
	in := newInterp(t, Options{})
	for _, tc := range []struct {
		code, status, indent string
	}{
		{"x := 1", "complete", ""},
		{"", "complete", ""},
		{"func f() {", "incomplete", "\t"},
		{"func f() {\n\tif x {", "incomplete", "\t\t"},
		{"fmt.Println(1,", "incomplete", "\t"},
		{"x := 1 +", "incomplete", "\t"},
		{"y := a.", "incomplete", "\t"},
		{"s := `raw", "incomplete", ""},
		{"/* open comment", "incomplete", ""},
		{"x := (1))", "invalid", ""},
		{"}", "invalid", ""},
		{"x++", "complete", ""},
		{"f(1, 2)\n", "complete", ""},
		{"if x", "incomplete", ""},
		{"x := := 1", "invalid", ""},
		{"func f() { return }\nx := 1", "complete", ""},
	} {
		t.Run(tc.code, func(t *testing.T) {
			s, ind := in.IsComplete(tc.code)
			if s != tc.status || ind != tc.indent {
				t.Errorf("got %q, %q; want %q, %q", s, ind, tc.status, tc.indent)
			}
		})
	}
}

func TestPickRules(t *testing.T) {
	val := func(s string) rendered { return rendered{kind: "value", data: display.Text(s)} }
	nilv := rendered{kind: "nil", data: display.Text("<nil>")}
	errv := rendered{kind: "error", data: display.Text("boom")}
	for _, tc := range []struct {
		name   string
		rs     []rendered
		isCall bool
		want   string // "" means no result
	}{
		{"none", nil, true, ""},
		{"one value", []rendered{val("1")}, true, "1"},
		{"nil from call", []rendered{nilv}, true, ""},
		{"nil expression", []rendered{nilv}, false, "<nil>"},
		{"value and nil error", []rendered{val("1"), nilv}, true, "1"},
		{"value and error", []rendered{val("1"), errv}, true, "boom"},
		{"tuple", []rendered{val("1"), val(`"a"`)}, true, `(1, "a")`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := pick(tc.rs, tc.isCall)
			got := ""
			if d != nil {
				got = d.Text()
			}
			if got != tc.want {
				t.Errorf("got %q; want %q", got, tc.want)
			}
		})
	}
	_ = reflect.DeepEqual
}

func TestCloseRestoresDescriptors(t *testing.T) {
	ident := func(fd int) [2]uint64 {
		var st syscall.Stat_t
		if err := syscall.Fstat(fd, &st); err != nil {
			t.Fatalf("fstat %d: %v", fd, err)
		}
		return [2]uint64{uint64(st.Dev), uint64(st.Ino)}
	}
	before := [2][2]uint64{ident(1), ident(2)}
	in, err := New(Options{CaptureFD: true})
	if err != nil {
		t.Fatal(err)
	}
	if ident(1) == before[0] {
		t.Errorf("fd 1 not redirected while capturing")
	}
	if _, err := New(Options{CaptureFD: true}); err == nil {
		t.Errorf("second capturing Interpreter: got nil error; want one")
	}
	in.Close()
	if after := [2][2]uint64{ident(1), ident(2)}; after != before {
		t.Errorf("descriptors after Close: got %v; want %v", after, before)
	}
}

package interp

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/qlab-dev/qlab/qlab/display"
)

func newInterp(t testing.TB, opt Options) *Interpreter {
	t.Helper()
	in, err := New(opt)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { in.Close() })
	return in
}

// run executes cells in order and returns the last cell's result and error;
// earlier cells must succeed.
func run(t *testing.T, in *Interpreter, cells ...string) (*display.Data, error, *recorder) {
	t.Helper()
	var r *recorder
	for i, c := range cells {
		r = newRecorder()
		d, err := in.Execute(context.Background(), c, r)
		if i == len(cells)-1 {
			return d, err, r
		}
		if err != nil {
			t.Fatalf("cell %d %q: %v", i, c, err)
		}
	}
	return nil, nil, r
}

func TestSplit(t *testing.T) {
	type want struct {
		kind chunkKind
		src  string
		line int
	}
	for _, tc := range []struct {
		name     string
		src      string
		chunks   []want
		trailing string
	}{
		{"statement", "x := 3", []want{{chunkStmt, "x := 3", 1}}, ""},
		{"expression", "x", nil, "x"},
		{"import then statement", "import \"fmt\"\nfmt.Println(1)", []want{{chunkImport, `import "fmt"`, 1}}, "fmt.Println(1)"},
		{"mixed order", "x := 1\nfunc f() int { return x }\ntype T int\ny := f()\ny",
			[]want{{chunkStmt, "x := 1", 1}, {chunkDecl, "func f() int { return x }\ntype T int", 2}, {chunkStmt, "y := f()", 4}}, "y"},
		{"method vs literal", "func (t T) M() {}\nfunc() { x++ }()\nx",
			[]want{{chunkDecl, "func (t T) M() {}", 1}, {chunkStmt, "func() { x++ }()", 2}}, "x"},
		{"for and if headers", "for i := 0; i < 3; i++ {\n}\nif a := 1; a > 0 { b := 2; _ = b } else if c := 3; c > 1 {\n}\nz := 1; w := 2",
			[]want{{chunkStmt, "for i := 0; i < 3; i++ {\n}", 1}, {chunkStmt, "if a := 1; a > 0 { b := 2; _ = b } else if c := 3; c > 1 {\n}", 3}, {chunkStmt, "z := 1; w := 2", 5}}, ""},
		{"var is a declaration", "var a = 1\nb := 2", []want{{chunkDecl, "var a = 1", 1}, {chunkStmt, "b := 2", 2}}, ""},
		{"grouped import", "import (\n\t\"fmt\"\n\t\"os\"\n)\n", []want{{chunkImport, "import (\n\t\"fmt\"\n\t\"os\"\n)", 1}}, ""},
		{"comments ignored", "// hi\nx := 1 // one\n", []want{{chunkStmt, "x := 1", 2}}, ""},
		{"multi-line trailing", "f(1,\n  2)", nil, "f(1,\n  2)"},
		{"empty", "  \n", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chunks, tr := split(tc.src)
			var got []want
			for _, c := range chunks {
				got = append(got, want{c.kind, c.src, c.line})
			}
			if !reflect.DeepEqual(got, tc.chunks) {
				t.Errorf("chunks: got %+v; want %+v", got, tc.chunks)
			}
			gotTr := ""
			if tr != nil {
				gotTr = tr.src
			}
			if gotTr != tc.trailing {
				t.Errorf("trailing: got %q; want %q", gotTr, tc.trailing)
			}
		})
	}
}

func TestTrailingDisplay(t *testing.T) {
	in := newInterp(t, Options{})
	run(t, in, `import "fmt"
import "errors"
import "strconv"
func none() {}
func two() (int, string) { return 1, "a" }
func bad() (int, error) { return 0, errors.New("bad thing") }
func nilErr() error { return nil }
type H struct{ A int }
func (h H) HTML() string { return "<b>h</b>" }
type S struct{ A int }
func (s S) String() string { return "an S" }
type P struct{ A, B int }
var ip *int
`)
	for _, tc := range []struct {
		cell string
		want map[display.MIME]any // nil: no result
	}{
		{"3 + 4", map[display.MIME]any{display.MIMEPlain: "7"}},
		{`"hi"`, map[display.MIME]any{display.MIMEPlain: `"hi"`}},
		{"x := 3\nx", map[display.MIME]any{display.MIMEPlain: "3"}},
		{"x := 3", nil},
		{`fmt.Println("printed")`, nil},
		{`fmt.Sprint("s")`, map[display.MIME]any{display.MIMEPlain: `"s"`}},
		{"none()", nil},
		{"two()", map[display.MIME]any{display.MIMEPlain: `(1, "a")`}},
		{"bad()", map[display.MIME]any{display.MIMEPlain: "bad thing"}},
		{`strconv.Atoi("42")`, map[display.MIME]any{display.MIMEPlain: "42"}},
		{"nilErr()", nil},
		{"ip", map[display.MIME]any{display.MIMEPlain: "<nil>"}},
		{"H{1}", map[display.MIME]any{display.MIMEHTML: "<b>h</b>", display.MIMEPlain: "<HTML>"}},
		{"h := H{2}\nh", map[display.MIME]any{display.MIMEHTML: "<b>h</b>", display.MIMEPlain: "<HTML>"}},
		{"S{1}", map[display.MIME]any{display.MIMEPlain: "an S"}},
		{"P{1, 2}", map[display.MIME]any{display.MIMEPlain: "{A:1 B:2}"}},
		{`errors.New("e")`, map[display.MIME]any{display.MIMEPlain: "e"}},
		{"[]int{1, 2}", map[display.MIME]any{display.MIMEPlain: "[1 2]"}},
	} {
		t.Run(tc.cell, func(t *testing.T) {
			d, err, _ := run(t, in, tc.cell)
			if err != nil {
				t.Fatalf("Execute: %v", err)
			}
			if tc.want == nil {
				if d != nil {
					t.Fatalf("got result %+v; want none", d.Data)
				}
				return
			}
			if d == nil {
				t.Fatalf("got no result; want %v", tc.want)
			}
			if !reflect.DeepEqual(d.Data, tc.want) {
				t.Errorf("got %v; want %v", d.Data, tc.want)
			}
		})
	}
}

func TestStatePersistsAndRedefinition(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cells []string
		want  string
	}{
		{"variable", []string{"x := 1", "x := x + 1", "x"}, "2"},
		{"variable changes type", []string{"x := 1", `x := "s"`, "x"}, `"s"`},
		{"function", []string{"func f() int { return 1 }", "func f() int { return 2 }", "f()"}, "2"},
		{"function signature", []string{"func f() int { return 1 }", "func f(a int) string { return \"v2\" }", "f(0)"}, `"v2"`},
		{"var decl", []string{"var v = 1", `var v = "two"`, "v"}, `"two"`},
		{"multi-value define in a loop", []string{"import \"strconv\"\nsum := 0\nfor i := 0; i < 3; i++ {\n\tv, err := strconv.Atoi(\"2\")\n\tif err != nil {\n\t\tpanic(err)\n\t}\n\tsum += v\n}\nsum"}, "6"},
		{"const", []string{"const c = 1", "const c = 2", "c"}, "2"},
		{"unused import and variable", []string{"import \"strings\"\ny := 3", "y"}, "3"},
		{"cell mixing everything", []string{"x := 2\nimport \"fmt\"\nfunc sq(v int) int { return v * v }\ns := fmt.Sprint(sq(x))\ns"}, `"4"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := newInterp(t, Options{})
			d, err, _ := run(t, in, tc.cells...)
			if err != nil {
				t.Fatalf("Execute: %v", err)
			}
			if d == nil || d.Text() != tc.want {
				t.Fatalf("got %v; want %s", d, tc.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	in := newInterp(t, Options{})
	run(t, in, "func boom() {\n\tpanic(\"kaboom\")\n}")
	for _, tc := range []struct {
		name      string
		cell      string
		ename     string
		evalue    string // substring
		traceLine string // substring of some traceback line
	}{
		{"undefined", "a := 1\nb := a + 1\nc := nope + b", ErrCompile, "line 3:", ""},
		{"syntax", "x := 1\ny := (2 +", ErrCompile, "line 2", ""},
		{"panic with frames", "x := 1\n\nboom()", ErrPanic, "kaboom", "at line 3:1 in cell"},
		{"panic in callee frame", "boom()", ErrPanic, "kaboom", "at line 2:2 in main.boom"},
		{"index out of range", "var s []int\n_ = s[3]", ErrRuntime, "index out of range", ""},
		{"nil map write", "var m map[string]int\nm[\"a\"] = 1", ErrRuntime, "nil map", ""},
		{"type error", `x := 1 + "a"`, ErrCompile, "line 1", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err, _ := run(t, in, tc.cell)
			var ce *CellError
			if !errors.As(err, &ce) {
				t.Fatalf("got error %v (%T); want *CellError", err, err)
			}
			if ce.Ename() != tc.ename || !strings.Contains(ce.Evalue(), tc.evalue) {
				t.Errorf("got %q: %q; want %q containing %q", ce.Ename(), ce.Evalue(), tc.ename, tc.evalue)
			}
			if tc.traceLine != "" && !strings.Contains(strings.Join(ce.Traceback(), "\n"), tc.traceLine) {
				t.Errorf("traceback %q lacks %q", ce.Traceback(), tc.traceLine)
			}
		})
	}
	// The interpreter survives.
	d, err, _ := run(t, in, "1 + 1")
	if err != nil || d == nil || d.Text() != "2" {
		t.Fatalf("after errors: got %v, %v; want 2", d, err)
	}
}

func TestInterruptInterpretedLoop(t *testing.T) {
	if raceEnabled {
		t.Skip("yaegi's cancellation races by design (see raceEnabled)")
	}
	in := newInterp(t, Options{})
	run(t, in, "kept := 42")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	_, err := in.Execute(ctx, "n := 0\nfor {\n\tn++\n}", newRecorder())
	took := time.Since(start)
	var ce *CellError
	if !errors.As(err, &ce) || ce.Ename() != ErrInterrupted {
		t.Fatalf("got %v; want an Interrupted CellError", err)
	}
	if took > 1200*time.Millisecond {
		t.Errorf("Execute returned %v after start (cancel at 200ms); want within 1s of cancel", took)
	}
	d, err, _ := run(t, in, "kept")
	if err != nil || d == nil || d.Text() != "42" {
		t.Fatalf("after interrupt: got %v, %v; want 42", d, err)
	}
}

func TestInterruptCompiledCallWatchingCellContext(t *testing.T) {
	if raceEnabled {
		t.Skip("yaegi's cancellation races by design (see raceEnabled)")
	}
	in := newInterp(t, Options{})
	// A compiled function that blocks until its context is done, standing in
	// for qlab's train.Fit(cell.Context(), ...).
	stopped := make(chan error, 1)
	if err := in.yi.Use(map[string]map[string]reflect.Value{
		"example.com/block/block": {"Wait": reflect.ValueOf(func(ctx context.Context) error {
			select {
			case <-ctx.Done():
				stopped <- ctx.Err()
				return ctx.Err()
			case <-time.After(10 * time.Second):
				stopped <- nil
				return nil
			}
		})},
	}); err != nil {
		t.Fatal(err)
	}
	run(t, in, "import \"example.com/block\"\nimport \"github.com/qlab-dev/qlab/kernel/cell\"")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := in.Execute(ctx, "block.Wait(cell.Context())", newRecorder())
	var ce *CellError
	if !errors.As(err, &ce) || ce.Ename() != ErrInterrupted {
		t.Fatalf("got %v; want an Interrupted CellError", err)
	}
	if took := time.Since(start); took > 1100*time.Millisecond {
		t.Errorf("Execute took %v; want within 1s of the cancel", took)
	}
	select {
	case err := <-stopped:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("compiled call ended with %v; want context.Canceled", err)
		}
	case <-time.After(time.Second):
		t.Errorf("compiled call still running 1s after the interrupt")
	}
}

func TestInput(t *testing.T) {
	in := newInterp(t, Options{})
	r := newRecorder()
	r.input = "Ada"
	d, err := in.Execute(context.Background(), "import \"github.com/qlab-dev/qlab/kernel/cell\"\nname, err := cell.Input(\"name? \")\nname + \"!\"", r)
	if err != nil || d == nil || d.Text() != `"Ada!"` {
		t.Fatalf("got %v, %v; want \"Ada!\"", d, err)
	}
	if len(r.prompts) != 1 || r.prompts[0] != "name? " {
		t.Errorf("prompts: got %q; want [\"name? \"]", r.prompts)
	}
}

func TestDisplayFromCell(t *testing.T) {
	in := newInterp(t, Options{})
	_, err, r := run(t, in, `import "github.com/qlab-dev/qlab/qlab/display"
h := display.NewHandle()
h.Display(display.HTML("<i>one</i>"))
h.Update(display.Markdown("two"))
display.Clear(true)`)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"display", "update", "clear"}; !reflect.DeepEqual(r.events, want) {
		t.Fatalf("events: got %v; want %v", r.events, want)
	}
	if r.displays[0].DisplayID() == "" || r.displays[0].DisplayID() != r.displays[1].DisplayID() {
		t.Errorf("display ids %q, %q; want equal and non-empty", r.displays[0].DisplayID(), r.displays[1].DisplayID())
	}
}

func TestGenericHelpers(t *testing.T) {
	in := newInterp(t, Options{})
	run(t, in, "import \"slices\"\nimport \"maps\"")
	for _, tc := range []struct{ cell, want string }{
		{"s := []int{3, 1, 2}\nslices.Sort(s)\ns", "[1 2 3]"},
		{"f := []float64{2.5, -1}\nslices.Sort(f)\nf", "[-1 2.5]"},
		{"f32 := []float32{2, 1}\nslices.Sort(f32)\nf32", "[1 2]"},
		{`w := []string{"b", "a"}` + "\nslices.Sort(w)\nw", `[a b]`},
		{"s := []int{1, 2, 3}\nslices.SortFunc(s, func(a, b int) int { return b - a })\ns", "[3 2 1]"},
		{"slices.Contains([]int{1, 2}, 2)", "true"},
		{"slices.Index([]string{\"a\", \"b\"}, \"b\")", "1"},
		{"slices.Max([]int{4, 9, 2})", "9"},
		{"slices.Min([]float64{4, -9, 2})", "-9"},
		{"r := []int{1, 2, 3}\nslices.Reverse(r)\nr", "[3 2 1]"},
		{"k := slices.Collect(maps.Keys(map[string]int{\"b\": 1, \"a\": 2}))\nslices.Sort(k)\nk", "[a b]"},
		{"slices.Sorted(maps.Values(map[string]int{\"b\": 1, \"a\": 2}))", "[1 2]"},
	} {
		t.Run(tc.cell, func(t *testing.T) {
			d, err, _ := run(t, in, tc.cell)
			if err != nil || d == nil || d.Text() != tc.want {
				t.Fatalf("got %v, %v; want %s", d, err, tc.want)
			}
		})
	}
}

func TestUnsupportedSyntax(t *testing.T) {
	in := newInterp(t, Options{})
	for _, tc := range []struct {
		name, cell, want string
	}{
		{"goto out of a range over a func", "func seq(yield func(int) bool) {}\nfunc f() {\n\tfor v := range seq {\n\t\t_ = v\n\t\tgoto done\n\t}\ndone:\n\treturn\n}", "cannot range over"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err, _ := run(t, in, tc.cell)
			var ce *CellError
			if !errors.As(err, &ce) || ce.Ename() != ErrUnsupported || !strings.Contains(ce.Evalue(), tc.want) {
				t.Fatalf("got %v; want an unsupported CellError containing %q", err, tc.want)
			}
		})
	}
	// Generic types cannot change (redefine.go), but may be declared again
	// unchanged, as may other types.
	run(t, in, "type Shape struct{ W int }\nfunc (s Shape) Area() int { return s.W }", "type Box[T any] struct{ V T }")
	for _, tc := range []struct{ name, cell, want string }{
		{"changed generic type", "x := 1\ntype Box[T any] struct{ V, W T }", "line 2: cannot redefine the generic type Box"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err, _ := run(t, in, tc.cell)
			var ce *CellError
			if !errors.As(err, &ce) || ce.Ename() != ErrUnsupported || !strings.Contains(ce.Evalue(), tc.want) {
				t.Fatalf("got %v; want an unsupported CellError containing %q", err, tc.want)
			}
		})
	}
	if d, err, _ := run(t, in, "type Box[T any] struct{ V T }\nBox[int]{4}.V"); err != nil || d == nil || d.Text() != "4" {
		t.Fatalf("re-running an unchanged generic type: got %v, %v; want 4", d, err)
	}
	if d, err, _ := run(t, in, "type Shape struct{ W int }\nfunc (s Shape) Area() int { return s.W }\nShape{3}.Area()"); err != nil || d == nil || d.Text() != "3" {
		t.Fatalf("re-running unchanged declarations: got %v, %v; want 3", d, err)
	}
	// A cell's own min is not the builtin.
	d, err, _ := run(t, in, "func min(a, b int) int { if a < b { return a }; return b }", "min(4, 2)")
	if err != nil || d == nil || d.Text() != "2" {
		t.Fatalf("user-defined min: got %v, %v; want 2", d, err)
	}
}

func TestDisplayOfCellValue(t *testing.T) {
	in := newInterp(t, Options{})
	_, err, r := run(t, in, "import \"github.com/qlab-dev/qlab/qlab/display\"\ntype P struct{ A, B int }\ndisplay.Display(P{1, 2})\nvar a any = P{3, 4}\ndisplay.Display(a)")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.displays) != 2 {
		t.Fatalf("got %d displays; want 2", len(r.displays))
	}
	for i, want := range []string{"{A:1 B:2}", "{A:3 B:4}"} {
		if got := r.displays[i].Text(); got != want {
			t.Errorf("display %d: got %q; want %q", i, got, want)
		}
	}
}

package interp

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// Item 5 of issue 16: redefining a type or a method in a later cell takes
// effect for code run afterwards; a value made with the old definition
// keeps working or gives an error naming the type and saying why.
func TestHold5RedefinitionTakesEffect(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cells []string // each must succeed
		last  string   // its result (or stdout when out is set)
		want  string
		out   bool
		html  string // the result's text/html, when set
	}{
		{"struct gains a field",
			[]string{"type Point struct{ X, Y int }", "a := Point{1, 2}", "type Point struct{ X, Y, Z int }"},
			"Point{1, 2, 3}", "{X:1 Y:2 Z:3}", false, ""},
		{"method body changes",
			[]string{"type P struct{ X int }", "func (p P) Norm() int { return p.X }", "P{3}.Norm()", "func (p P) Norm() int { return 2 * p.X }"},
			"P{3}.Norm()", "6", false, ""},
		{"method added",
			[]string{"type P struct{ X int }", "func (p P) A() int { return p.X }", "p := P{4}", "func (p P) B() int { return p.A() * 10 }"},
			"P{1}.B() + p.B()", "50", false, ""},
		{"earlier function returns the new type",
			[]string{"type P struct{ X int }", "func mk() P { return P{X: 1} }", "func useMk() P { return mk() }", "type P struct{ X, Y int }"},
			"useMk()", "{X:1 Y:0}", false, ""},
		{"earlier function calls the new methods",
			[]string{"type P struct{ X int }", "func (p P) Get() int { return p.X }", "func get(p P) int { return p.Get() }", "func (p P) Get() int { return -p.X }"},
			"get(P{7})", "-7", false, ""},
		{"old value keeps its methods",
			[]string{"type P struct{ X int }", "func (p P) Get() int { return p.X }", "old := P{5}", "type P struct{ X, Y int }\nfunc (p P) Get() int { return p.X + p.Y }"},
			"old.Get() + P{1, 2}.Get()", "8", false, ""},
		{"generic call with the new type",
			[]string{"import \"fmt\"", "type P struct{ X int }", "func Map[T, U any](s []T, f func(T) U) []U {\n\tvar r []U\n\tfor _, x := range s {\n\t\tr = append(r, f(x))\n\t}\n\treturn r\n}", "func Id[T any](x T) T { return x }", "Id(P{1})", "type P struct{ X, Y int }"},
			"fmt.Print(Id(P{1, 2}), Map([]P{{3, 4}}, func(p P) int { return p.Y }))", "{1 2} [4]", true, ""},
		{"redefined three times",
			[]string{"type P struct{ A int }", "func (p P) S() int { return p.A }", "type P struct{ A, B int }\nfunc (p P) S() int { return p.A + p.B }", "P{1, 2}.S()", "type P struct{ A, B, C int }\nfunc (p P) S() int { return p.A + p.B + p.C }", "P{1, 2, 3}.S()", "func (p P) S() int { return 100 }"},
			"P{1, 2, 3}.S()", "100", false, ""},
		{"pointer receivers",
			[]string{"type C struct{ N int }", "func (c *C) Inc() { c.N++ }", "func (c *C) Inc() { c.N += 10 }", "c := &C{1}\nc.Inc()"},
			"c.N", "11", false, ""},
		{"type embedding a redefined type",
			[]string{"type Inner struct{ X int }", "func (i Inner) Hi() string { return \"hi\" }", "type Outer struct {\n\tInner\n\tZ int\n}", "func mkOuter() Outer { return Outer{Inner: Inner{X: 1}, Z: 2} }", "type Inner struct{ X, Y int }"},
			"o := Outer{Inner: Inner{X: 1, Y: 2}, Z: 3}\no.Y + o.Inner.X + len(o.Hi()) + mkOuter().Z", "7", false, ""},
		{"cell redefining and using the type",
			[]string{"type P struct{ X int }"},
			"type P struct{ X, Y int }\nfunc (p P) Sum() int { return p.X + p.Y }\nq := P{1, 2}\nq.Sum()", "3", false, ""},
		{"String method changes",
			[]string{"import \"fmt\"", "type Celsius float64", "func (c Celsius) String() string { return fmt.Sprintf(\"%.0fC\", float64(c)) }", "func (c Celsius) String() string { return fmt.Sprintf(\"%.1f°C\", float64(c)) }"},
			"Celsius(3)", "3.0°C", false, ""},
		{"String method changes, fmt prints old and new values",
			[]string{"import \"fmt\"", "type Celsius float64", "func (c Celsius) String() string { return fmt.Sprintf(\"%.0fC\", float64(c)) }", "a := Celsius(1)", "func (c Celsius) String() string { return fmt.Sprintf(\"%.1f°C\", float64(c)) }"},
			"fmt.Printf(\"%v %v %v %T %T\", a, Celsius(2), []Celsius{3}, a, Celsius(4))", "1C 2.0°C [3.0°C] main.Celsius main.Celsius", true, ""},
		{"enum constants follow their type",
			[]string{"import \"fmt\"", "type Color int", "const (\n\tRed Color = iota\n\tGreen\n)", "func (c Color) String() string { return [...]string{\"r\", \"g\"}[c] }", "func (c Color) String() string { return [...]string{\"red\", \"green\"}[c] }"},
			"Green", "green", false, ""},
		{"interface type changes",
			[]string{"type Shape interface{ Area() float64 }", "type Sq struct{ S float64 }", "func (s Sq) Area() float64 { return s.S * s.S }", "func (s Sq) Perim() float64 { return 4 * s.S }", "type Shape interface {\n\tArea() float64\n\tPerim() float64\n}", "func total(ss ...Shape) float64 {\n\tt := 0.0\n\tfor _, s := range ss {\n\t\tt += s.Area() + s.Perim()\n\t}\n\treturn t\n}"},
			"total(Sq{1}, Sq{2})", "17", false, ""},
		{"method added after a redefinition, promoted through embedding",
			[]string{"type P struct{ X int }", "type Q struct{ P }", "type P struct{ X, Y int }", "func (p P) Added() int { return p.Y }"},
			"P{1, 2}.Added() + Q{P{3, 4}}.Added()", "6", false, ""},
		{"HTML method of a redefined type displays",
			[]string{"type Fig struct{ N int }", "func (f Fig) HTML() string { return \"old\" }", "func (f Fig) HTML() string { return \"<i>new</i>\" }"},
			"Fig{1}", "<HTML>", false, "<i>new</i>"},
		{"method value of the new type",
			[]string{"type P struct{ X int }", "func (p P) Get() int { return p.X }", "func (p P) Get() int { return p.X * 100 }"},
			"g := P{2}.Get\ng()", "200", false, ""},
		{"grouped type declaration, one type changed",
			[]string{"type (\n\tA struct{ X int }\n\tB struct{ A A }\n)", "type (\n\tA struct{ X, Y int }\n\tB struct{ A A }\n)"},
			"B{A{1, 2}}.A.Y", "2", false, ""},
		{"function before the changed type in the same cell",
			[]string{"type P struct{ X int }", "func mk() P { return P{X: 4, Y: 5} }\ntype P struct{ X, Y int }"},
			"mk().Y", "5", false, ""},
		{"two types referring to each other, both changed",
			[]string{"type A struct{ B *B }\ntype B struct{ A *A }", "type A struct {\n\tB *B\n\tN int\n}\ntype B struct {\n\tA *A\n\tM int\n}"},
			"a := &A{N: 1}\nb := &B{A: a, M: 2}\na.B = b\na.B.A.N + a.B.M", "3", false, ""},
		{"type changes kind, map key",
			[]string{"type ID int", "func lookup(m map[ID]string, k ID) string { return m[k] }", "type ID string"},
			"lookup(map[ID]string{\"a\": \"x\"}, \"a\")", "\"x\"", false, ""},
		{"self-referencing type",
			[]string{"type Node struct {\n\tV    int\n\tNext *Node\n}", "type Node struct {\n\tV, W int\n\tNext *Node\n}", "n := &Node{V: 1, Next: &Node{W: 2}}"},
			"n.Next.W + n.V", "3", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := newInterp(t, Options{})
			run(t, in, tc.cells...)
			d, err, r := run(t, in, tc.last)
			if err != nil {
				t.Fatalf("%q: %v", tc.last, err)
			}
			if tc.html != "" && (d == nil || d.Data["text/html"] != tc.html) {
				t.Fatalf("%q: got %v; want text/html %s", tc.last, d, tc.html)
			}
			got := r.text("stdout")
			if !tc.out {
				got = ""
				if d != nil {
					got = d.Text()
				}
			}
			if got != tc.want {
				t.Fatalf("%q: got %q; want %q", tc.last, got, tc.want)
			}
		})
	}
}

// A value made with an earlier definition, used where the current one is
// expected, is an error naming the type and saying why.
func TestHold5OldValueErrorNamesType(t *testing.T) {
	in := newInterp(t, Options{})
	run(t, in, "type Point struct{ X, Y int }", "old := Point{1, 2}", "type Point struct{ X, Y, Z int }")
	for _, cell := range []string{
		"var p Point\np = old",
		"func norm(p Point) int { return p.X + p.Z }\nnorm(old)",
		"ps := []Point{old}",
	} {
		_, err, _ := run(t, in, cell)
		if err == nil {
			t.Fatalf("%q: no error; want one naming Point and its earlier definition", cell)
		}
		msg := err.Error()
		if !strings.Contains(msg, "Point (earlier definition)") || !strings.Contains(msg, "Point was redefined") || strings.Contains(msg, genMark) {
			t.Errorf("%q: got %q; want an error naming Point's earlier definition, without internal names", cell, msg)
		}
	}
	// The old value itself still works.
	d, err, _ := run(t, in, "old.X + old.Y")
	if err != nil || d == nil || d.Text() != "3" {
		t.Fatalf("old.X + old.Y: got %v, %v; want 3", d, err)
	}
}

// An earlier function that no longer compiles against the new definition
// is replaced by one that panics saying so, and the cell says it on stderr.
func TestHold5EarlierFunctionThatNoLongerCompiles(t *testing.T) {
	in := newInterp(t, Options{})
	run(t, in, "type P struct{ X int }", "var g = P{1}", "func setG() { g = P{2} }", "func getX() int { return g.X }")
	_, err, r := run(t, in, "type P struct{ X, Y int }")
	if err != nil {
		t.Fatalf("redefinition: %v", err)
	}
	if e := r.text("stderr"); !strings.Contains(e, "setG") || !strings.Contains(e, "earlier definition of P") {
		t.Errorf("stderr: got %q; want a warning naming setG and P", e)
	}
	_, err, _ = run(t, in, "setG()")
	if err == nil || !strings.Contains(err.Error(), "setG was declared by an earlier cell against the earlier definition of P") {
		t.Errorf("setG(): got %v; want a panic saying it was declared against the earlier P", err)
	}
	d, err, _ := run(t, in, "getX()")
	if err != nil || d == nil || d.Text() != "1" {
		t.Errorf("getX(): got %v, %v; want 1 (g keeps its old value)", d, err)
	}
	d, err, _ = run(t, in, "func setG() { g = P{3, 4} }\nvar g = P{5, 6}\nsetG()\ng")
	if err != nil || d == nil || d.Text() != "{X:3 Y:4}" {
		t.Errorf("setG() declared again: got %v, %v; want {X:3 Y:4}", d, err)
	}
}

// Re-running a cell unchanged keeps the generation in effect: no new type,
// no declarations again, values made since keep working.
func TestHold5RerunKeepsGeneration(t *testing.T) {
	in := newInterp(t, Options{})
	redefine := "type P struct{ X, Y int }\nfunc (p P) Sum() int { return p.X + p.Y }"
	run(t, in, "type P struct{ X int }\nfunc (p P) Sum() int { return p.X }", redefine)
	if g := in.redef.current("P"); g != 2 {
		t.Fatalf("generation after one redefinition: got %d; want 2", g)
	}
	run(t, in, "v := P{1, 2}", redefine, redefine)
	if g := in.redef.current("P"); g != 2 {
		t.Fatalf("generation after re-running the cell: got %d; want 2", g)
	}
	d, err, _ := run(t, in, "var w P\nw = v\nw.Sum()")
	if err != nil || d == nil || d.Text() != "3" {
		t.Fatalf("value made before the re-run: got %v, %v; want 3", d, err)
	}
}

func TestUserNames(t *testing.T) {
	r := &redefs{gen: map[string]int{"Point": 3}}
	for _, tc := range []struct{ in, want string }{
		{"cannot use type main.Point as type main.Pointꞏ3 in assignment", "cannot use type main.Point (earlier definition) as type main.Point in assignment"},
		{"cannot use p (variable of struct type Pointꞏ2) as Point value", "cannot use p (variable of struct type Point (earlier definition)) as Point value"},
		{"main.Pointer is not main.Pointꞏ3", "main.Pointer is not main.Point"},
	} {
		if got, _ := r.userNames(tc.in); got != tc.want {
			t.Errorf("userNames(%q): got %q; want %q", tc.in, got, tc.want)
		}
	}
}

// A redefinition that fails (in the new type, or in the cell's methods)
// leaves the earlier definition in effect, with its methods and the
// functions that use it; fixing the cell then redefines the type.
func TestHold5FailedRedefinitionKeepsEarlierDefinition(t *testing.T) {
	in := newInterp(t, Options{})
	run(t, in, "type P struct{ X int }", "func (p P) Get() int { return p.X }", "func twice(p P) int { return 2 * p.Get() }", "old := P{1}")
	for _, cell := range []string{
		"type P struct{ X, Y Unknown }",
		"type P struct{ X, Y int }\nfunc (p P) Get() int { return p.X + p.Y + undefinedThing }",
	} {
		if _, err, _ := run(t, in, cell); err == nil {
			t.Fatalf("%q: no error", cell)
		}
		d, err, _ := run(t, in, "var q P\nq = old\nq.Get() + twice(P{2})")
		if err != nil || d == nil || d.Text() != "5" {
			t.Fatalf("after %q failed: got %v, %v; want 5 (the earlier P)", cell, d, err)
		}
	}
	d, err, _ := run(t, in, "type P struct{ X, Y int }\nfunc (p P) Get() int { return p.X + p.Y }", "twice(P{2, 3})")
	if err != nil || d == nil || d.Text() != "10" {
		t.Fatalf("fixed redefinition: got %v, %v; want 10", d, err)
	}
}

// redefSession declares a type used by earlier cells: 5 methods, a type
// embedding it, 20 functions, 10 unrelated functions.
func redefSession(b *testing.B, in *Interpreter) {
	b.Helper()
	cells := []string{"import \"fmt\"", "type P struct{ X, Y int }", "type Outer struct {\n\tP\n\tN int\n}"}
	for i := 0; i < 5; i++ {
		cells = append(cells, fmt.Sprintf("func (p P) M%d() int { return p.X + %d }", i, i))
	}
	for i := 0; i < 20; i++ {
		cells = append(cells, fmt.Sprintf("func f%d(p P) string { return fmt.Sprint(p.M0() + %d) }", i, i))
	}
	for i := 0; i < 10; i++ {
		cells = append(cells, fmt.Sprintf("func g%d(x int) int { return x * %d }", i, i))
	}
	for _, c := range cells {
		if _, err := in.Execute(context.Background(), c, newRecorder()); err != nil {
			b.Fatalf("%q: %v", c, err)
		}
	}
}

// BenchmarkRedefinitionCell is a cell that redefines P of redefSession
// (every iteration a new generation, 26 declarations declared again).
func BenchmarkRedefinitionCell(b *testing.B) {
	in := newInterp(b, Options{})
	redefSession(b, in)
	cells := [2]string{"type P struct{ X, Y, Z int }", "type P struct{ X, Y int }"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := in.Execute(context.Background(), cells[i%2], newRecorder()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTrivialCellAfterRedefinition is BenchmarkExecuteTrivial after P
// of redefSession was redefined: cells that do not change a type cost what
// they did.
func BenchmarkTrivialCellAfterRedefinition(b *testing.B) {
	in := newInterp(b, Options{})
	redefSession(b, in)
	for _, c := range []string{"type P struct{ X, Y, Z int }", "type P struct{ X, Y int }"} {
		if _, err := in.Execute(context.Background(), c, newRecorder()); err != nil {
			b.Fatal(err)
		}
	}
	r := newRecorder()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := in.Execute(context.Background(), "x := 1\nx + 1", r); err != nil {
			b.Fatal(err)
		}
	}
}

// The type checker's session keeps an earlier generation only while a
// variable holds one: redefining a type many times does not make later
// cells' type checking slower.
func TestRedefinitionSessionDoesNotGrow(t *testing.T) {
	in := newInterp(t, Options{})
	run(t, in, "type P struct{ X int }\nfunc (p P) Get() int { return p.X }", "kept := P{1}")
	for i := 0; i < 10; i++ {
		run(t, in, fmt.Sprintf("type P struct{ X, Y%d int }", i))
	}
	var old []string
	for _, k := range in.tsess.order {
		if strings.Contains(k, genMark) {
			old = append(old, k)
		}
	}
	if want := []string{"Pꞏ1", "Pꞏ1.Get"}; strings.Join(old, " ") != strings.Join(want, " ") {
		t.Fatalf("earlier generations in the session: got %v; want %v (the one kept holds)", old, want)
	}
	if d, err, _ := run(t, in, "kept.Get()"); err != nil || d == nil || d.Text() != "1" {
		t.Fatalf("kept.Get(): got %v, %v; want 1", d, err)
	}
}

// A function declared again with a new body is what earlier cells'
// functions call afterwards (yaegi binds calls when it compiles the
// caller); one that no longer compiles against it panics saying so.
func TestRedefinedFunctionSeenByEarlierFunctions(t *testing.T) {
	in := newInterp(t, Options{})
	run(t, in, "func F() int { return 1 }", "func G() int { return F() * 10 }", "func H() int { return G() + 1 }")
	d, err, _ := run(t, in, "func F() int { return 2 }", "H()")
	if err != nil || d == nil || d.Text() != "21" {
		t.Fatalf("H() after F changed: got %v, %v; want 21", d, err)
	}
	_, err, r := run(t, in, "func F(x int) int { return x }")
	if err != nil {
		t.Fatalf("F with a new signature: %v", err)
	}
	if e := r.text("stderr"); !strings.Contains(e, "G was declared by an earlier cell against the earlier definition of F") {
		t.Errorf("stderr: got %q; want a warning that G no longer compiles against F", e)
	}
	_, err, _ = run(t, in, "H()")
	if err == nil || !strings.Contains(err.Error(), "G was declared by an earlier cell against the earlier definition of F") {
		t.Errorf("H() calling G: got %v; want a panic saying G was declared against the earlier F", err)
	}
	d, err, _ = run(t, in, "func G() int { return F(3) * 10 }", "H()")
	if err != nil || d == nil || d.Text() != "31" {
		t.Errorf("H() after G declared again: got %v, %v; want 31", d, err)
	}
	// The changed function in a later declaration chunk of a mixed cell.
	d, err, _ = run(t, in, "var a = 1\nb := a + 1\nfunc F(x int) int { return x + b }", "H()")
	if err != nil || d == nil || d.Text() != "51" {
		t.Errorf("H() after a mixed cell changed F: got %v, %v; want 51", d, err)
	}
}

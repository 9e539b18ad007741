package interp

import (
	"errors"
	"strings"
	"testing"
)

// Tests named after the items of "What must hold" in issue 16.

// Item 1: the constructs of Go 1.21–1.23 run as go run runs them.
func TestHold1NewSyntaxAndLibrary(t *testing.T) {
	in := newInterp(t, Options{})
	run(t, in, "import (\n\t\"fmt\"\n\t\"iter\"\n\t\"maps\"\n\t\"slices\"\n)")
	for _, tc := range []struct{ name, cell, out, result string }{
		{"range over int literal", "for i := range 3 { fmt.Print(i) }", "012", ""},
		{"range over int variable", "n := int64(4)\nfor i := range n { fmt.Print(i, \" \") }", "0 1 2 3 ", ""},
		{"range over int without variable", "for range 2 { fmt.Print(\"x\") }", "xx", ""},
		{"range over int assigning the variable", "for i := range 3 { i += 10; fmt.Print(i, \" \") }", "10 11 12 ", ""},
		{"range over func with break and continue", "func count(n int) func(func(int) bool) {\n\treturn func(yield func(int) bool) {\n\t\tfor i := 0; i < n; i++ {\n\t\t\tif !yield(i) {\n\t\t\t\treturn\n\t\t\t}\n\t\t}\n\t}\n}\nfor x := range count(10) {\n\tif x == 1 {\n\t\tcontinue\n\t}\n\tif x == 4 {\n\t\tbreak\n\t}\n\tfmt.Print(x)\n}", "023", ""},
		{"range over func with return", "func firstSquareOver(n int) (int, bool) {\n\tfor x := range count(100) {\n\t\tif x*x > n {\n\t\t\treturn x, true\n\t\t}\n\t}\n\treturn 0, false\n}\nfirstSquareOver(50)", "", "(8, true)"},
		{"nested range over funcs with return", "func pair() string {\n\tfor a := range count(5) {\n\t\tfor b := range count(5) {\n\t\t\tif a*b == 6 {\n\t\t\t\treturn fmt.Sprint(a, b)\n\t\t\t}\n\t\t}\n\t}\n\treturn \"\"\n}\npair()", "", `"2 3"`},
		{"iter.Seq2", "func pairs() iter.Seq2[string, int] {\n\treturn func(yield func(string, int) bool) {\n\t\t_ = yield(\"a\", 1) && yield(\"b\", 2)\n\t}\n}\nfor k, v := range pairs() { fmt.Print(k, v, \";\") }", "a1;b2;", ""},
		{"slices.Sorted(maps.Keys)", "m := map[string]int{\"b\": 2, \"a\": 1, \"c\": 3}\nslices.Sorted(maps.Keys(m))", "", "[a b c]"},
		{"slices.Collect", "vals := slices.Collect(maps.Values(map[string]int{\"x\": 7}))\nvals", "", "[7]"},
		{"maps.All", "total := 0\nfor _, v := range maps.All(map[string]int{\"x\": 1, \"y\": 2}) { total += v }\ntotal", "", "3"},
		{"slices.All", "for i, v := range slices.All([]string{\"p\", \"q\"}) { fmt.Print(i, v) }", "0p1q", ""},
		{"min and max", "a, b := 2.5, 1.5\nfmt.Print(min(a, b), max(3, 7, 5), min(\"b\", \"a\"))", "1.5 7a", ""},
		{"clear", "cm := map[int]int{1: 1}\nclear(cm)\nlen(cm)", "", "0"},
		{"per-iteration loop variables", "var fs []func()\nfor i := 0; i < 3; i++ { fs = append(fs, func() { fmt.Print(i) }) }\nfor _, v := range []int{4, 5} { fs = append(fs, func() { fmt.Print(v) }) }\nfor _, f := range fs { f() }", "01245", ""},
		{"generic inference with a func argument", "func Map[T, U any](s []T, f func(T) U) []U {\n\tvar r []U\n\tfor _, x := range s {\n\t\tr = append(r, f(x))\n\t}\n\treturn r\n}\nMap([]int{1, 2}, func(i int) string { return fmt.Sprint(i * 2) })", "", "[2 4]"},
		{"generic inference from constants", "func Sum[T int | float64](xs ...T) T {\n\tvar s T\n\tfor _, x := range xs {\n\t\ts += x\n\t}\n\treturn s\n}\nSum(1.5, 2.5)", "", "4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err, r := run(t, in, tc.cell)
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			if got := r.text("stdout"); got != tc.out {
				t.Errorf("stdout: got %q; want %q", got, tc.out)
			}
			got := ""
			if d != nil {
				got = d.Text()
			}
			if got != tc.result {
				t.Errorf("result: got %q; want %q", got, tc.result)
			}
		})
	}
}

// Item 2: a cell that declares main runs it once; later cells do not;
// main() runs it once.
func TestHold2MainRunsOnce(t *testing.T) {
	in := newInterp(t, Options{})
	_, err, r := run(t, in, "import \"fmt\"\nvar calls int\nfunc main() {\n\tcalls++\n\tfmt.Println(\"main\", calls)\n}")
	if err != nil || r.text("stdout") != "main 1\n" {
		t.Fatalf("declaring cell: got %q, %v; want \"main 1\\n\"", r.text("stdout"), err)
	}
	d, err, r := run(t, in, "1 + 1")
	if err != nil || r.text("stdout") != "" || d == nil || d.Text() != "2" {
		t.Fatalf("later cell: got %v, %q, %v; want 2 and no output", d, r.text("stdout"), err)
	}
	_, err, r = run(t, in, "main()")
	if err != nil || r.text("stdout") != "main 2\n" {
		t.Fatalf("main(): got %q, %v; want \"main 2\\n\"", r.text("stdout"), err)
	}
	d, _, _ = run(t, in, "calls")
	if d == nil || d.Text() != "2" {
		t.Fatalf("calls: got %v; want 2", d)
	}
}

// Item 3: an undefined name, a type error or a compile error is an error
// naming the line.
func TestHold3ErrorsNameTheLine(t *testing.T) {
	in := newInterp(t, Options{})
	for _, tc := range []struct{ name, cell, want string }{
		{"undefined name", "nosuchvar", "line 1"},
		{"undefined name in a statement", "x := 1\ny := nosuchvar + x", "line 2"},
		{"type error", "var s string = 1", "line 1"},
		{"syntax error", "x := (1 +", "line 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err, _ := run(t, in, tc.cell)
			var ce *CellError
			if !errors.As(err, &ce) || !strings.Contains(ce.Evalue(), tc.want) {
				t.Fatalf("got %v; want a CellError naming %q", err, tc.want)
			}
		})
	}
}

// Item 4: re-declaring a global with := is seen by functions declared
// earlier.
func TestHold4RedeclaredGlobalSeenByFunctions(t *testing.T) {
	in := newInterp(t, Options{})
	d, err, _ := run(t, in, "g := 1", "func getG() int { return g }", "g := 2", "getG()")
	if err != nil || d == nil || d.Text() != "2" {
		t.Fatalf("getG() after g := 2: got %v, %v; want 2", d, err)
	}
	d, err, _ = run(t, in, "import \"strconv\"", "n, err := strconv.Atoi(\"5\")", "func getN() int { return n }", "n, err := strconv.Atoi(\"7\")", "getN()")
	if err != nil || d == nil || d.Text() != "7" {
		t.Fatalf("getN() after n, err := ...: got %v, %v; want 7", d, err)
	}
}

package interp

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// goPanic returns the message compiled Go gives for f's panic, without
// "runtime error: ": the oracle for the interpreter's bounds errors.
func goPanic(f func()) (msg string) {
	defer func() { msg = strings.TrimPrefix(fmt.Sprint(recover()), "runtime error: ") }()
	f()
	return "no panic"
}

// Issue 10, item 7: a bounds error at a cell's top level says what compiled
// Go says, with the numbers, at the failing expression's line.
func TestBoundsErrorsNameTheNumbers(t *testing.T) {
	in := newInterp(t, Options{})
	run(t, in, "s := []int{1, 2, 3}\na := [3]int{}\nstr := \"abc\"\nt := s[:1]\ni, j, k := 5, -1, 2\nm := [][]int{{1}}\ntype box struct{ xs []int }\nb := box{s}")
	s := []int{1, 2, 3}
	a := [3]int{}
	str := "abc"
	tt := s[:1]
	i, j, k := 5, -1, 2
	m := [][]int{{1}}
	b := struct{ xs []int }{s}
	for _, tc := range []struct {
		cell string
		want string
		line int
	}{
		{"s[i]", goPanic(func() { _ = s[i] }), 1},
		{"x := 1\n_ = s[j]", goPanic(func() { _ = s[j] }), 2},
		{"_ = s[i-1]", goPanic(func() { _ = s[i-1] }), 1},
		{"_ = a[k+1]", goPanic(func() { _ = a[k+1] }), 1},
		{"_ = str[i]", goPanic(func() { _ = str[i] }), 1},
		{"_ = t[k]", goPanic(func() { _ = tt[k] }), 1},
		{"_ = m[0][i]", goPanic(func() { _ = m[0][i] }), 1},
		{"_ = b.xs[i]", goPanic(func() { _ = b.xs[i] }), 1},
		{"_ = s[1:i]", goPanic(func() { _ = s[1:i] }), 1},
		{"_ = a[1:i]", goPanic(func() { _ = a[1:i] }), 1},
		{"_ = str[1:i]", goPanic(func() { _ = str[1:i] }), 1},
		{"_ = s[i:]", goPanic(func() { _ = s[i:] }), 1},
		{"_ = s[k:1]", goPanic(func() { _ = s[k:1] }), 1},
		{"_ = s[j:]", goPanic(func() { _ = s[j:] }), 1},
		{"_ = s[0:1:i]", goPanic(func() { _ = s[0:1:i] }), 1},
		{"_ = s[0:k:1]", goPanic(func() { _ = s[0:k:1] }), 1},
		{"_ = s[k:1:3]", goPanic(func() { _ = s[k:1:3] }), 1},
		{"_ = t[1:i]", goPanic(func() { _ = tt[1:i] }), 1},
		{"y := 2\nz := s[0] + s[y]\n_ = s[i] + z", goPanic(func() { _ = s[i] }), 3},
	} {
		t.Run(tc.cell, func(t *testing.T) {
			_, err, _ := run(t, in, tc.cell)
			var ce *CellError
			if !errors.As(err, &ce) || ce.Ename() != ErrRuntime || ce.Evalue() != tc.want {
				t.Fatalf("got %v; want runtime error: %s", err, tc.want)
			}
			at := fmt.Sprintf("at line %d:", tc.line)
			if len(ce.Trace) == 0 || !strings.Contains(ce.Trace[0], at) {
				t.Errorf("traceback %q does not start %s", ce.Trace, at)
			}
		})
	}
}

// Where the operands are locals of a function or of a compound statement,
// their values are gone when the kernel sees the panic: the error names the
// expression and says so.
func TestBoundsErrorsNameTheExpression(t *testing.T) {
	in := newInterp(t, Options{})
	run(t, in, "s := []int{1, 2, 3}\nfunc at(xs []int, k int) int {\n\treturn xs[k]\n}\nfunc cut(xs []int, k int) []int { return xs[:k] }")
	for _, tc := range []struct{ cell, want string }{
		{"for j := 0; j < 10; j++ {\n\t_ = s[j]\n}", "index out of range in s[j] (its operands were local"},
		{"func at2(xs []int, k int) int {\n\tn := k + 1\n\treturn xs[n]\n}\nat2(s, 4)", "index out of range in xs[n] (its operands were local"},
		// Declared in an earlier cell: the position is that cell's, so
		// the expression is not named, but the kind still is.
		{"at(s, 9)", "index out of range"},
		{"cut(s, 9)", "slice bounds out of range"},
	} {
		t.Run(tc.cell, func(t *testing.T) {
			_, err, _ := run(t, in, tc.cell)
			var ce *CellError
			if !errors.As(err, &ce) || ce.Ename() != ErrRuntime || !strings.HasPrefix(ce.Evalue(), tc.want) {
				t.Fatalf("got %v; want runtime error: %s...", err, tc.want)
			}
		})
	}
}

// Go's other run-time errors keep Go's wording, said once: yaegi's
// reflect panics for a nil pointer, function or interface are Go's nil
// dereference.
func TestRuntimeErrorWording(t *testing.T) {
	in := newInterp(t, Options{})
	run(t, in, "type T struct{ X int }\nfunc (t *T) Get() int { return t.X }\ntype I interface{ Get() int }")
	x := 0
	type T struct{ X int }
	var p *T
	var ip *int
	var f func()
	var e error
	for _, tc := range []struct{ cell, want string }{
		{"var p *T\np.X = 1", goPanic(func() { p.X = 1 })},
		{"var p *T\nx := *p\nx", goPanic(func() { _ = *p })},
		{"var ip *int\n*ip = 3", goPanic(func() { *ip = 3 })},
		{"var f func()\nf()", goPanic(func() { f() })},
		{"var i I\ni.Get()", goPanic(func() { _ = e.Error() })},
		{"var e error\n_ = e.Error()", goPanic(func() { _ = e.Error() })},
		{"x := 0\n_ = 5 / x", goPanic(func() { _ = 5 / x })},
		{"var mm map[string]int\nmm[\"a\"] = 1", goPanic(func() {
			var mm map[string]int
			mm["a"] = 1
		})},
	} {
		_, err, _ := run(t, in, tc.cell)
		var ce *CellError
		if !errors.As(err, &ce) || ce.Ename() != ErrRuntime || ce.Evalue() != tc.want {
			t.Fatalf("%q: got %v; want runtime error: %s", tc.cell, err, tc.want)
		}
	}
}

package interp

import (
	"errors"
	"strings"
	"testing"
)

// TestMultiValueGlobals covers globals defined by one statement from a
// multi-value call and used by a function called from another function:
// yaegi v0.16.1 gives such globals the wrong slot (see doc.go).
func TestMultiValueGlobals(t *testing.T) {
	const two = "func two() ([]int, []int) { return []int{1, 2}, []int{3} }"
	const fg = "func f() int { n := 0; for range xs { n++ }; return n }\nfunc g() int { return f() }"
	const fgLoop = "func f() int { n := 0; for i := 0; i < len(xs); i++ { n++ }; return n }\nfunc g() int { return f() }"
	for _, tc := range []struct {
		name  string
		cells []string
		want  string
	}{
		{"one cell, range", []string{two + "\nxs, ys := two()\n" + fg + "\ng()"}, "2"},
		{"one cell, len loop", []string{two + "\nxs, ys := two()\n" + fgLoop + "\ng()"}, "2"},
		{"one cell, direct call", []string{two + "\nxs, ys := two()\n" + fg + "\nf()"}, "2"},
		{"split cells", []string{two, "xs, ys := two()", fg, "g()"}, "2"},
		{"split cells, second value", []string{two, "xs, ys := two()", "func f() int { return len(ys) }\nfunc g() int { return f() }", "g()"}, "1"},
		{"var, one cell", []string{two + "\nvar xs, ys = two()\n" + fg + "\ng()"}, "2"},
		{"var, split cells", []string{two, "var xs, ys = two()", fg, "g()"}, "2"},
		{"redefined", []string{two, "xs, ys := two()", "xs, ys := ys, xs", fg, "g()"}, "1"},
		{"var with type", []string{two, "var xs, ys []int = two()", fg, "g()"}, "2"},
		{"grouped var", []string{two + "\nvar (\n\ta = 1\n\txs, ys = two()\n)\n" + fg + "\ng() + a"}, "3"},
		{"blank", []string{two, "xs, _ := two()", fg, "g()"}, "2"},
		{"value and error", []string{"import \"strconv\"", "v, err := strconv.Atoi(\"x\")", "func f() bool { return err != nil && v == 0 }\nfunc g() bool { return f() }", "g()"}, "true"},
		{"comma ok from map", []string{"m := map[string]int{\"a\": 4}", "v, ok := m[\"a\"]", "func f() int { if ok { return v }; return -1 }\nfunc g() int { return f() }", "g()"}, "4"},
		{"comma ok from assertion", []string{"var x any = \"abc\"", "s, ok := x.(string)", "func f() int { if ok { return len(s) }; return -1 }\nfunc g() int { return f() }", "g()"}, "3"},
		{"comma ok, one cell", []string{"m := map[string]int{\"a\": 4}\nv, ok := m[\"a\"]\nfunc f() int { if ok { return v }; return -1 }\nfunc g() int { return f() }\ng()"}, "4"},
		{"comma ok, missing key", []string{"mx := map[string]int{\"a\": 4}", "x, ok := mx[\"b\"]", "func f() bool { return !ok && x == 0 }\nfunc g() bool { return f() }", "g()"}, "true"},
		{"comma ok, blank value", []string{"var x any = 2.5", "_, isF := x.(float64)", "func f() bool { return isF }\nfunc g() bool { return f() }", "g()"}, "true"},
		{"comma ok, receive", []string{"ch := make(chan int, 1)\nch <- 7\nclose(ch)", "var r int\nvar open bool", "r, open = <-ch", "func f() int { if open { return r }; return -1 }\nfunc g() int { return f() }", "g()"}, "7"},
		{"mixed types", []string{"func three() (string, []int, error) { return \"ab\", []int{1, 2, 3}, nil }", "s, xs, err := three()", "func f() int { return len(xs) + len(s) }\nfunc g() int { return f() }", "g()"}, "5"},
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

// TestMultiValueTemporariesReleased checks that the temporaries through
// which multi-value definitions go hold nothing once the cell has run: they
// are zero, or gone with their frame slots.
func TestMultiValueTemporariesReleased(t *testing.T) {
	two := "func two() ([]int, []int) { return []int{1, 2}, []int{3} }"
	for _, tc := range []struct {
		name  string
		cells []string
		temp  string
	}{
		{"define", []string{two, "xs, ys := two()", "var ps, qs = two()"}, "_qlabT0"},
		{"var", []string{two, "var ps, qs = two()"}, "_qlabM1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := newInterp(t, Options{})
			if _, err, _ := run(t, in, tc.cells...); err != nil {
				t.Fatalf("Execute: %v", err)
			}
			if v, ok := in.yi.Globals()[tc.temp]; ok && v.IsValid() && !v.IsZero() {
				t.Errorf("%s = %v after the cell; want zero or gone", tc.temp, v)
			}
		})
	}
}

// TestCommaOKUnsupported checks the forms reported rather than rewritten.
func TestCommaOKUnsupported(t *testing.T) {
	for _, tc := range []struct {
		name, cell, want string
	}{
		{"var declaration", "m := map[string]int{}\nvar v, ok = m[\"a\"]", "line 2: yaegi v0.16.1 cannot declare var v, ok"},
		{"receive", "ch := make(chan int, 1)\nch <- 1\nr, ok := <-ch", "line 3: yaegi v0.16.1 cannot define r, ok := <-ch"},
		{"impure map index", "func mk() map[string]int { return nil }\nv, ok := mk()[\"a\"]", "declare them first: var v T; var ok bool; v, ok = mk()[\"a\"]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := newInterp(t, Options{})
			_, err, _ := run(t, in, tc.cell)
			var ce *CellError
			if !errors.As(err, &ce) || ce.Name != ErrUnsupported || !strings.Contains(ce.Value, tc.want) {
				t.Fatalf("got %v; want an %q error containing %q", err, ErrUnsupported, tc.want)
			}
		})
	}
}

func TestMultiVarDecls(t *testing.T) {
	for _, tc := range []struct {
		src, want string
		temps     int
	}{
		{"var a, b = f()", "var (_qlabM0, _qlabM1 = f(); a = _qlabM0; b = _qlabM1)", 2},
		{"var a, b T = f()", "var (_qlabM0, _qlabM1 T = f(); a = _qlabM0; b = _qlabM1)", 2},
		{"var (\n\tc = 1\n\ta, _ = f(\n\t\t2)\n)", "var (\n\tc = 1\n\t_qlabM0, _qlabM1 = f(\n\t\t2); a = _qlabM0; _ = _qlabM1\n)", 2},
		{"var a, b = 1, 2\nvar c = f()\nfunc h() {}", "var a, b = 1, 2\nvar c = f()\nfunc h() {}", 0},
		{"var a, b = f()\nvar c, d = g()", "var (_qlabM0, _qlabM1 = f(); a = _qlabM0; b = _qlabM1)\nvar (_qlabM2, _qlabM3 = g(); c = _qlabM2; d = _qlabM3)", 4},
		{"var a, b = (", "var a, b = (", 0},
	} {
		t.Run(tc.src, func(t *testing.T) {
			got, n := multiVarDecls(tc.src)
			if got != tc.want || n != tc.temps {
				t.Errorf("got %q, %d; want %q, %d", got, n, tc.want, tc.temps)
			}
		})
	}
}

package interp

import (
	"errors"
	"strings"
	"testing"
)

// Issue 10, items 2 (os.Exit) and 7 (Go's error names).
func TestExitAndRuntimeErrorsKeepTheKernel(t *testing.T) {
	in := newInterp(t, Options{})
	run(t, in, "import \"os\"\nkept := 42")
	for _, tc := range []struct{ name, cell, ename, want string }{
		{"os.Exit", "os.Exit(3)", "os.Exit", "os.Exit(3) called by the cell"},
		{"nil pointer dereference", "var p *struct{ X int }\np.X", ErrRuntime, "nil pointer dereference"},
		{"index out of range", "s := []int{1, 2, 3}\ni := 5\ns[i]", ErrRuntime, "index out of range [5] with length 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err, _ := run(t, in, tc.cell)
			var ce *CellError
			if !errors.As(err, &ce) || ce.Ename() != tc.ename || !strings.Contains(ce.Evalue(), tc.want) {
				t.Fatalf("got %v; want a %s error containing %q", err, tc.ename, tc.want)
			}
			if d, err, _ := run(t, in, "kept"); err != nil || d == nil || d.Text() != "42" {
				t.Fatalf("state after the error: got %v, %v; want 42", d, err)
			}
		})
	}
}

package interp

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Issue 10, item 2 (no fatal error goes unreported): a goroutine started by
// a cell that panics is reported on the cell's standard error, or on the
// next cell's when it panics between cells, and the kernel keeps its state.
func TestNoFatalErrorGoroutinePanicKeepsState(t *testing.T) {
	in := newInterp(t, Options{})
	ctx := context.Background()
	for _, tc := range []struct {
		name, cell, stderr string
	}{
		{"literal", "go func() { panic(\"boom\") }()\ntime.Sleep(100 * time.Millisecond)", "panic in a goroutine started by a cell: boom"},
		{"named function", "func worker(n int, s string) { var m map[string]int; m[s] = n }\ngo worker(1, \"k\")\ntime.Sleep(100 * time.Millisecond)", "assignment to entry in nil map"},
		{"arguments evaluated by the go statement", "func show(n int) { panic(n) }\nk := 7\ngo show(k)\nk = 8\ntime.Sleep(100 * time.Millisecond)", "a cell: 7"},
		{"in a loop", "for i := range 3 { go func() { if i == 2 { panic(\"third\") } }() }\ntime.Sleep(100 * time.Millisecond)", "a cell: third"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRecorder()
			if _, err := in.Execute(ctx, "import \"time\"\nstate := 41\n"+tc.cell, r); err != nil {
				t.Fatalf("Execute: %v", err)
			}
			if got := r.text("stderr"); !strings.Contains(got, tc.stderr) {
				t.Errorf("stderr %q; want it to contain %q", got, tc.stderr)
			}
			d, err, _ := run(t, in, "state + 1")
			if err != nil || d == nil || d.Text() != "42" {
				t.Errorf("state + 1 after the panic = %v, %v; want 42", d, err)
			}
		})
	}
	t.Run("between cells", func(t *testing.T) {
		if _, err := in.Execute(ctx, "go func() { time.Sleep(50 * time.Millisecond); panic(\"late\") }()", newRecorder()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		r := newRecorder()
		if _, err := in.Execute(ctx, "state", r); err != nil {
			t.Fatal(err)
		}
		if got := r.text("stderr"); !strings.Contains(got, "before this cell: panic in a goroutine started by a cell: late") {
			t.Errorf("next cell's stderr %q; want the late panic", got)
		}
	})
}

// Issue 10, item 2: a huge allocation is refused up front with an error
// naming its size, and the kernel keeps its state.
func TestNoFatalErrorHugeAllocationRefused(t *testing.T) {
	in := newInterp(t, Options{})
	for _, tc := range []struct{ cell, want string }{
		{"b := make([]byte, 1<<40)", "1099511627776 elements of 1 bytes (1.0 TiB)"},
		{"n := 1 << 38\nf := make([]float64, 10, n)", "274877906944 elements of 8 bytes (2.0 TiB)"},
		{"type big struct{ a [1024]byte }\nvar n64 int64 = 1 << 32\nxs := make([]big, n64)", "4294967296 elements of 1024 bytes (4.0 TiB)"},
	} {
		_, err, _ := run(t, in, "state := 3", tc.cell)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "memory available: refused") {
			t.Errorf("%q: error %v; want one naming %s", tc.cell, err, tc.want)
		}
		d, err, _ := run(t, in, "s := make([]int, state, 2*state)\nlen(s) + cap(s)")
		if err != nil || d == nil || d.Text() != "9" {
			t.Errorf("after %q: len+cap = %v, %v; want 9", tc.cell, d, err)
		}
	}
}

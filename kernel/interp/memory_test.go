package interp

import (
	"context"
	"runtime"
	"testing"
)

// heapMiB returns the live heap after two collections, in MiB.
func heapMiB() float64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc) / (1 << 20)
}

// Issue 10, item 1: values that a cell no longer names are collectable.
func TestMemoryUnnamedValuesCollectable(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup string
		cell  string
		runs  int
	}{
		{"temporary", `import "bytes"`, `len(bytes.Repeat([]byte("x"), 10<<20))`, 100},
		{"redefined global", `import "bytes"`, `x := bytes.Repeat([]byte("x"), 10<<20)`, 20},
		{"redefined multi-value", `import "bytes"`, "a, b := bytes.Repeat([]byte(\"x\"), 10<<20), 1\n_ = b", 20},
		{"MNIST reload", `import "qlab/data"`, "trainSet, testSet, err := data.MNIST()\nif err != nil { panic(err) }\n_ = trainSet; _ = testSet", 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if testing.Short() {
				tc.runs = min(tc.runs, 3) // MNIST takes seconds to load
			}
			in := newInterp(t, Options{})
			ctx := context.Background()
			if _, err := in.Execute(ctx, tc.setup, newRecorder()); err != nil {
				t.Fatal(err)
			}
			if _, err := in.Execute(ctx, tc.cell, newRecorder()); err != nil {
				t.Fatalf("first run: %v", err)
			}
			one := heapMiB()
			for i := 1; i < tc.runs; i++ {
				if _, err := in.Execute(ctx, tc.cell, newRecorder()); err != nil {
					t.Fatalf("run %d: %v", i+1, err)
				}
			}
			all := heapMiB()
			t.Logf("heap after one run %.1f MiB, after %d runs %.1f MiB", one, tc.runs, all)
			if all-one > 150 {
				t.Errorf("heap grew %.1f MiB over %d runs of %q; want <= 150 MiB", all-one, tc.runs, tc.cell)
			}
		})
	}
}

// Issue 16, item 7 (speed stays): the global frame does not grow with the
// number of cells run, so a trivial cell costs the same after thousands of
// cells (yaegi copies the whole frame whenever a compilation adds a slot).
func TestSpeedFrameStaysFlat(t *testing.T) {
	in := newInterp(t, Options{})
	ctx := context.Background()
	for _, cell := range []string{"1", "x := 1\nx + 1", "s := \"a\"\nlen(s)", "f := 2.5\nf * 2"} {
		if _, err := in.Execute(ctx, cell, newRecorder()); err != nil {
			t.Fatal(err)
		}
		first := len(*in.frame.data)
		for i := 0; i < 200; i++ {
			if _, err := in.Execute(ctx, cell, newRecorder()); err != nil {
				t.Fatal(err)
			}
		}
		if got := len(*in.frame.data); got > first {
			t.Errorf("%q: frame grew from %d to %d slots over 200 runs; want no growth", cell, first, got)
		}
	}
	// A function declared before the frame was cut still reads and writes
	// its globals.
	d, err, _ := run(t, in, "n := 10", "func bump() int { n++; return n }", "1", "2", "bump() + bump()")
	if err != nil {
		t.Fatal(err)
	}
	if d == nil || d.Text() != "23" {
		t.Errorf("bump() + bump() = %v; want 23", d)
	}
	// A closure made at the top level writes its global slot back after
	// each call: the frame keeps the slots of the cell that made it.
	d, err, _ = run(t, in, "add := func(a int) int { return a + n }", "1", "x := 5", "3", "add(1) + add(2)")
	if err != nil {
		t.Fatal(err)
	}
	if d == nil || d.Text() != "27" {
		t.Errorf("add(1) + add(2) = %v; want 27", d)
	}
}

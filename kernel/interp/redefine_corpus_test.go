package interp_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qlab-dev/qlab/kernel/interp"
	"github.com/qlab-dev/qlab/kernel/notebook"
)

// TestRedefinitionCorpus (issue 16, item 5) edits a cell of a notebook as
// a researcher does: each program of testdata/redefine is cut into cells
// at its //qlab:cell lines; NAME.before holds an earlier version of one
// cell ("//qlab:cell N" then its text). The notebook runs every cell with
// the earlier version, then the edited cell, then the last cell (main)
// again, which must print what go run prints for the program
// (testdata/redefine/NAME.out, rewritten by -update-corpus). The cells in
// between are not run again: their functions and types must follow the
// edited definitions.
func TestRedefinitionCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "redefine", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no programs in testdata/redefine: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".go")
		t.Run(name, func(t *testing.T) {
			want := goldenOutput(t, f)
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			before, err := os.ReadFile(strings.TrimSuffix(f, ".go") + ".before")
			if err != nil {
				t.Fatal(err)
			}
			cells := strings.Split(cellOf(string(src)), "//qlab:cell\n")
			head, old, _ := strings.Cut(string(before), "\n")
			n, err := strconv.Atoi(strings.TrimPrefix(head, "//qlab:cell "))
			if err != nil || n <= 0 || n >= len(cells)-1 {
				t.Fatalf("%s.before: first line %q does not name a cell between 1 and %d", name, head, len(cells)-2)
			}
			nb := &notebook.Notebook{}
			for i, c := range cells {
				if i == n {
					c = old
				}
				nb.Cells = append(nb.Cells, &notebook.Cell{Type: notebook.Code, Source: c})
			}
			nb.Cells = append(nb.Cells, &notebook.Cell{Type: notebook.Code, Source: cells[n]}, &notebook.Cell{Type: notebook.Code, Source: cells[len(cells)-1]})
			in, err := interp.New(interp.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			err = notebook.Run(context.Background(), in, nb, notebook.RunOptions{Name: name, Timeout: 30 * time.Second})
			last := nb.Cells[len(nb.Cells)-1]
			if err != nil {
				t.Fatalf("run: %v\nlast cell's output:\n%s%s", err, streamText(last, "stdout"), streamText(last, "stderr"))
			}
			if got := streamText(last, "stdout"); got != string(want) {
				t.Errorf("after editing cell %d: output differs from go run\ngot:\n%s\nwant:\n%s", n, got, want)
			}
		})
	}
}

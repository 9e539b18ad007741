package interp_test

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qlab-dev/qlab/kernel/interp"
	"github.com/qlab-dev/qlab/kernel/notebook"
)

var updateCorpus = flag.Bool("update-corpus", false, "regenerate testdata/corpus/*.out with go run")

// corpusPrograms returns the fidelity corpus: self-contained Go programs
// and the output go run gives for each (testdata/corpus/NAME.out, written
// by go test -run TestFidelityCorpus -update-corpus).
func corpusPrograms(t *testing.T) (names []string, src, want map[string]string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "corpus", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus programs: %v", err)
	}
	src, want = map[string]string{}, map[string]string{}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".go")
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
		src[name], want[name] = string(b), goldenOutput(t, f)
	}
	return names, src, want
}

// goldenOutput returns what go run printed for the program in file f, kept
// next to it with the extension .out (written again by go run with
// -update-corpus).
func goldenOutput(t *testing.T, f string) string {
	t.Helper()
	out := strings.TrimSuffix(f, ".go") + ".out"
	if *updateCorpus {
		cmd := exec.Command("go", "run", f)
		cmd.Stderr = os.Stderr
		o, err := cmd.Output()
		if err != nil {
			t.Fatalf("go run %s: %v", f, err)
		}
		if err := os.WriteFile(out, o, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("%v (regenerate with -update-corpus)", err)
	}
	return string(w)
}

// cellOf turns a program into the cell a user pastes: the package clause
// dropped (a cell is inside package main already).
func cellOf(src string) string {
	lines := strings.SplitAfter(src, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "package ") {
			lines[i] = "\n"
			break
		}
	}
	return strings.Join(lines, "")
}

// TestFidelityCorpus (issue 16, "How it is checked"): every program of the
// corpus, pasted whole into one cell of a fresh headless notebook run,
// prints what go run printed.
func TestFidelityCorpus(t *testing.T) {
	names, src, want := corpusPrograms(t)
	divergent := knownDivergent(t)
	pass, ran := 0, 0
	for _, name := range names {
		ok := t.Run(name, func(t *testing.T) {
			ran++
			// As the headless runner (qlab-kernel run) does: compiled
			// code's writes to os.Stdout are the cell's output too.
			in, err := interp.New(interp.Options{CaptureFD: true})
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			nb := &notebook.Notebook{Cells: []*notebook.Cell{{Type: notebook.Code, Source: cellOf(src[name])}}}
			err = notebook.Run(context.Background(), in, nb, notebook.RunOptions{Name: name, Timeout: 30 * time.Second})
			got := streamText(nb.Cells[0], "stdout")
			if why, ok := divergent[name]; ok {
				if err == nil && got == want[name] {
					t.Errorf("now matches go run: remove it from testdata/corpus/DIVERGENT")
				}
				t.Skipf("known divergence: %s", why)
			}
			if err != nil {
				t.Fatalf("run: %v\noutput so far:\n%s", err, got)
			}
			if got != want[name] {
				t.Errorf("output differs from go run\ngot:\n%s\nwant:\n%s", got, want[name])
			}
		})
		if ok && divergent[name] == "" {
			pass++
		}
	}
	t.Logf("fidelity corpus, headless: %d of %d programs run match go run (%d known divergences)", pass, ran, len(divergent))
}

// knownDivergent reads testdata/corpus/DIVERGENT: program name → why its
// output still differs from go run.
func knownDivergent(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "corpus", "DIVERGENT"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, why, ok := strings.Cut(line, ": ")
		if !ok {
			t.Fatalf("DIVERGENT: malformed line %q", line)
		}
		out[name] = why
	}
	return out
}

// streamText is what a cell wrote to the stream name.
func streamText(c *notebook.Cell, name string) string {
	var b strings.Builder
	for _, o := range c.Outputs {
		if o.Type == notebook.OutputStream && o.Name == name {
			b.WriteString(o.Text)
		}
	}
	return b.String()
}

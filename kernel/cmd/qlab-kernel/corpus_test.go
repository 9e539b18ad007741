package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qlab-dev/qlab/kernel/jupyter"
)

// TestFidelityCorpusLiveKernel (issue 16, "How it is checked") runs every
// program of kernel/interp's fidelity corpus, pasted whole into one cell,
// in a fresh kernel process over its sockets, and compares what the cell
// streams to stdout with what go run printed (testdata/corpus/NAME.out;
// kernel/interp's TestFidelityCorpus is the headless leg and regenerates
// the outputs). Programs listed in DIVERGENT must still differ.
func TestFidelityCorpusLiveKernel(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a kernel per corpus program")
	}
	dir := filepath.Join("..", "..", "interp", "testdata", "corpus")
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus programs in %s: %v", dir, err)
	}
	divergent := map[string]bool{}
	if b, err := os.ReadFile(filepath.Join(dir, "DIVERGENT")); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if name, _, ok := strings.Cut(line, ": "); ok && !strings.HasPrefix(line, "#") {
				divergent[name] = true
			}
		}
	}
	bin := binary(t)
	pass := 0
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".go")
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(strings.TrimSuffix(f, ".go") + ".out")
		if err != nil {
			t.Fatal(err)
		}
		t.Run(name, func(t *testing.T) {
			c := startKernel(t, bin)
			defer c.close()
			// The package clause dropped: a cell is in package main.
			code := strings.Replace(string(src), "package main\n", "\n", 1)
			rc, msgs := c.execute(code, 60*time.Second)
			var got strings.Builder
			for _, m := range msgs {
				if m.Header.MsgType != jupyter.Stream {
					continue
				}
				var s struct{ Name, Text string }
				if json.Unmarshal(m.Content, &s) == nil && s.Name == "stdout" {
					got.WriteString(s.Text)
				}
			}
			same := rc["status"] == "ok" && got.String() == string(want)
			if divergent[name] {
				if same {
					t.Errorf("now matches go run: remove it from DIVERGENT")
				}
				t.Skip("known divergence (see DIVERGENT)")
			}
			if rc["status"] != "ok" {
				t.Fatalf("reply %v\noutput so far:\n%s", rc, got.String())
			}
			if !same {
				t.Errorf("output differs from go run\ngot:\n%s\nwant:\n%s", got.String(), want)
			}
			pass++
		})
	}
	t.Logf("fidelity corpus, live kernel: %d of %d programs match go run (%d known divergences)", pass, len(files), len(divergent))
}

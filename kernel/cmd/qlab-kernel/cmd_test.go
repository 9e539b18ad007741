package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/qlab-dev/qlab/kernel/notebook"
)

func TestParseRunArgs(t *testing.T) {
	tests := []struct {
		args []string
		want runArgs
		err  string
	}{
		{[]string{"a.ipynb", "--out", "o", "--param", "n=3", "-param=s=x y", "b.ipynb", "--timeout=2m"},
			runArgs{notebooks: []string{"a.ipynb", "b.ipynb"}, out: "o", params: map[string]string{"n": "3", "s": "x y"}, timeout: 2 * time.Minute}, ""},
		{[]string{"--", "-odd.ipynb"}, runArgs{notebooks: []string{"-odd.ipynb"}, params: map[string]string{}}, ""},
		{[]string{"a.ipynb", "--param", "novalue"}, runArgs{}, "not key=value"},
		{[]string{"a.ipynb", "--timeout", "soon"}, runArgs{}, "not a duration"},
		{[]string{"a.ipynb", "--out"}, runArgs{}, "needs a value"},
		{[]string{"--frobnicate=1", "a.ipynb"}, runArgs{}, "unknown flag"},
		{[]string{"--out", "dir"}, runArgs{}, "no notebook"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			got, err := parseRunArgs(tc.args)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("error %v; want %q", err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestInstall(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "kernels", "qlab")
	if _, err := install(dir, "/opt/bin/qlab-kernel", "Go (qlab)"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "kernel.json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec map[string]any
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"argv": []any{"/opt/bin/qlab-kernel", "kernel", "{connection_file}"}, "display_name": "Go (qlab)",
		"language": "go", "interrupt_mode": "message", "metadata": map[string]any{"debugger": false}}
	if !reflect.DeepEqual(spec, want) {
		t.Errorf("kernel.json %v; want %v", spec, want)
	}
	for _, n := range []int{32, 64} {
		name := filepath.Join(dir, fmt.Sprintf("logo-%dx%d.png", n, n))
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(f)
		f.Close()
		if err != nil || cfg.Width != n || cfg.Height != n {
			t.Errorf("%s: %dx%d, %v; want a %dx%d PNG", name, cfg.Width, cfg.Height, err, n, n)
		}
	}
}

func TestKernelsDir(t *testing.T) {
	t.Setenv("JUPYTER_DATA_DIR", "")
	t.Setenv("XDG_DATA_HOME", "/xdg")
	t.Setenv("HOME", "/home/u")
	for _, tc := range []struct{ prefix, env, want string }{
		{"/p", "", "/p/share/jupyter/kernels"},
		{"", "/data", "/data/kernels"},
		{"", "", "/xdg/jupyter/kernels"},
	} {
		t.Setenv("JUPYTER_DATA_DIR", tc.env)
		if got, err := kernelsDir(tc.prefix); err != nil || got != tc.want {
			t.Errorf("kernelsDir(%q) with JUPYTER_DATA_DIR=%q = %q, %v; want %q", tc.prefix, tc.env, got, err, tc.want)
		}
	}
}

func writeNotebook(t *testing.T, path string, cells ...*notebook.Cell) {
	t.Helper()
	nb := &notebook.Notebook{NBFormat: 4, NBFormatMinor: 5, Metadata: map[string]any{}, Cells: cells}
	if err := notebook.WriteFile(path, nb); err != nil {
		t.Fatal(err)
	}
}

func code(src string, tags ...string) *notebook.Cell {
	md := map[string]any{}
	if len(tags) > 0 {
		var ts []any
		for _, t := range tags {
			ts = append(ts, t)
		}
		md["tags"] = ts
	}
	return &notebook.Cell{Type: notebook.Code, Source: src, Metadata: md}
}

func TestRunCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs qlab-kernel")
	}
	bin := binary(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.ipynb")
	writeNotebook(t, good,
		&notebook.Cell{Type: notebook.Markdown, Source: "# study"},
		code("epochs := 3\ndataset := \"mnist\"", "parameters"),
		code("import \"fmt\"\nfmt.Println(dataset, epochs)"),
		code("epochs * 2"))
	bad := filepath.Join(dir, "bad.ipynb")
	writeNotebook(t, bad, code("x := 1"), code("panic(\"boom\")"), code("x"))
	out := filepath.Join(dir, "out")

	cmd := exec.Command(bin, "run", good, "--out", out, "--param", "epochs=10", "--param", "dataset=fashion", "--timeout", "1m")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("run good.ipynb: %v\n%s", err, b)
	}
	nb, err := notebook.ReadFile(filepath.Join(out, "good.ipynb"))
	if err != nil {
		t.Fatal(err)
	}
	if len(nb.Cells) != 5 || !nb.Cells[2].HasTag(notebook.TagInjectedParameters) {
		t.Fatalf("executed notebook has %d cells; want 5 with injected parameters at 2", len(nb.Cells))
	}
	if o := nb.Cells[3].Outputs; len(o) != 1 || o[0].Text != "fashion 10\n" {
		t.Errorf("print cell outputs %+v; want stdout \"fashion 10\\n\"", o)
	}
	if o := nb.Cells[4].Outputs; len(o) != 1 || o[0].Type != notebook.OutputExecuteResult || o[0].Data["text/plain"] != "20" {
		t.Errorf("result cell outputs %+v; want execute_result 20", o)
	}
	if src, _ := os.ReadFile(good); bytes.Contains(src, []byte("fashion")) {
		t.Errorf("--out run modified the input notebook")
	}

	cmd = exec.Command(bin, "run", bad, good, "--out", out)
	b, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("run with a failing notebook: %v; want exit status 1\n%s", err, b)
	}
	if !strings.Contains(string(b), bad+": cell 1: panic: boom") {
		t.Errorf("output does not name the notebook and cell:\n%s", b)
	}
	nb, err = notebook.ReadFile(filepath.Join(out, "bad.ipynb"))
	if err != nil {
		t.Fatal(err)
	}
	if o := nb.Cells[1].Outputs; len(o) != 1 || o[0].Type != notebook.OutputError || nb.Cells[2].ExecutionCount != nil {
		t.Errorf("failed notebook cells: %+v / %+v; want an error output then an unexecuted cell", nb.Cells[1], nb.Cells[2])
	}
}

func TestMemoryLimit(t *testing.T) {
	const total = 16 << 30
	share := 0.8
	for _, tc := range []struct {
		env  string
		want uint64
		err  bool
	}{
		{"", uint64(float64(total) * share), false},
		{"off", 0, false},
		{"0", 0, false},
		{"8GiB", 8 << 30, false},
		{"1500MB", 1500e6, false},
		{"1.5G", 3 << 29, false},
		{"2147483648", 2 << 30, false},
		{" 512 MiB ", 512 << 20, false},
		{"100MiB", 0, true},
		{"lots", 0, true},
		{"-1GiB", 0, true},
	} {
		got, err := memoryLimit(tc.env, total)
		if (err != nil) != tc.err || (!tc.err && got != tc.want) {
			t.Errorf("memoryLimit(%q) = %d, %v; want %d (error %v)", tc.env, got, err, tc.want, tc.err)
		}
		if err != nil && !strings.Contains(err.Error(), memoryLimitEnv) {
			t.Errorf("error %q does not name %s", err, memoryLimitEnv)
		}
	}
}

// The copy of a crash report on the evaluator's stderr starts at the
// stack: an out-of-memory death is told by the allocator frames under the
// throw, and a stack overflow or a panic's throw is not one.
func TestAllocThrow(t *testing.T) {
	oom := "\nruntime stack:\nruntime.throw({0x4b4039?, 0x4000000?})\n\t/usr/local/go/src/runtime/panic.go:1229 +0x48\n" +
		"runtime.(*mheap).sysAlloc(0x564d60, 0x8000000?, 0x574f68, 0x574f90)\n\t/usr/local/go/src/runtime/malloc.go:884 +0x32d\n\n" +
		"goroutine 1 gp=0x1 m=0 [running]:\nmain.main()\n"
	other := "\nruntime stack:\nruntime.throw({0x4b4039?, 0x4000000?})\n\truntime/panic.go:1229\n" +
		"runtime.newstack()\n\truntime/stack.go:1107\n\ngoroutine 1 [running]:\nruntime.(*mheap).grow(0x1)\n"
	if !allocThrow(oom) {
		t.Error("an allocator throw is not recognised")
	}
	if allocThrow(other) {
		t.Error("a stack overflow's throw is taken for out of memory (allocator frames outside the throw's stack count)")
	}
}

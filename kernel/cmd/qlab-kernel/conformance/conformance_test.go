package conformance

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/qlab-dev/qlab/internal/testenv"
	"github.com/qlab-dev/qlab/kernel/notebook"
)

var (
	binDir    string
	kernelBin string
	buildErr  error
	buildOnce sync.Once
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "qlab-kernel-conformance")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// binary builds qlab-kernel once (go build -o) and returns its path.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		out := filepath.Join(binDir, "qlab-kernel")
		if b, err := exec.Command("go", "build", "-o", out, "..").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, b)
			return
		}
		kernelBin = out
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return kernelBin
}

func code(src string) *notebook.Cell {
	return &notebook.Cell{Type: notebook.Code, Source: src, Metadata: map[string]any{}}
}

// TestConformance runs Jupyter's official kernel test suite,
// jupyter_kernel_test, on kernel/testdata/test_qlab_kernel.py, which fills
// every sample category: every test must pass and none may be skipped.
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Jupyter and the kernel")
	}
	py := testenv.Python(t, "python3-jupyter-kernel-test", "jupyter_kernel_test")
	env := testenv.JupyterEnv(t, binary(t))
	testdata, err := filepath.Abs(filepath.Join("..", "..", "..", "testdata"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-m", "unittest", "-v", "test_qlab_kernel")
	cmd.Dir = testdata
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	report := string(out)
	if err != nil {
		t.Errorf("jupyter_kernel_test failed: %v", err)
	}
	// unittest -v prints one "test_x (...) ... ok|FAIL|ERROR|skipped ..."
	// line per test, and subTest failures as FAIL: blocks.
	var passed, bad []string
	line := regexp.MustCompile(`^(test_\w+) \(.*\)(?: \(.*\))? \.\.\. (.*)$`)
	sc := bufio.NewScanner(strings.NewReader(report))
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		if m[2] == "ok" {
			passed = append(passed, m[1])
		} else {
			bad = append(bad, m[1]+": "+m[2])
		}
	}
	if strings.Contains(report, "skipped") || regexp.MustCompile(`(?m)^(FAIL|ERROR):`).MatchString(report) {
		bad = append(bad, "summary reports skips, failures or errors")
	}
	// The suite's tests in jupyter_kernel_test 0.4.5; a newer version may
	// add more, which must pass as well.
	want := []string{"test_clear_output", "test_completion", "test_display_data", "test_error", "test_execute_result",
		"test_execute_stderr", "test_execute_stdout", "test_history", "test_inspect", "test_is_complete",
		"test_kernel_info", "test_pager"}
	for _, w := range want {
		found := false
		for _, p := range passed {
			found = found || p == w
		}
		if !found {
			bad = append(bad, w+" did not pass")
		}
	}
	if len(bad) > 0 || t.Failed() {
		t.Errorf("conformance problems:\n  %s\n\nunittest output:\n%s", strings.Join(bad, "\n  "), report)
	} else {
		t.Logf("passed: %s", strings.Join(passed, " "))
	}
}

// TestNBClient executes a notebook through the installed kernelspec with
// nbclient, as JupyterLab and nbconvert do, and checks that a gonum plot
// left as the last expression arrives as an image/png output.
func TestNBClient(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Jupyter and the kernel")
	}
	py := testenv.Python(t, "python3-nbclient", "nbclient", "nbformat")
	env := testenv.JupyterEnv(t, binary(t))
	dir := t.TempDir()
	in := filepath.Join(dir, "plot.ipynb")
	nb := &notebook.Notebook{NBFormat: 4, NBFormatMinor: 5, Cells: []*notebook.Cell{
		code("import \"fmt\"\nfmt.Println(\"start\")"),
		code(`import (
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)
p := plot.New()
p.Title.Text = "squares"
line, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}, {X: 2, Y: 4}})
if err != nil {
	panic(err)
}
p.Add(line)
p`)},
		Metadata: map[string]any{"kernelspec": map[string]any{"name": "qlab", "display_name": "Go (qlab)", "language": "go"}}}
	if err := notebook.WriteFile(in, nb); err != nil {
		t.Fatal(err)
	}
	script := `import json, sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, kernel_name="qlab", timeout=120).execute()
nbformat.validate(nb)
print(json.dumps([[o.get("output_type"), sorted(o.get("data", {}).keys()), o.get("text", "")] for c in nb.cells for o in c.outputs]))`
	cmd := exec.Command(py, "-c", script, in)
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("nbclient: %v\n%s\n%s", err, out, stderr)
	}
	var got [][]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("nbclient output %q: %v", out, err)
	}
	if len(got) != 2 || got[0][0] != "stream" || got[0][2] != "start\n" || got[1][0] != "execute_result" ||
		!strings.Contains(strings.Join(toStrings(got[1][1]), ","), "image/png") {
		t.Errorf("outputs %v; want stdout start, then an execute_result with image/png", got)
	}
}

func toStrings(v any) []string {
	var s []string
	for _, x := range v.([]any) {
		s = append(s, x.(string))
	}
	return s
}

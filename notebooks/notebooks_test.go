package notebooks_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/qlab-dev/qlab/internal/testenv"
	"github.com/qlab-dev/qlab/kernel/notebook"
)

// maxCellLines is a screen: no code cell may be longer.
const maxCellLines = 25

// wantNotebooks are the study's steps, in order.
var wantNotebooks = []string{"01-networks.ipynb", "02-training.ipynb", "03-ptq.ipynb", "04-weights.ipynb",
	"05-activations.ipynb", "06-layer-error.ipynb", "07-ablation.ipynb", "08-bring-your-own.ipynb", "09-ptq-toolbox.ipynb"}

func notebookPaths(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob("*.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(paths)
	if strings.Join(paths, " ") != strings.Join(wantNotebooks, " ") {
		t.Fatalf("notebooks %v; want %v", paths, wantNotebooks)
	}
	return paths
}

// TestCommittedClean checks the committed files: nbformat 4 with the fields
// nbformat requires, outputs stripped, execution counts null, the first code
// cell tagged "parameters", the qlab kernelspec, and short code cells.
func TestCommittedClean(t *testing.T) {
	for _, path := range notebookPaths(t) {
		t.Run(path, func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var raw struct {
				NBFormat      *int             `json:"nbformat"`
				NBFormatMinor *int             `json:"nbformat_minor"`
				Metadata      map[string]any   `json:"metadata"`
				Cells         []map[string]any `json:"cells"`
			}
			if err := json.Unmarshal(b, &raw); err != nil {
				t.Fatalf("%s: not JSON: %v", path, err)
			}
			if raw.NBFormat == nil || *raw.NBFormat != 4 || raw.NBFormatMinor == nil || *raw.NBFormatMinor < 5 {
				t.Fatalf("%s: nbformat %v.%v; want 4.5 or later", path, raw.NBFormat, raw.NBFormatMinor)
			}
			if ks, _ := raw.Metadata["kernelspec"].(map[string]any); ks["name"] != "qlab" {
				t.Errorf("%s: kernelspec %v; want name qlab", path, raw.Metadata["kernelspec"])
			}
			if _, err := notebook.Read(bytes.NewReader(b)); err != nil {
				t.Errorf("%s: kernel/notebook cannot read it: %v", path, err)
			}
			checkCells(t, path, raw.Cells)
		})
	}
}

func checkCells(t *testing.T, path string, cells []map[string]any) {
	firstCode := true
	ids := map[string]bool{}
	for i, c := range cells {
		id, _ := c["id"].(string)
		if id == "" || ids[id] {
			t.Errorf("%s: cell %d: id %q missing or repeated", path, i, id)
		}
		ids[id] = true
		src := joinSource(c["source"])
		switch c["cell_type"] {
		case "markdown":
			if _, ok := c["outputs"]; ok {
				t.Errorf("%s: markdown cell %d has outputs", path, i)
			}
		case "code":
			if outs, ok := c["outputs"].([]any); !ok || len(outs) != 0 {
				t.Errorf("%s: cell %d: outputs %v; want stripped ([])", path, i, c["outputs"])
			}
			if ec, ok := c["execution_count"]; !ok || ec != nil {
				t.Errorf("%s: cell %d: execution_count %v; want null", path, i, ec)
			}
			if n := strings.Count(src, "\n") + 1; n > maxCellLines {
				t.Errorf("%s: code cell %d is %d lines; want at most %d", path, i, n, maxCellLines)
			}
			if firstCode && !hasTag(c, notebook.TagParameters) {
				t.Errorf("%s: first code cell (cell %d) is not tagged %q", path, i, notebook.TagParameters)
			}
			firstCode = false
		default:
			t.Errorf("%s: cell %d: cell_type %v", path, i, c["cell_type"])
		}
	}
	if firstCode {
		t.Errorf("%s: no code cell", path)
	}
	if len(cells) == 0 || cells[0]["cell_type"] != "markdown" {
		t.Errorf("%s: does not start with a markdown introduction", path)
	}
}

func joinSource(v any) string {
	switch s := v.(type) {
	case string:
		return s
	case []any:
		var b strings.Builder
		for _, x := range s {
			str, _ := x.(string)
			b.WriteString(str)
		}
		return b.String()
	}
	return ""
}

func hasTag(c map[string]any, tag string) bool {
	md, _ := c["metadata"].(map[string]any)
	tags, _ := md["tags"].([]any)
	for _, x := range tags {
		if x == tag {
			return true
		}
	}
	return false
}

// TestNBFormatSchema validates the committed notebooks against nbformat's
// own JSON schema (Debian's python3-nbformat).
func TestNBFormatSchema(t *testing.T) {
	py := testenv.Python(t, "python3-nbformat", "nbformat")
	args := append([]string{"-c", `import sys, nbformat
for p in sys.argv[1:]:
    nbformat.validate(nbformat.read(p, as_version=nbformat.NO_CONVERT))
    print("valid", p)`}, notebookPaths(t)...)
	if b, err := exec.Command(py, args...).CombinedOutput(); err != nil {
		t.Errorf("nbformat.validate: %v\n%s", err, b)
	}
}

package notebook

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/qlab-dev/qlab/internal/testenv"
	"github.com/qlab-dev/qlab/kernel/jupyter"
	"github.com/qlab-dev/qlab/qlab/display"
)

// A notebook as nbformat 4.2 writes it: no cell ids, multi-line strings as
// lists, plus fields from extensions this package does not model.
const v42 = `{
 "cells": [
  {
   "cell_type": "markdown",
   "metadata": {"collapsed": true},
   "source": ["# Title\n", "text"],
   "attachments": {"a.png": {"image/png": "iVBO"}}
  },
  {
   "cell_type": "code",
   "execution_count": 3,
   "metadata": {"tags": ["parameters"]},
   "outputs": [
    {"output_type": "stream", "name": "stdout", "text": ["a\n", "b\n"]},
    {"output_type": "execute_result", "execution_count": 3, "data": {"text/plain": ["1\n", "2"], "application/json": {"k": [1, 2]}}, "metadata": {}, "x_ext": 1},
    {"output_type": "error", "ename": "E", "evalue": "v", "traceback": ["t"]}
   ],
   "source": "var n = 3\nvar name = \"mnist\"",
   "x_cell_ext": {"keep": true}
  }
 ],
 "metadata": {"kernelspec": {"name": "qlab", "display_name": "Go (qlab)", "language": "go"}},
 "nbformat": 4,
 "nbformat_minor": 2,
 "x_top_ext": [1, 2, 3]
}`

func TestReadWrite(t *testing.T) {
	nb, err := Read(strings.NewReader(v42))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := nb.Cells[0].Source, "# Title\ntext"; got != want {
		t.Errorf("markdown source %q; want %q", got, want)
	}
	c := nb.Cells[1]
	if *c.ExecutionCount != 3 || len(c.Outputs) != 3 || c.Outputs[0].Text != "a\nb\n" ||
		c.Outputs[1].Data["text/plain"] != "1\n2" || !c.HasTag("parameters") {
		t.Errorf("code cell decoded as %+v", c)
	}
	if !reflect.DeepEqual(c.Outputs[1].Data["application/json"], map[string]any{"k": []any{1.0, 2.0}}) {
		t.Errorf("JSON data %v; want kept as JSON", c.Outputs[1].Data["application/json"])
	}
	var a, b bytes.Buffer
	if err := nb.Write(&a); err != nil {
		t.Fatal(err)
	}
	again, err := Read(bytes.NewReader(a.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := again.Write(&b); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Errorf("write → read → write changed the notebook:\n%s\n---\n%s", a.String(), b.String())
	}
	out := a.String()
	for _, want := range []string{`"nbformat_minor": 5`, `"x_top_ext": [`, `"x_cell_ext": {`, `"x_ext": 1`,
		`"attachments": {`, `"id": "`, `"text/plain": [` + "\n" + `       "1\n",`} {
		if !strings.Contains(out, want) {
			t.Errorf("written notebook lacks %q:\n%s", want, out)
		}
	}
	if nb.Cells[0].ID == nb.Cells[1].ID || !validID.MatchString(nb.Cells[0].ID) {
		t.Errorf("cell ids %q %q; want distinct valid ids", nb.Cells[0].ID, nb.Cells[1].ID)
	}

	// nbformat's schema forbids unknown keys outside metadata, so validate
	// the same notebook without the extension fields.
	clean := strings.NewReplacer(`, "x_ext": 1`, "", `,
   "x_cell_ext": {"keep": true}`, "", `,
 "x_top_ext": [1, 2, 3]`, "").Replace(v42)
	if clean == v42 {
		t.Fatal("test bug: extension fields not removed")
	}
	nb, err = Read(strings.NewReader(clean))
	if err != nil {
		t.Fatal(err)
	}
	a.Reset()
	if err := nb.Write(&a); err != nil {
		t.Fatal(err)
	}
	validate(t, a.Bytes())
}

// validate checks a written notebook with nbformat's own validator.
func validate(t *testing.T, nb []byte) {
	t.Helper()
	py := testenv.Python(t, "python3-nbformat", "nbformat")
	cmd := exec.Command(py, "-c", `import sys, nbformat
nb = nbformat.reads(sys.stdin.read(), as_version=nbformat.NO_CONVERT)
assert (nb.nbformat, nb.nbformat_minor) >= (4, 5), (nb.nbformat, nb.nbformat_minor)
nbformat.validate(nb)
assert all("id" in c for c in nb.cells)`)
	cmd.Stdin = bytes.NewReader(nb)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("nbformat.validate: %v\n%s", err, out)
	}
}

func TestReadErrors(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"v3", `{"nbformat": 3, "nbformat_minor": 0, "worksheets": []}`, "nbformat 3 is not 4"},
		{"bad cell type", `{"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": [{"cell_type": "sql", "source": ""}]}`, `cell 0: cell_type "sql"`},
		{"bad source", `{"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": [{"cell_type": "code", "source": 5}]}`, `field "source"`},
		{"bad output", `{"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": [{"cell_type": "code", "source": "", "outputs": [{"output_type": "pager"}]}]}`, `output 0: output_type "pager"`},
		{"not JSON", `{"nbformat": `, "unexpected EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "notebook: ") {
				t.Errorf("Read error %v; want one containing %q", err, tc.want)
			}
		})
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.ipynb")
	nb, _ := Read(strings.NewReader(v42))
	if err := WriteFile(path, nb); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(path); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries; want only out.ipynb (no temporary left)", len(entries))
	}
	if err := WriteFile(filepath.Join(dir, "missing", "x.ipynb"), nb); err == nil {
		t.Errorf("WriteFile into a missing directory succeeded")
	}
}

// scriptEval runs one command per line (see TestRun).
type scriptEval struct{}

type cellErr struct{ msg string }

func (e *cellErr) Error() string       { return "panic: " + e.msg }
func (e *cellErr) Ename() string       { return "panic" }
func (e *cellErr) Evalue() string      { return e.msg }
func (e *cellErr) Traceback() []string { return []string{"panic: " + e.msg, "\tcell:1"} }

func (scriptEval) Execute(ctx context.Context, code string, out jupyter.Output) (*display.Data, error) {
	var res *display.Data
	for _, line := range strings.Split(code, "\n") {
		cmd, arg, _ := strings.Cut(line, " ")
		switch cmd {
		case "out":
			out.Stream("stdout", strings.ReplaceAll(arg, `\n`, "\n"))
		case "err":
			out.Stream("stderr", strings.ReplaceAll(arg, `\r`, "\r"))
		case "show":
			id, text, _ := strings.Cut(arg, " ")
			d := display.Data{Data: map[display.MIME]any{display.MIMEPlain: text, display.MIMEPNG: "iVBORw0KGgo="},
				Metadata: map[display.MIME]any{display.MIMEPNG: map[string]any{"width": 2}}}
			if id != "-" {
				d.Transient = map[string]any{"display_id": id}
			}
			out.Display(d, false)
		case "update":
			id, text, _ := strings.Cut(arg, " ")
			out.Display(display.Data{Data: map[display.MIME]any{display.MIMEPlain: text},
				Transient: map[string]any{"display_id": id}}, true)
		case "clear":
			out.ClearOutput(arg == "wait")
		case "result":
			res = &display.Data{Data: map[display.MIME]any{display.MIMEPlain: arg}}
		case "fail":
			return nil, &cellErr{arg}
		case "input":
			if _, err := out.Input("?", false); err != nil {
				return nil, err
			}
		case "sleep":
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(5 * time.Second):
			}
		}
	}
	return res, nil
}

func (scriptEval) Complete(string, int) ([]string, int, int)     { return nil, 0, 0 }
func (scriptEval) Inspect(string, int, int) (display.Data, bool) { return display.Data{}, false }
func (scriptEval) IsComplete(string) (string, string)            { return "complete", "" }

func codeCells(srcs ...string) *Notebook {
	nb := &Notebook{NBFormat: 4, NBFormatMinor: 5, Metadata: map[string]any{}}
	nb.Cells = append(nb.Cells, &Cell{Type: Markdown, Source: "# doc"})
	for _, s := range srcs {
		nb.Cells = append(nb.Cells, &Cell{Type: Code, Source: s, Metadata: map[string]any{}})
	}
	return nb
}

func texts(c *Cell) []string {
	var s []string
	for _, o := range c.Outputs {
		switch o.Type {
		case OutputStream:
			s = append(s, o.Name+":"+o.Text)
		case OutputError:
			s = append(s, "error:"+o.Ename+":"+o.Evalue)
		default:
			s = append(s, o.Type+":"+o.Data["text/plain"].(string))
		}
	}
	return s
}

func TestRun(t *testing.T) {
	nb := codeCells(
		"out a\nout b\\n\nerr x\nout c",              // streams merge only when consecutive
		"err 10%\\r\nerr 50%\\r\nerr done",           // carriage returns collapse
		"show d1 first\nshow - plain\nresult 42",     // display_data, execute_result
		"update d1 second\nout shown",                // updates cell 3's display, adds nothing
		"out gone\nclear wait\nout kept",             // clear_output(wait) clears before the next output
		"out gone\nclear\nshow d1 again\nclear wait", // a pending clear with nothing after keeps outputs
		"",                // empty cells are not executed
		"update d1 third", // updates cells 3 and 6
	)
	if err := Run(context.Background(), scriptEval{}, nb, RunOptions{Name: "t.ipynb"}); err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"stdout:ab\n", "stderr:x", "stdout:c"},
		{"stderr:done"},
		{"display_data:third", "display_data:plain", "execute_result:42"},
		{"stdout:shown"},
		{"stdout:kept"},
		{"display_data:third"},
		nil,
		nil,
	}
	for i, w := range want {
		if got := texts(nb.Cells[i+1]); !reflect.DeepEqual(got, w) {
			t.Errorf("cell %d outputs %q; want %q", i+1, got, w)
		}
	}
	// As in nbclient, an update rewrites every output showing the
	// display_id, in any cell: cell 3's first output shows "third" too.
	if nb.Cells[3].Outputs[1].Metadata["image/png"] == nil {
		t.Errorf("display metadata lost: %v", nb.Cells[3].Outputs[1].Metadata)
	}
	counts := []any{}
	for _, c := range nb.Cells[1:] {
		if c.ExecutionCount == nil {
			counts = append(counts, nil)
		} else {
			counts = append(counts, *c.ExecutionCount)
		}
	}
	if want := []any{1, 2, 3, 4, 5, 6, nil, 7}; !reflect.DeepEqual(counts, want) {
		t.Errorf("execution counts %v; want %v", counts, want)
	}
	if ec := nb.Cells[3].Outputs[2].ExecutionCount; ec == nil || *ec != 3 {
		t.Errorf("execute_result execution_count %v; want 3", ec)
	}
	var buf bytes.Buffer
	if err := nb.Write(&buf); err != nil {
		t.Fatal(err)
	}
	validate(t, buf.Bytes())
}

func TestRunStopsAtFirstError(t *testing.T) {
	for _, tc := range []struct {
		name, code string
		opts       RunOptions
		want       string
	}{
		{"cell error", "out before\nfail boom", RunOptions{Name: "study.ipynb"}, "notebook: study.ipynb: cell 2: panic: boom"},
		{"timeout", "sleep", RunOptions{Name: "slow.ipynb", Timeout: 50 * time.Millisecond}, "notebook: slow.ipynb: cell 2: timeout: cell did not finish within 50ms"},
		{"input", "input", RunOptions{}, "notebook: notebook: cell 2: error: notebook: cell asked for input"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nb := codeCells("out ok", tc.code, "out never")
			nb.Cells[3].Outputs = []*Output{{Type: OutputStream, Name: "stdout", Text: "stale"}}
			err := Run(context.Background(), scriptEval{}, nb, tc.opts)
			var re *RunError
			if !errors.As(err, &re) || !strings.HasPrefix(err.Error(), tc.want) || re.Cell != 2 {
				t.Fatalf("Run error %v; want %q at cell 2", err, tc.want)
			}
			last := nb.Cells[2].Outputs[len(nb.Cells[2].Outputs)-1]
			if last.Type != OutputError || last.Ename != re.Ename {
				t.Errorf("failing cell's last output %+v; want the error", last)
			}
			if nb.Cells[3].ExecutionCount != nil || len(nb.Cells[3].Outputs) != 1 {
				t.Errorf("cell after the error was touched: %+v", nb.Cells[3])
			}
		})
	}
}

func TestInjectParameters(t *testing.T) {
	const decl = "var (\n\tepochs = 3\n\tlr float64 = 0.1\n)\nvar dataset = \"mnist\"\nvar tag string\nseed := 1\nname := `x`\nconst width = 8"
	tests := []struct {
		name   string
		params map[string]string
		want   string
		err    string
	}{
		{"numbers", map[string]string{"epochs": "10", "lr": "1e-3"}, "// Parameters\nepochs = 10\nlr = 1e-3", ""},
		{"string unquoted", map[string]string{"dataset": "fashion"}, "// Parameters\ndataset = \"fashion\"", ""},
		{"string quoted", map[string]string{"dataset": `"cifar"`}, "// Parameters\ndataset = \"cifar\"", ""},
		{"typed string with spaces", map[string]string{"tag": "run 1"}, "// Parameters\ntag = \"run 1\"", ""},
		{"raw string decl", map[string]string{"name": "a\"b"}, "// Parameters\nname = \"a\\\"b\"", ""},
		{"short decl int", map[string]string{"seed": "42"}, "// Parameters\nseed = 42", ""},
		{"const", map[string]string{"width": "16"}, "// Parameters\nconst width = 16", ""},
		{"undeclared", map[string]string{"nope": "1"}, "", `parameter "nope" is not declared`},
		{"bad expression", map[string]string{"epochs": "1 +"}, "", "is not a Go expression"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nb := codeCells("out a", decl, "out b")
			nb.Cells[2].Metadata["tags"] = []any{"parameters"}
			err := InjectParameters(nb, tc.params)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v; want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(nb.Cells) != 5 || !nb.Cells[3].HasTag(TagInjectedParameters) || nb.Cells[3].Source != tc.want {
				t.Fatalf("cells %d, injected %q; want 5 cells with %q after the parameters cell", len(nb.Cells), nb.Cells[3].Source, tc.want)
			}
			// A second injection replaces the first instead of stacking.
			if err := InjectParameters(nb, tc.params); err != nil || len(nb.Cells) != 5 {
				t.Errorf("re-injection: %v, %d cells; want 5", err, len(nb.Cells))
			}
		})
	}
	t.Run("no parameters cell", func(t *testing.T) {
		if err := InjectParameters(codeCells("out a"), map[string]string{"x": "1"}); err == nil ||
			!strings.Contains(err.Error(), `no code cell is tagged "parameters"`) {
			t.Errorf("error %v; want one naming the missing parameters cell", err)
		}
	})
}

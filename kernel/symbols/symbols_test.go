package symbols_test

import (
	"bytes"
	"context"
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/qlab-dev/qlab/kernel/interp"
	"github.com/qlab-dev/qlab/kernel/symbols"
	"github.com/qlab-dev/qlab/kernel/symbols/internal/gen"
	"github.com/qlab-dev/qlab/qlab/display"
)

// qlabTables returns the generated qlab tables by import path.
func qlabTables() map[string]map[string]reflect.Value {
	out := map[string]map[string]reflect.Value{}
	for k, v := range symbols.Symbols {
		path := k[:strings.LastIndex(k, "/")]
		if path == gen.Module+"/qlab" || strings.HasPrefix(path, gen.Module+"/qlab/") {
			out[path] = v
		}
	}
	return out
}

// exportedNames lists what yaegi extract would export from the package in
// dir, from its source: exported top-level functions, types, variables and
// constants, without generic ones and without constraint interfaces.
func exportedNames(t *testing.T, dir string) []string {
	t.Helper()
	bp, err := build.ImportDir(dir, 0)
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	fset := token.NewFileSet()
	var names []string
	for _, f := range bp.GoFiles {
		af, err := parser.ParseFile(fset, filepath.Join(dir, f), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range af.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil && d.Name.IsExported() && d.Type.TypeParams == nil {
					names = append(names, d.Name.Name)
				}
			case *ast.GenDecl:
				for _, sp := range d.Specs {
					switch sp := sp.(type) {
					case *ast.TypeSpec:
						if !sp.Name.IsExported() || sp.TypeParams != nil {
							continue
						}
						if it, ok := sp.Type.(*ast.InterfaceType); ok && isConstraint(it) {
							continue
						}
						names = append(names, sp.Name.Name)
					case *ast.ValueSpec:
						for _, n := range sp.Names {
							if n.IsExported() {
								names = append(names, n.Name)
							}
						}
					}
				}
			}
		}
	}
	sort.Strings(names)
	return names
}

// isConstraint reports an interface with embedded types and no methods,
// which yaegi extract skips.
func isConstraint(it *ast.InterfaceType) bool {
	methods, embeds := 0, 0
	for _, f := range it.Methods.List {
		if len(f.Names) > 0 {
			methods++
		} else {
			embeds++
		}
	}
	return methods == 0 && embeds > 0
}

// TestTablesCurrent checks that every qlab package has a table and that
// each table holds exactly the package's exported names. It is the fast
// form of TestTablesRegenerate; it does not see signature changes.
func TestTablesCurrent(t *testing.T) {
	pkgs, err := gen.Packages()
	if err != nil {
		t.Fatal(err)
	}
	tables := qlabTables()
	for _, p := range pkgs {
		t.Run(strings.TrimPrefix(p, gen.Module+"/"), func(t *testing.T) {
			table, ok := tables[p]
			if !ok {
				t.Fatalf("no symbol table for %s: run go generate ./kernel/symbols", p)
			}
			out, err := exec.Command("go", "list", "-f", "{{.Dir}}", p).Output()
			if err != nil {
				t.Fatal(err)
			}
			want := exportedNames(t, strings.TrimSpace(string(out)))
			var got []string
			for n := range table {
				if !strings.HasPrefix(n, "_") {
					got = append(got, n)
				}
			}
			sort.Strings(got)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("table of %s is stale: run go generate ./kernel/symbols (or, in kernel/symbols, go run ./internal/gencmd %s)\n got %v\nwant %v", p, strings.TrimPrefix(p, gen.Module+"/"), got, want)
			}
		})
		delete(tables, p)
	}
	for p := range tables {
		t.Errorf("table for %s, which no longer exists: run go generate ./kernel/symbols", p)
	}
}

// TestTablesRegenerate regenerates every table into memory and compares it
// with the committed file, naming the stale package. yaegi's extractor
// type-checks each package from source, which takes minutes on a loaded
// machine, so it runs only with QLAB_SYMBOLS_REGEN=1.
func TestTablesRegenerate(t *testing.T) {
	if os.Getenv("QLAB_SYMBOLS_REGEN") != "1" {
		t.Skip("set QLAB_SYMBOLS_REGEN=1 to regenerate the tables and compare (slow)")
	}
	r, err := gen.Generate()
	if err != nil {
		t.Fatal(err)
	}
	for p, err := range r.Failed {
		t.Errorf("extracting %s: %v", p, err)
	}
	committed, err := gen.Generated(".")
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range r.Files {
		if old, ok := committed[name]; !ok {
			t.Errorf("%s missing: run go generate ./kernel/symbols", name)
		} else if !bytes.Equal(old, b) {
			t.Errorf("%s is stale: run go generate ./kernel/symbols", name)
		}
		delete(committed, name)
	}
	for name := range committed {
		t.Errorf("%s is no longer generated: run go generate ./kernel/symbols", name)
	}
}

func TestShortImportPaths(t *testing.T) {
	ex := symbols.Exports()
	for k, v := range symbols.Symbols {
		short, ok := strings.CutPrefix(k, symbols.ShortPrefix)
		if !ok || !strings.HasPrefix(short, "qlab/") {
			continue
		}
		if got, ok := ex[short]; !ok || reflect.ValueOf(got).Pointer() != reflect.ValueOf(v).Pointer() {
			t.Errorf("short path %q does not map to the table of %q", short, k)
		}
	}
	if _, ok := ex["fmt/fmt"]; !ok {
		t.Errorf("standard library missing from Exports")
	}
}

func TestLookupDoc(t *testing.T) {
	for _, tc := range []struct{ path, sym, decl, text string }{
		{gen.Module + "/qlab/display", "HTML", "func HTML(s string) Data", "text/html"},
		{gen.Module + "/kernel/cell", "Context", "func Context() context.Context", "interrupt"},
		{"qlab/tensor", "New", "func New(", ""},
		{"gonum.org/v1/plot", "New", "func New() *Plot", ""},
	} {
		t.Run(tc.path+"."+tc.sym, func(t *testing.T) {
			d, ok := symbols.Lookup(tc.path, tc.sym)
			if !ok {
				t.Fatalf("not found")
			}
			if !strings.Contains(d.Decl, tc.decl) || !strings.Contains(d.Text, tc.text) {
				t.Errorf("got %q / %q; want %q / %q", d.Decl, d.Text, tc.decl, tc.text)
			}
		})
	}
}

// unsafeToCall names functions the exercise test must not call with zero
// arguments: they touch the network, the disk or run for long.
var unsafeToCall = []string{"CIFAR", "MNIST", "Download", "Load", "Open", "Run", "Fit", "Resume", "Save", "Write", "Read", "Remove", "Train", "Sweep", "Evaluate"}

// knownCalls are calls for packages whose functions are all unsafe to call
// with zero arguments; the cell imports the package and "tensor".
var knownCalls = map[string]string{
	"qlab/data": `data.NewDataset("tiny", tensor.New(2, 1, 2, 2), []int{0, 1}, []string{"a", "b"})`,
}

// TestEveryQlabPackageThroughInterpreter imports every qlab package by its
// short path in an interpreter, refers to each exported symbol, and calls a
// function of it, so a table that compiles but does not work in yaegi shows.
func TestEveryQlabPackageThroughInterpreter(t *testing.T) {
	in, err := interp.New(interp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	for path, table := range qlabTables() {
		short := strings.TrimPrefix(path, gen.Module+"/")
		name := path[strings.LastIndex(path, "/")+1:]
		t.Run(short, func(t *testing.T) {
			var cell strings.Builder
			fmt.Fprintf(&cell, "import %q\nimport \"qlab/tensor\"\n", short)
			var names []string
			for n := range table {
				names = append(names, n)
			}
			sort.Strings(names)
			var call string
			for _, n := range names {
				if strings.HasPrefix(n, "_") {
					continue
				}
				v := table[n]
				if v.Kind() == reflect.Pointer && v.IsNil() {
					fmt.Fprintf(&cell, "var _ %s.%s\n", name, n) // a type
					continue
				}
				fmt.Fprintf(&cell, "_ = %s.%s\n", name, n)
				if call == "" && v.Kind() == reflect.Func && zeroCallable(n, v.Type()) {
					call = fmt.Sprintf("%s.%s(%s)", name, n, zeroArgs(v.Type()))
				}
			}
			if c, ok := knownCalls[short]; ok {
				call = c
			}
			if call == "" && len(names) > 0 {
				t.Fatalf("no function of %s is safe to call with zero arguments; add a case", short)
			}
			fmt.Fprintf(&cell, "%s\n", call)
			t.Logf("calls %s", call)
			if _, err := in.Execute(context.Background(), cell.String(), discard{}); err != nil {
				t.Fatalf("%s: %v\ncell:\n%s", call, err, cell.String())
			}
		})
	}
}

func zeroCallable(name string, ft reflect.Type) bool {
	for _, u := range unsafeToCall {
		if strings.Contains(name, u) {
			return false
		}
	}
	for i := 0; i < ft.NumIn(); i++ {
		in := ft.In(i)
		if ft.IsVariadic() && i == ft.NumIn()-1 {
			continue
		}
		switch in.Kind() {
		case reflect.Int, reflect.Int64, reflect.Float32, reflect.Float64, reflect.Bool, reflect.String, reflect.Uint64:
		default:
			return false
		}
	}
	return true
}

func zeroArgs(ft reflect.Type) string {
	var args []string
	for i := 0; i < ft.NumIn(); i++ {
		if ft.IsVariadic() && i == ft.NumIn()-1 {
			continue
		}
		switch ft.In(i).Kind() {
		case reflect.Bool:
			args = append(args, "false")
		case reflect.String:
			args = append(args, `""`)
		default:
			args = append(args, "1")
		}
	}
	return strings.Join(args, ", ")
}

type discard struct{}

func (discard) Stream(string, string)              {}
func (discard) Display(display.Data, bool)         {}
func (discard) ClearOutput(bool)                   {}
func (discard) Input(string, bool) (string, error) { return "", nil }

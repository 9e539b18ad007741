// Package gen writes the yaegi symbol tables and the doc table of package
// symbols. It is the body of `go generate ./kernel/symbols` and of the test
// that checks the committed tables are current.
package gen

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/doc"
	"go/format"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/traefik/yaegi/extract"
)

// Module is the import path of the qlab module.
const Module = "github.com/qlab-dev/qlab"

// Fixed lists the non-qlab packages cells can import besides the standard
// library. qlab packages are discovered with `go list` (see Packages).
var Fixed = []string{
	"gonum.org/v1/plot",
	"gonum.org/v1/plot/plotter",
	"gonum.org/v1/plot/vg",
	"gonum.org/v1/plot/vg/draw",
	"gonum.org/v1/plot/vg/vgimg",
	"gonum.org/v1/plot/vg/vgsvg",
	"gonum.org/v1/plot/vg/vgpdf",
	"gonum.org/v1/gonum/stat",
	"gonum.org/v1/gonum/mat",
	"gonum.org/v1/gonum/floats",
	Module + "/kernel/cell",
}

// DocPackages are the packages whose doc comments are embedded (all qlab
// packages are added by Packages): the plotting packages a notebook uses most.
var DocPackages = []string{
	"gonum.org/v1/plot",
	"gonum.org/v1/plot/plotter",
	"gonum.org/v1/plot/vg",
	"gonum.org/v1/plot/vg/draw",
	"gonum.org/v1/gonum/stat",
	Module + "/kernel/cell",
}

// Packages returns the qlab packages (module qlab/..., internal ones and
// commands excluded) found by `go list`, sorted.
func Packages() ([]string, error) {
	cmd := exec.Command("go", "list", "-f", `{{if ne .Name "main"}}{{.ImportPath}}{{end}}`, Module+"/qlab/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("gen: go list qlab/...: %v: %s", err, stderr.String())
	}
	var pkgs []string
	for _, p := range strings.Fields(string(out)) {
		if strings.Contains(p+"/", "/internal/") {
			continue
		}
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	return pkgs, nil
}

// FileName is the name of the generated table of importPath.
func FileName(importPath string) string {
	p := strings.TrimPrefix(importPath, Module+"/")
	return strings.NewReplacer("/", "-", ".", "_").Replace(p) + ".go"
}

// DocFile is the name of the generated doc table.
const DocFile = "docs_generated.go"

// Result is what Generate produced: file name → content.
type Result struct {
	Files map[string][]byte
	// Failed names the packages that could not be extracted, with the reason;
	// their tables are left out.
	Failed map[string]error
	// Partial is set when only some packages were extracted: Write then
	// removes nothing.
	Partial bool
}

// Generate builds the symbol table of every package (Fixed plus discovered
// qlab packages) and the doc table. With only non-empty, it extracts just
// those import paths (short qlab paths accepted) and the doc table: yaegi's
// extractor type-checks each package and its dependencies from source,
// minutes for all of them on a loaded machine. It writes nothing.
func Generate(only ...string) (*Result, error) {
	qlab, err := Packages()
	if err != nil {
		return nil, err
	}
	all := append(append([]string{}, qlab...), Fixed...)
	res := &Result{Files: map[string][]byte{}, Failed: map[string]error{}, Partial: len(only) > 0}
	if len(only) > 0 {
		all = nil
		for _, p := range only {
			if p == "qlab" || strings.HasPrefix(p, "qlab/") || strings.HasPrefix(p, "kernel/") {
				p = Module + "/" + p
			}
			all = append(all, p)
		}
	}
	ext := extract.Extractor{Dest: "symbols"}
	for _, p := range all {
		var buf bytes.Buffer
		if _, err := ext.Extract(p, "", &buf); err != nil {
			res.Failed[p] = err
			continue
		}
		res.Files[FileName(p)] = buf.Bytes()
	}
	docs, err := docTable(append(qlab, DocPackages...), res.Failed)
	if err != nil {
		return nil, err
	}
	res.Files[DocFile] = docs
	return res, nil
}

// Write writes r's files into dir and removes generated tables in dir that r
// no longer produces (packages that were deleted).
func (r *Result) Write(dir string) error {
	old, err := Generated(dir)
	if err != nil {
		return err
	}
	for name := range old {
		if _, ok := r.Files[name]; !ok && !r.Partial {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return err
			}
		}
	}
	for name, b := range r.Files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Generated returns the generated files in dir (those that start with
// "// Code generated"), by name.
func Generated(dir string) (map[string][]byte, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		if bytes.HasPrefix(b, []byte("// Code generated")) {
			out[e.Name()] = b
		}
	}
	return out, nil
}

// docTable extracts, with go/doc, the declaration and doc comment of every
// exported package-level symbol and method of pkgs.
func docTable(pkgs []string, failed map[string]error) ([]byte, error) {
	type entry struct{ key, decl, doc string }
	byPkg := map[string][]entry{}
	seen := map[string]bool{}
	var order []string
	for _, ip := range pkgs {
		if seen[ip] || failed[ip] != nil {
			continue
		}
		seen[ip] = true
		dir, err := pkgDir(ip)
		if err != nil {
			return nil, err
		}
		fset := token.NewFileSet()
		files, err := parseDir(fset, dir)
		if err != nil {
			return nil, fmt.Errorf("gen: parsing %s: %w", ip, err)
		}
		p, err := doc.NewFromFiles(fset, files, ip)
		if err != nil {
			return nil, fmt.Errorf("gen: doc of %s: %w", ip, err)
		}
		var es []entry
		es = append(es, entry{"", "package " + p.Name, p.Doc})
		add := func(key string, decl ast.Node, d string) {
			es = append(es, entry{key, declString(fset, decl), d})
		}
		vals := func(vs []*doc.Value) {
			for _, v := range vs {
				for _, n := range v.Names {
					if ast.IsExported(n) {
						add(n, v.Decl, v.Doc)
					}
				}
			}
		}
		funcs := func(fs []*doc.Func, recv string) {
			for _, f := range fs {
				if ast.IsExported(f.Name) {
					add(recv+f.Name, f.Decl, f.Doc)
				}
			}
		}
		vals(p.Consts)
		vals(p.Vars)
		funcs(p.Funcs, "")
		for _, t := range p.Types {
			add(t.Name, t.Decl, t.Doc)
			vals(t.Consts)
			vals(t.Vars)
			funcs(t.Funcs, "")
			funcs(t.Methods, t.Name+".")
		}
		byPkg[ip] = es
		order = append(order, ip)
	}
	sort.Strings(order)
	var b bytes.Buffer
	b.WriteString("// Code generated by kernel/symbols/internal/gencmd from go/doc. DO NOT EDIT.\n\n")
	b.WriteString("package symbols\n\n")
	b.WriteString("// docs maps import path → symbol (\"Name\" or \"Type.Method\"; \"\" for the\n// package) → declaration and doc comment.\n")
	b.WriteString("var docs = map[string]map[string]Doc{\n")
	for _, ip := range order {
		fmt.Fprintf(&b, "%q: {\n", ip)
		for _, e := range byPkg[ip] {
			fmt.Fprintf(&b, "%q: {Decl: %q, Text: %q},\n", e.key, e.decl, e.doc)
		}
		b.WriteString("},\n")
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}

func pkgDir(ip string) (string, error) {
	out, err := exec.Command("go", "list", "-f", "{{.Dir}}", ip).Output()
	if err != nil {
		return "", fmt.Errorf("gen: locating %s: %v", ip, err)
	}
	return strings.TrimSpace(string(out)), nil
}

func parseDir(fset *token.FileSet, dir string) ([]*ast.File, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []*ast.File
	for _, e := range ents {
		n := e.Name()
		if !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, n), nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		if f.Name.Name == "main" || strings.HasSuffix(f.Name.Name, "_test") {
			continue
		}
		files = append(files, f)
	}
	return files, nil
}

// declString prints a declaration without function bodies and without doc
// comments (they are stored separately).
func declString(fset *token.FileSet, n ast.Node) string {
	switch d := n.(type) {
	case *ast.FuncDecl:
		c := *d
		c.Body, c.Doc = nil, nil
		n = &c
	case *ast.GenDecl:
		c := *d
		c.Doc = nil
		n = &c
	}
	var b bytes.Buffer
	cfg := printer.Config{Mode: printer.UseSpaces | printer.TabIndent, Tabwidth: 8}
	if err := cfg.Fprint(&b, fset, n); err != nil {
		return ""
	}
	return b.String()
}

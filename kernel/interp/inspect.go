package interp

import (
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/qlab-dev/qlab/kernel/symbols"
	"github.com/qlab-dev/qlab/qlab/display"
)

// Inspect returns the documentation of the symbol under (or just before) the
// cursor: for a compiled package member, its declaration and doc comment
// (embedded for qlab and the plot packages, read from GOROOT/src for the
// standard library when present, else the reflect signature); for a
// method of a variable, the method's; for a name declared in a cell, its
// declaration and comment; for a variable, also its type and value. The
// bundle has text/plain and text/markdown. detailLevel 0 and 1 give the same.
func (in *Interpreter) Inspect(code string, cursor, detailLevel int) (display.Data, bool) {
	off := byteOffset(code, cursor)
	// Extend to the whole identifier around the cursor.
	end := off
	for end < len(code) {
		r, size := utf8.DecodeRuneInString(code[end:])
		if !isIdentRune(r) {
			break
		}
		end += size
	}
	start := identBefore(code, off)
	if start == end && off > 0 && code[off-1] == '(' {
		// Just after "f(": inspect f, as IPython does.
		end = off - 1
		start = identBefore(code, end)
	}
	name := code[start:end]
	if name == "" {
		return display.Data{}, false
	}
	sel := selectorBefore(code, start)
	decl, text, ok := in.describe(sel, name)
	if !ok {
		return display.Data{}, false
	}
	plain := decl
	if text != "" {
		plain += "\n\n" + strings.TrimSpace(text)
	}
	md := "```go\n" + decl + "\n```"
	if text != "" {
		md += "\n\n" + strings.TrimSpace(text)
	}
	return display.Data{Data: map[display.MIME]any{display.MIMEPlain: plain, display.MIMEMarkdown: md}}, true
}

func (in *Interpreter) describe(sel, name string) (decl, text string, ok bool) {
	decls, imports := in.idx.snapshot()
	if sel == "" {
		if d, ok := decls[name]; ok {
			decl = d.decl
			if d.kind == "var" {
				if v, ok := in.lookupValue([]string{name}); ok {
					decl += fmt.Sprintf("\n// type %s, value %s", typeString(v), display.PlainText(safeInterface(v)))
				}
			}
			return decl, d.doc, true
		}
		if path, ok := imports[name]; ok {
			if d, ok := pkgDoc(path, ""); ok {
				return fmt.Sprintf("import %q", path), d.Text, true
			}
			return fmt.Sprintf("import %q", path), "", true
		}
		if v, ok := in.lookupValue([]string{name}); ok {
			return fmt.Sprintf("var %s %s = %s", name, typeString(v), display.PlainText(safeInterface(v))), "", true
		}
		return "", "", false
	}
	parts := strings.Split(sel, ".")
	if path, ok := imports[parts[0]]; ok && len(parts) == 1 {
		if d, ok := pkgDoc(path, name); ok {
			return d.Decl, d.Text, true
		}
		if t := allTables()[path]; t != nil {
			if v, ok := t.syms[name]; ok {
				return reflectDecl(t.name, name, v), "", true
			}
		}
		return "", "", false
	}
	v, ok := in.lookupValue(parts)
	if !ok {
		return "", "", false
	}
	t := v.Type()
	bt := t
	if bt.Kind() == reflect.Pointer {
		bt = bt.Elem()
	}
	if bt.PkgPath() != "" && bt.Name() != "" {
		if d, ok := pkgDoc(bt.PkgPath(), bt.Name()+"."+name); ok {
			return d.Decl, d.Text, true
		}
	}
	if tn := in.interpretedTypeName(bt); tn != "" {
		if d, ok := in.idx.method(tn, name); ok {
			return d.decl, d.doc, true
		}
	}
	if m, ok := reflect.PointerTo(bt).MethodByName(name); ok {
		return fmt.Sprintf("func (%s) %s%s", t, name, strings.TrimPrefix(m.Type.String(), "func"+"("+reflect.PointerTo(bt).String())), "", true
	}
	if bt.Kind() == reflect.Struct {
		if f, ok := bt.FieldByName(name); ok {
			return fmt.Sprintf("field %s %s", name, f.Type), "", true
		}
	}
	return "", "", false
}

func typeString(v reflect.Value) string { return v.Type().String() }

func safeInterface(v reflect.Value) any {
	if !v.IsValid() || !v.CanInterface() {
		return nil
	}
	return v.Interface()
}

// reflectDecl is the declaration of a compiled symbol known only by its
// symbol table entry.
func reflectDecl(pkg, name string, v reflect.Value) string {
	switch {
	case v.Kind() == reflect.Func:
		return "func " + pkg + "." + name + strings.TrimPrefix(v.Type().String(), "func")
	case v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Interface && v.IsNil():
		return "type " + pkg + "." + name + " interface"
	case v.Kind() == reflect.Pointer && v.IsNil():
		return "type " + pkg + "." + name + " " + v.Type().Elem().Kind().String()
	case v.CanInterface():
		return fmt.Sprintf("%s.%s %s = %v", pkg, name, v.Type(), v.Interface())
	}
	return pkg + "." + name
}

// pkgDoc looks up a symbol's documentation: embedded for qlab and the plot
// packages, parsed from GOROOT/src for the standard library.
func pkgDoc(path, sym string) (symbols.Doc, bool) {
	if d, ok := symbols.Lookup(path, sym); ok {
		return d, true
	}
	if strings.Contains(strings.SplitN(path, "/", 2)[0], ".") {
		return symbols.Doc{}, false
	}
	return stdDoc(path, sym)
}

var (
	stdDocMu    sync.Mutex
	stdDocCache = map[string]map[string]symbols.Doc{}
)

// stdDoc reads a standard library package's docs from GOROOT/src once.
func stdDoc(path, sym string) (symbols.Doc, bool) {
	stdDocMu.Lock()
	defer stdDocMu.Unlock()
	m, ok := stdDocCache[path]
	if !ok {
		m = parseStdDoc(path)
		stdDocCache[path] = m
	}
	d, ok := m[sym]
	return d, ok
}

func goroot() string {
	if g := os.Getenv("GOROOT"); g != "" {
		return g
	}
	return runtime.GOROOT() //nolint:staticcheck // the build's GOROOT is the best guess without the go command
}

func parseStdDoc(path string) map[string]symbols.Doc {
	out := map[string]symbols.Doc{}
	dir := filepath.Join(goroot(), "src", filepath.FromSlash(path))
	ents, err := os.ReadDir(dir)
	if err != nil {
		return out
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, e := range ents {
		n := e.Name()
		if !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, n), nil, parser.ParseComments)
		if err != nil {
			continue
		}
		files = append(files, f)
	}
	p, err := doc.NewFromFiles(fset, files, path)
	if err != nil {
		return out
	}
	print := func(n ast.Node) string {
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
		var b strings.Builder
		printer.Fprint(&b, fset, n)
		return b.String()
	}
	out[""] = symbols.Doc{Decl: "package " + p.Name, Text: p.Doc}
	vals := func(vs []*doc.Value) {
		for _, v := range vs {
			for _, n := range v.Names {
				out[n] = symbols.Doc{Decl: print(v.Decl), Text: v.Doc}
			}
		}
	}
	funcs := func(fs []*doc.Func, recv string) {
		for _, f := range fs {
			out[recv+f.Name] = symbols.Doc{Decl: print(f.Decl), Text: f.Doc}
		}
	}
	vals(p.Consts)
	vals(p.Vars)
	funcs(p.Funcs, "")
	for _, t := range p.Types {
		out[t.Name] = symbols.Doc{Decl: print(t.Decl), Text: t.Doc}
		vals(t.Consts)
		vals(t.Vars)
		funcs(t.Funcs, "")
		funcs(t.Methods, t.Name+".")
	}
	return out
}

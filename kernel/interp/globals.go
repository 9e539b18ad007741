package interp

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strings"
)

// multiVarDecls rewrites each "var a, b [T] = f()" of a declaration chunk
// (grouped or not) into "var (_qlabM0, _qlabM1 [T] = f(); a = _qlabM0;
// b = _qlabM1)" and returns the new source and the number of temporaries.
// yaegi v0.16.1 gives globals defined together from one multi-value call
// slots that a function reads wrongly when it is called from another
// function (see doc.go); globals defined one value each are read right. The
// type and the call keep their order and their lines, so positions in
// errors keep their line. src that does not parse is returned unchanged:
// evaluating it reports the error.
func multiVarDecls(src string) (string, int) {
	if !strings.Contains(src, "var") {
		return src, 0
	}
	const pre = "package p;"
	f, err := parser.ParseFile(token.NewFileSet(), "", pre+src, 0)
	if err != nil {
		return src, 0
	}
	base := token.Pos(len(pre) + 1)
	off := func(p token.Pos) int { return int(p - base) }
	type edit struct {
		start, end int
		text       string
	}
	var edits []edit
	n := 0
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.VAR {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			if len(vs.Names) < 2 || len(vs.Values) != 1 {
				continue
			}
			tmps := make([]string, len(vs.Names))
			for i := range tmps {
				tmps[i] = fmt.Sprintf("_qlabM%d", n)
				n++
			}
			var b strings.Builder
			if !g.Lparen.IsValid() {
				b.WriteString("(")
			}
			b.WriteString(strings.Join(tmps, ", "))
			if vs.Type != nil {
				b.WriteString(" " + src[off(vs.Type.Pos()):off(vs.Type.End())])
			}
			b.WriteString(" = " + src[off(vs.Values[0].Pos()):off(vs.Values[0].End())])
			for i, name := range vs.Names {
				b.WriteString("; " + name.Name + " = " + tmps[i])
			}
			if !g.Lparen.IsValid() {
				b.WriteString(")")
			}
			edits = append(edits, edit{off(vs.Pos()), off(vs.End()), b.String()})
		}
	}
	for i := len(edits) - 1; i >= 0; i-- {
		e := edits[i]
		src = src[:e.start] + e.text + src[e.end:]
	}
	return src, n
}

// releaseTemps redefines the temporaries name0 ... name(n-1) as ints, so
// that they stop holding the values they passed on (notebook values may be
// large tensors). Failure is harmless and ignored.
func (in *Interpreter) releaseTemps(name string, n int) {
	if n == 0 {
		return
	}
	specs := make([]string, n)
	for i := range specs {
		specs[i] = fmt.Sprintf("%s%d = 0", name, i)
	}
	in.evalQuiet("var (" + strings.Join(specs, "; ") + ")")
}

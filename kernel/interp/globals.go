package interp

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
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
			if len(vs.Names) < 2 || len(vs.Values) != 1 || commaOKExpr(vs.Values[0]) {
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

// evalCommaOK runs "v, ok := rhs" (rhs a type assertion, map index or
// receive, at cell line and col) as "var v T; var ok bool; v, ok = rhs":
// yaegi v0.16.1 crashes defining such globals at the top level, and would
// give them the wrong slots (see doc.go), while it assigns them right. T is
// the asserted type, or for a map index of names and literals the type of
// "v := rhs"; otherwise the cell is reported unsupported with a rewrite.
func (in *Interpreter) evalCommaOK(ctx context.Context, c chunk, cs *cellState, line, col int) (reflect.Value, error) {
	rd := c.redefine
	v, ok := rd.names[0], rd.names[1]
	var decls []string
	if v != "_" {
		switch {
		case rd.valueType != "":
			decls = append(decls, "var "+v+" "+rd.valueType)
		case rd.pure && !mentions(rd.rhs, v):
			// ":=", not var: yaegi reports "variable definition loop" for
			// var v = m[k] with m defined by a statement.
			decls = append(decls, v+" := "+rd.rhs)
		default:
			return reflect.Value{}, &CellError{Name: ErrUnsupported, Value: fmt.Sprintf("line %d: yaegi v0.16.1 cannot define %s, %s := %s at the top level of a cell; declare them first: var %s T; var %s bool; %s, %s = %s", line, v, ok, rd.rhs, v, ok, v, ok, rd.rhs)}
		}
	}
	if ok != "_" {
		decls = append(decls, "var "+ok+" bool")
	}
	for _, d := range decls {
		if _, err := in.yi.EvalWithContext(ctx, strings.Repeat("\n", line-1)+d); err != nil {
			return reflect.Value{}, in.cellError(ctx, err, cs)
		}
	}
	// The left side ends the line before rhs, keeping rhs's position.
	src := strings.Repeat("\n", line-1) + v + ", " + ok + " =\n" + strings.Repeat(" ", col-1) + rd.rhs
	r, err := in.yi.EvalWithContext(ctx, src)
	if err != nil {
		return r, in.cellError(ctx, err, cs)
	}
	return r, nil
}

// mentions reports whether expression src uses the name.
func mentions(src, name string) bool {
	e, err := parser.ParseExpr(src)
	if err != nil {
		return true
	}
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && id.Name == name {
			found = true
		}
		return !found
	})
	return found
}

// commaOKExpr reports whether e is a type assertion, a map index or a
// receive: the right sides that "v, ok" take.
func commaOKExpr(e ast.Expr) bool {
	switch e := unparen(e).(type) {
	case *ast.TypeAssertExpr, *ast.IndexExpr:
		return true
	case *ast.UnaryExpr:
		return e.Op == token.ARROW
	}
	return false
}

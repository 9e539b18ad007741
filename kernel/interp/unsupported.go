package interp

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
)

// Messages for syntax yaegi v0.16.1 cannot run: ranging over an int or a
// func makes it report "nil type" (and log it); the Go 1.21 builtins are
// "undefined".
const (
	msgRangeInt  = "yaegi v0.16.1 cannot range over an integer (Go 1.22); write for i := 0; i < n; i++"
	msgRangeFunc = "yaegi v0.16.1 cannot range over a function (Go 1.23 iterators); call it with a yield callback, or collect into a slice"
	msgRangeAny  = "yaegi v0.16.1 cannot range over an integer or a function (Go 1.22/1.23 range forms); use a three-clause for loop or a slice"
	msgBuiltin   = "yaegi v0.16.1 lacks the Go 1.21 builtin "
)

// unsupported reports, as a *CellError named "unsupported", syntax in the
// cell's chunks that yaegi v0.16.1 cannot run and that shows without types:
// ranging over an integer literal or a function literal, and calls of the
// builtins min, max and clear (unless a function of that name is declared).
// Ranging over an integer or function held in a variable is recognized
// after yaegi fails (see explainYaegi).
func unsupported(code string, chunks []chunk, declared func(string) bool) error {
	for _, c := range chunks {
		prefix := "package p\n"
		suffix := ""
		if c.kind == chunkStmt {
			prefix, suffix = "package p;func _(){\n", "\n}"
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, "", prefix+strings.Repeat(" ", c.off)+c.src+suffix, 0)
		if err != nil {
			continue // yaegi reports syntax errors with their position
		}
		local := map[string]bool{}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil {
				local[fd.Name.Name] = true
			}
		}
		var found *CellError
		at := func(pos token.Pos, msg string) *CellError {
			off := fset.Position(pos).Offset - len(prefix)
			return &CellError{Name: ErrUnsupported, Value: "line " + strconv.Itoa(strings.Count(code[:off], "\n")+1) + ": " + msg}
		}
		if c.kind == chunkDecl {
			// var v, ok = m[k] (or x.(T), <-ch) crashes yaegi v0.16.1 with
			// "nil type" at the top level; the statement form is rewritten
			// (see evalCommaOK), the declaration is not.
			for _, d := range f.Decls {
				g, ok := d.(*ast.GenDecl)
				if !ok || g.Tok != token.VAR {
					continue
				}
				for _, sp := range g.Specs {
					vs := sp.(*ast.ValueSpec)
					if len(vs.Names) == 2 && len(vs.Values) == 1 && commaOKExpr(vs.Values[0]) {
						return at(vs.Pos(), "yaegi v0.16.1 cannot declare var "+vs.Names[0].Name+", "+vs.Names[1].Name+" = (comma-ok form) at the top level; write it as a statement ("+vs.Names[0].Name+", "+vs.Names[1].Name+" := ...) or declare each variable and assign them")
					}
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if found != nil {
				return false
			}
			switch n := n.(type) {
			case *ast.RangeStmt:
				switch x := unparen(n.X).(type) {
				case *ast.BasicLit:
					if x.Kind == token.INT {
						found = at(n.Pos(), msgRangeInt)
					}
				case *ast.FuncLit:
					found = at(n.Pos(), msgRangeFunc)
				}
			case *ast.CallExpr:
				if id, ok := n.Fun.(*ast.Ident); ok && (id.Name == "min" || id.Name == "max" || id.Name == "clear") && !local[id.Name] && !declared(id.Name) {
					found = at(n.Pos(), msgBuiltin+id.Name+"; write the comparison or loop out")
				}
			}
			return true
		})
		if found != nil {
			return found
		}
	}
	return nil
}

// explainYaegi rewrites yaegi errors that stand for unsupported syntax.
func explainYaegi(ce *CellError, code string) *CellError {
	if strings.Contains(ce.Value, "nil type") && strings.Contains(code, "range") {
		return &CellError{Name: ErrUnsupported, Value: msgRangeAny + " (yaegi: " + ce.Value + ")", Trace: ce.Trace}
	}
	return ce
}

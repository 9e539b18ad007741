package notebook

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"sort"
	"strconv"
	"strings"
)

// Tags papermill uses for parameter cells.
const (
	TagParameters         = "parameters"
	TagInjectedParameters = "injected-parameters"
)

// paramKind is what InjectParameters knows of a declared parameter.
type paramKind struct {
	isString bool
	isConst  bool
}

// declaredParams parses the parameters cell's declarations: var and const
// declarations (grouped or not) and top-level x := v statements. A
// parameter is a string when declared with type string or initialized with
// a string literal.
func declaredParams(src string) (map[string]paramKind, error) {
	fset := token.NewFileSet()
	// A cell is a file body whose statements may stand at top level; parse
	// it as the body of a function, which accepts both.
	f, err := parser.ParseFile(fset, "parameters", "package p\nfunc _() {\n"+src+"\n}", 0)
	if err != nil {
		return nil, err
	}
	params := map[string]paramKind{}
	isStringExpr := func(e ast.Expr) bool {
		l, ok := e.(*ast.BasicLit)
		return ok && l.Kind == token.STRING
	}
	isStringType := func(e ast.Expr) bool {
		id, ok := e.(*ast.Ident)
		return ok && id.Name == "string"
	}
	for _, st := range f.Decls[0].(*ast.FuncDecl).Body.List {
		switch s := st.(type) {
		case *ast.DeclStmt:
			gd, ok := s.Decl.(*ast.GenDecl)
			if !ok || (gd.Tok != token.VAR && gd.Tok != token.CONST) {
				continue
			}
			for _, sp := range gd.Specs {
				vs := sp.(*ast.ValueSpec)
				for i, n := range vs.Names {
					k := paramKind{isConst: gd.Tok == token.CONST}
					if vs.Type != nil {
						k.isString = isStringType(vs.Type)
					} else if i < len(vs.Values) {
						k.isString = isStringExpr(vs.Values[i])
					}
					params[n.Name] = k
				}
			}
		case *ast.AssignStmt:
			if s.Tok != token.DEFINE {
				continue
			}
			for i, l := range s.Lhs {
				id, ok := l.(*ast.Ident)
				if !ok || id.Name == "_" {
					continue
				}
				k := paramKind{}
				if i < len(s.Rhs) && len(s.Rhs) == len(s.Lhs) {
					k.isString = isStringExpr(s.Rhs[i])
				}
				params[id.Name] = k
			}
		}
	}
	return params, nil
}

// InjectParameters overrides the parameters cell papermill-style: it inserts
// after the cell tagged "parameters" a code cell tagged
// "injected-parameters" (replacing one a previous run inserted) that
// assigns each value. Values are Go expressions; for a parameter declared as
// a string (type string or a string literal), a value that is not already a
// quoted Go string is quoted, so --param name=mnist works. Every name must be
// declared in the parameters cell. No parameters leave nb unchanged.
func InjectParameters(nb *Notebook, params map[string]string) error {
	if len(params) == 0 {
		return nil
	}
	pi := -1
	for i, c := range nb.Cells {
		if c.Type == Code && c.HasTag(TagParameters) {
			pi = i
			break
		}
	}
	if pi < 0 {
		return fmt.Errorf("notebook: parameters given but no code cell is tagged %q", TagParameters)
	}
	declared, err := declaredParams(nb.Cells[pi].Source)
	if err != nil {
		return fmt.Errorf("notebook: parameters cell %d: %w", pi, err)
	}
	names := make([]string, 0, len(params))
	for n := range params {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("// Parameters\n")
	for _, n := range names {
		k, ok := declared[n]
		if !ok {
			return fmt.Errorf("notebook: parameter %q is not declared in the parameters cell (cell %d)", n, pi)
		}
		v := strings.TrimSpace(params[n])
		if k.isString {
			if s, err := strconv.Unquote(v); err != nil || !(strings.HasPrefix(v, `"`) || strings.HasPrefix(v, "`")) {
				v = strconv.Quote(params[n])
			} else {
				v = strconv.Quote(s)
			}
		}
		if _, err := parser.ParseExpr(v); err != nil {
			return fmt.Errorf("notebook: parameter %q: value %q is not a Go expression: %v", n, params[n], err)
		}
		if k.isConst {
			fmt.Fprintf(&b, "const %s = %s\n", n, v)
		} else {
			fmt.Fprintf(&b, "%s = %s\n", n, v)
		}
	}
	cell := &Cell{Type: Code, Source: strings.TrimSuffix(b.String(), "\n"),
		Metadata: map[string]any{"tags": []any{TagInjectedParameters}}}
	if pi+1 < len(nb.Cells) && nb.Cells[pi+1].HasTag(TagInjectedParameters) {
		nb.Cells[pi+1] = cell
		return nil
	}
	nb.Cells = append(nb.Cells[:pi+1], append([]*Cell{cell}, nb.Cells[pi+1:]...)...)
	return nil
}

package interp

import (
	"go/ast"
	"go/token"
	"go/types"
	"strings"
)

// Type switches over a cell's types.
//
// yaegi v0.16.1's type switch picks wrong cases for a cell's types: with
// q of type any holding a Circle, switch q.(type) { case Circle: } takes
// no case when the switch binds no variable, and switch x := q.(type)
// takes none when q was passed as a Shape or a Circle (it compares the
// node types of how the value arrived). The type assertion q.(Circle) is
// right in each of these cases. So a type switch with a case naming a cell
// type becomes an expression switch over assertions:
//
//	switch x := e.(type) { case A: ...; case B, C: ...; case nil: ...; default: ... }
//
// becomes
//
//	{ _qlabTSn := e; switch { case is(A): x := _qlabTSn.(A); _ = x; ...;
//	  case is(B) || is(C): x := _qlabTSn; _ = x; ...;
//	  case _qlabTSn == nil: ...; default: ... } }
//
// with the switch's init statement first in the block, and is(A) written
// func() bool { _, ok := _qlabTSn.(A); return ok }() (a generic helper
// taking _qlabTSn as interface{} would not find a *P in an error). Switches naming
// only types of compiled packages and builtin types stay as they are
// (yaegi gets those right), and so do switches with a labeled break,
// whose label could no longer name the switch. Left as in yaegi: a named
// basic type and its underlying type (Celsius and float64) cannot be told
// apart, by the assertion as by the switch.
// typeSwitches rewrites the type switches of one item (see above).
func (rw *rewriter) typeSwitches(f *cellFile) {
	if rw.info == nil {
		return
	}
	ast.Inspect(f.file, func(n ast.Node) bool {
		if ts, ok := n.(*ast.TypeSwitchStmt); ok {
			rw.typeSwitch(ts)
		}
		return true
	})
}

// typeSwitchNeedsTypes reports whether the cell has a type switch (its
// cases' types decide the rewrite).
func (pc *parsedCell) typeSwitchNeedsTypes() bool {
	found := false
	for _, f := range pc.files {
		ast.Inspect(f.file, func(n ast.Node) bool {
			_, ok := n.(*ast.TypeSwitchStmt)
			found = found || ok
			return !found
		})
	}
	return found
}

func (rw *rewriter) typeSwitch(ts *ast.TypeSwitchStmt) {
	var bound string
	var ta *ast.TypeAssertExpr
	switch a := ts.Assign.(type) {
	case *ast.ExprStmt:
		ta, _ = a.X.(*ast.TypeAssertExpr)
	case *ast.AssignStmt:
		if len(a.Lhs) == 1 && len(a.Rhs) == 1 {
			ta, _ = a.Rhs[0].(*ast.TypeAssertExpr)
			if id, ok := a.Lhs[0].(*ast.Ident); ok {
				bound = id.Name
			}
		}
	}
	if ta == nil {
		return
	}
	cells, labeled := false, false
	ast.Inspect(ts.Body, func(n ast.Node) bool {
		if b, ok := n.(*ast.BranchStmt); ok && b.Label != nil && b.Tok == token.BREAK {
			labeled = true
		}
		return true
	})
	for _, st := range ts.Body.List {
		for _, e := range st.(*ast.CaseClause).List {
			t := rw.typeOf(e)
			if t == nil || !rw.interpretedType(t) {
				continue
			}
			if it, ok := t.Underlying().(*types.Interface); ok && it.Empty() {
				continue
			}
			cells = true
		}
	}
	if !cells || labeled {
		return
	}
	x := rw.text(ta.X)
	if x == "" {
		return
	}
	v := rw.fresh("TS")
	head := "{ "
	if ts.Init != nil {
		init := rw.text(ts.Init)
		if init == "" {
			return
		}
		head += init + "; "
	}
	head += v + " := " + x + "; switch {"
	type clauseEdit struct {
		clause *ast.CaseClause
		cond   string
		bind   string
	}
	var edits []clauseEdit
	for _, st := range ts.Body.List {
		cc := st.(*ast.CaseClause)
		if cc.List == nil {
			edits = append(edits, clauseEdit{clause: cc, bind: v})
			continue
		}
		var conds []string
		single := ""
		for _, e := range cc.List {
			if id, ok := e.(*ast.Ident); ok && id.Name == "nil" {
				if tv, ok := rw.info.Types[e]; ok && tv.IsNil() {
					conds = append(conds, v+" == nil")
					continue
				}
			}
			t := rw.typeOf(e)
			if t == nil {
				return
			}
			s, ok := rw.typeString(t)
			if !ok {
				return
			}
			conds = append(conds, "func() bool { _, ok := "+v+".("+s+"); return ok }()")
			single = s
		}
		bind := v
		if len(cc.List) == 1 && single != "" {
			bind = v + ".(" + single + ")"
		}
		edits = append(edits, clauseEdit{cc, strings.Join(conds, " || "), bind})
	}
	rw.add(ts.Pos(), ts.Body.Lbrace+1, head)
	for _, ce := range edits {
		if ce.cond != "" {
			rw.add(ce.clause.Case, ce.clause.Colon+1, "case "+ce.cond+":")
		}
		if bound != "" && bound != "_" {
			if s := rw.pc.off(ce.clause.Colon + 1); s >= 0 {
				rw.edits = append(rw.edits, edit{s, s, " " + bound + " := " + ce.bind + "; _ = " + bound + ";"})
			}
		}
	}
	if e := rw.pc.off(ts.Body.Rbrace + 1); e >= 0 {
		rw.edits = append(rw.edits, edit{e, e, " }"})
	}
}

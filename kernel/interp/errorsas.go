package interp

import (
	"go/ast"
	"go/types"

	yaegi "github.com/traefik/yaegi/interp"
)

// errors.As and errors.AsType for a cell's types.
//
// Compiled errors.As checks that its target points to an interface or to a
// type implementing error, through reflect: a cell type has no methods in
// reflect (yaegi's types are reflect.StructOf and the like), so errors.As
// with a *MyErr target panics ("*target must be interface or implement
// error"). errors.AsType (Go 1.26) is generic, and generic functions of
// compiled packages have no symbol table. The rewrite calls these
// interpreted versions instead: errors.As when the target's element type
// is interpreted (involves a cell type, or is an interface not declared
// by a compiled package), errors.AsType always. They walk the chain as
// errors.As does (Unwrap() error, Unwrap() []error depth first, As(any)
// bool; see errorTree) with type assertions, which yaegi answers for interpreted types
// (it sees through the wrapper a cell's error gets in compiled code).
const errorsSrc = `
type _qlabErrAs interface{ As(any) bool }

func _qlabErrorsAs[T any](q_err error, q_target *T) bool {
	if q_target == nil {
		panic("errors: target cannot be nil")
	}
	for _, q_e := range _qlabrt.ErrorTree(q_err) {
		if q_t, q_ok := q_e.(T); q_ok {
			*q_target = q_t
			return true
		}
		if q_x, q_ok := q_e.(_qlabErrAs); q_ok && q_x.As(q_target) {
			return true
		}
	}
	return false
}

func _qlabErrorsAsType[E any](q_err error) (E, bool) {
	var q_z E
	for _, q_e := range _qlabrt.ErrorTree(q_err) {
		if q_t, q_ok := q_e.(E); q_ok {
			return q_t, true
		}
		if q_x, q_ok := q_e.(_qlabErrAs); q_ok && q_x.As(&q_z) {
			return q_z, true
		}
	}
	return q_z, false
}
`

// loadRewriteHelpers declares the interpreted helpers that rewritten cells
// call: errors.As and errors.AsType.
func loadRewriteHelpers(yi *yaegi.Interpreter) error {
	_, err := yi.Eval(errorsSrc)
	return err
}

// errorTree is qlabrt.ErrorTree: err and the errors it wraps, in the order
// errors.As visits them (Unwrap() error, and Unwrap() []error depth first).
// Walking the tree in compiled code keeps the interpreted helpers simple:
// in yaegi v0.16.1 a generic function calling itself or another generic
// crashes the compiler, and errors returned by an interpreted interface
// call of a compiled Unwrap lose what lets a type assertion find a cell
// type in them.
func errorTree(err error) []error {
	var out []error
	var walk func(error)
	walk = func(err error) {
		for err != nil {
			out = append(out, err)
			switch u := err.(type) {
			case interface{ Unwrap() error }:
				err = u.Unwrap()
			case interface{ Unwrap() []error }:
				for _, e := range u.Unwrap() {
					walk(e)
				}
				return
			default:
				return
			}
		}
	}
	walk(err)
	return out
}

// errorsCall rewrites a call of errors.As whose target involves a cell
// type, and every call of errors.AsType.
func (rw *rewriter) errorsCall(c *ast.CallExpr) {
	if rw.info == nil {
		return
	}
	switch fun := unparen(c.Fun).(type) {
	case *ast.SelectorExpr:
		if !rw.isErrorsFunc(fun, "As") || len(c.Args) != 2 {
			return
		}
		pt, ok := rw.typeOf(c.Args[1]).(*types.Pointer)
		if !ok || !rw.interpretedType(pt.Elem()) {
			return
		}
		ts, ok := rw.typeString(pt.Elem())
		if !ok {
			return
		}
		rw.add(fun.Pos(), fun.End(), "_qlabErrorsAs["+ts+"]")
	case *ast.IndexExpr:
		sel, ok := fun.X.(*ast.SelectorExpr)
		if !ok || !rw.isErrorsFunc(sel, "AsType") {
			return
		}
		rw.add(sel.Pos(), sel.End(), "_qlabErrorsAsType")
	}
}

// interpretedType reports whether t is a type yaegi interprets (reflect
// does not see its methods): it involves a cell type, or is an interface
// that no compiled package declares (interface{ Timeout() bool }).
func (rw *rewriter) interpretedType(t types.Type) bool {
	if _, isIface := t.Underlying().(*types.Interface); isIface {
		n, named := types.Unalias(t).(*types.Named)
		return !named || n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == "main"
	}
	return rw.fmtInvolves(t)
}

// isErrorsFunc reports whether sel names the function name of package
// errors.
func (rw *rewriter) isErrorsFunc(sel *ast.SelectorExpr, name string) bool {
	if sel.Sel.Name != name {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	if !ok {
		return false
	}
	pn, ok := rw.info.Uses[x].(*types.PkgName)
	return ok && pn.Imported().Path() == "errors"
}

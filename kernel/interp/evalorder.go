package interp

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"strings"
)

// Evaluation order the rewriting pass restores (rewrite.go calls
// evalOrder on each item of a cell), and interface conversions in loops
// (ifaceConversion, at the end of this file).
//
// yaegi v0.16.1 keeps a function's variables in one frame whose slots are
// reused: a block run again (a loop's body) writes the same slots, and
// what yaegi stores for later refers to slots rather than copying values.
// Two cases give results go run does not:
//
//   - defer f(a, b) stores references to the slots of f's arguments and
//     receiver (callBin and call in run.go, deferStmt), so the deferred
//     call reads them when it runs: deferred i in a loop prints the last i,
//     and defer fmt.Println(x) prints x as it is at return. The rewrite
//     evaluates them at the defer statement into the parameters of an
//     immediately called function literal, whose frame is new at each
//     call, and which returns the deferred call as a closure:
//
//     _qlabDs = append(_qlabDs, func(_qlabDa P0, ...) func() { return func() { f(_qlabDa, ...) } }(a, b))
//     defer func() { ...pop the last of _qlabDs and call it... }()
//
//     The closure goes through a slice (a copy, not a slot) and, unless a
//     defer is in the body of a range over a func (see funcBody), each
//     defer statement still registers one real deferred call, so the order
//     with the function's other defers is Go's. _qlabDs is declared at the
//     top of the function. A method's receiver is evaluated as Go does for
//     the method value x.M (x, or &x for a pointer method). Calls of builtins, of generic functions and of
//     cell functions that call recover (which must be the deferred
//     function itself) are left alone, and so is a defer whose call has
//     neither arguments nor (outside loops) a receiver to evaluate.
//
//   - a function literal passed to a compiled function or method (wg.Go,
//     time.AfterFunc) is wrapped by yaegi around the live frame of the
//     caller (genFunctionWrapper), not around a copy made when the literal
//     is evaluated (getFunc, as for a closure kept by interpreted code), so
//     it reads a loop's variables when it runs rather than the copy of its
//     iteration. Inside a loop body such a literal becomes
//     func() T { return lit }(), which makes the closure the interpreted
//     way.

// evalOrderNeedsTypes reports whether a defer statement of the cell has
// arguments or a receiver to evaluate early (the rewrite needs the
// callee's signature), or a loop body passes a function literal to a call
// of a method or of a package's function (compiled or not shows in types).
func (pc *parsedCell) evalOrderNeedsTypes() bool {
	need := false
	for _, f := range pc.files {
		ast.Inspect(f.file, func(n ast.Node) bool {
			if need {
				return false
			}
			var body *ast.BlockStmt
			switch n := n.(type) {
			case *ast.DeferStmt:
				// Arguments, or a receiver (value receivers are copied).
				_, sel := unparen(n.Call.Fun).(*ast.SelectorExpr)
				need = len(n.Call.Args) > 0 || sel
			case *ast.ForStmt:
				body = n.Body
			case *ast.RangeStmt:
				body = n.Body
			}
			if body != nil {
				need = hasFuncLitArg(body) || hasAddrOf(body)
			}
			return !need
		})
	}
	return need
}

// hasFuncLitArg reports whether a call with a function literal argument is
// in n.
func hasFuncLitArg(n ast.Node) bool {
	found := false
	ast.Inspect(n, func(m ast.Node) bool {
		if c, ok := m.(*ast.CallExpr); ok {
			for _, a := range c.Args {
				if _, ok := a.(*ast.FuncLit); ok {
					found = true
				}
			}
		}
		return !found
	})
	return found
}

// hasAddrOf reports whether n takes an address (&x, &T{}): a pointer a
// loop body may convert to an interface (ifaceConversion).
func hasAddrOf(n ast.Node) bool {
	found := false
	ast.Inspect(n, func(m ast.Node) bool {
		if u, ok := m.(*ast.UnaryExpr); ok && u.Op == token.AND {
			found = true
		}
		return !found
	})
	return found
}

// evalOrder rewrites the defer statements and the function literals passed
// to compiled code of one item (see the comment above).
func (rw *rewriter) evalOrder(f *cellFile) {
	if rw.info == nil {
		return
	}
	ast.Inspect(f.file, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncDecl:
			if n.Body != nil {
				rw.funcBody(n.Body)
			}
		case *ast.FuncLit:
			rw.funcBody(n.Body)
		}
		return true
	})
}

// funcBody rewrites what belongs to one function body (not to the function
// literals in it, which evalOrder visits on their own).
func (rw *rewriter) funcBody(body *ast.BlockStmt) {
	// A defer in the body of a range over a func would be the yield
	// function's (rangeStmt makes the body one): then every defer of the
	// function goes to _qlabDs, which one deferred call registered first
	// runs, last in first out.
	manual := false
	var scan func(n ast.Node, inFuncRange bool)
	scan = func(n ast.Node, inFuncRange bool) {
		ast.Inspect(n, func(m ast.Node) bool {
			if m == n {
				return true
			}
			switch m := m.(type) {
			case *ast.FuncLit:
				return false
			case *ast.RangeStmt:
				scan(m.Body, inFuncRange || rw.isFuncRange(m))
				return false
			case *ast.DeferStmt:
				manual = manual || inFuncRange
			}
			return true
		})
	}
	scan(body, false)
	deferred := false
	var walk func(n ast.Node, inLoop bool)
	walk = func(n ast.Node, inLoop bool) {
		ast.Inspect(n, func(m ast.Node) bool {
			if m == n {
				return true
			}
			switch m := m.(type) {
			case *ast.FuncLit:
				return false
			case *ast.ForStmt:
				walk(m.Body, true)
				return false
			case *ast.RangeStmt:
				walk(m.Body, true)
				return false
			case *ast.DeferStmt:
				if rw.deferStmt(m, inLoop, manual) {
					deferred = true
				} else if manual {
					rw.deferLater(m)
				}
			case *ast.CallExpr:
				if inLoop {
					rw.funcLitArgs(m)
					rw.ifaceCallArgs(m)
				}
			case *ast.AssignStmt:
				if inLoop && len(m.Lhs) == len(m.Rhs) {
					for i, r := range m.Rhs {
						rw.ifaceConversion(r, rw.typeOf(m.Lhs[i]))
					}
				}
			case *ast.ValueSpec:
				if inLoop && m.Type != nil && len(m.Names) == len(m.Values) {
					for _, v := range m.Values {
						rw.ifaceConversion(v, rw.typeOf(m.Type))
					}
				}
			case *ast.CompositeLit:
				if inLoop {
					rw.ifaceElems(m)
				}
			}
			return true
		})
	}
	walk(body, false)
	if s := rw.pc.off(body.Lbrace + 1); s >= 0 && (deferred || manual) {
		decl := " var _qlabDs []func();"
		if manual {
			decl += " defer _qlabrt.RunDeferred(&_qlabDs);"
		}
		rw.edits = append(rw.edits, edit{s, s, decl})
	}
}

// runDeferred is qlabrt.RunDeferred: the deferred calls in *ds, last
// first, each run even when one before it panics (the first panic goes
// on, as Go's would).
func runDeferred(ds *[]func()) {
	for len(*ds) > 0 {
		f := (*ds)[len(*ds)-1]
		*ds = (*ds)[:len(*ds)-1]
		defer runDeferred(ds)
		f()
		return
	}
}

// deferLater turns defer f(args) into an append to _qlabDs of a closure
// making the call (the arguments are read when it runs, as yaegi's defer
// of them would).
func (rw *rewriter) deferLater(d *ast.DeferStmt) {
	e := rw.pc.off(d.Call.End())
	if e < 0 {
		return
	}
	rw.add(d.Pos(), d.Call.Pos(), "_qlabDs = append(_qlabDs, func() func() { return func() { ")
	rw.edits = append(rw.edits, edit{e, e, " } }())"})
}

// deferPop is the deferred call that runs the last closure of _qlabDs.
const deferPop = "; defer func() { _qlabDf := _qlabDs[len(_qlabDs)-1]; _qlabDs = _qlabDs[:len(_qlabDs)-1]; _qlabDf() }()"

// deferStmt rewrites d when its call has arguments or a receiver to
// evaluate now. It reports whether it did. manual: the function's defers
// all go to _qlabDs (see funcBody), no deferred call of its own.
func (rw *rewriter) deferStmt(d *ast.DeferStmt, inLoop, manual bool) bool {
	c := d.Call
	fun := unparen(c.Fun)
	var id *ast.Ident
	var recv ast.Expr // the receiver of a method call
	switch fn := fun.(type) {
	case *ast.Ident:
		id = fn
	case *ast.SelectorExpr:
		id = fn.Sel
		if sel, ok := rw.info.Selections[fn]; ok && sel.Kind() == types.MethodVal {
			recv = fn.X
		}
	case *ast.IndexExpr, *ast.IndexListExpr:
		return false // a generic function's instance
	default:
		return false // a function literal or a computed function
	}
	if _, ok := rw.info.Instances[id]; ok {
		return false
	}
	switch obj := rw.info.Uses[id].(type) {
	case *types.Builtin, *types.TypeName, nil:
		return false
	case *types.Func:
		if obj.Pkg() != nil && obj.Pkg().Path() == "main" && rw.callsRecover(obj.Name()) {
			return false
		}
	}
	// What the defer statement has to evaluate.
	early := false
	for _, a := range c.Args {
		if tv, ok := rw.info.Types[a]; !ok || tv.Value == nil && !tv.IsNil() {
			early = true
		}
	}
	if recv != nil && (inLoop || rw.valueMethod(id, recv)) {
		// A receiver changes between the defer statement and the return in
		// a loop; a value receiver is copied by the defer statement.
		early = true
	}
	if !early {
		return false
	}
	sig, ok := rw.typeOf(fun).(*types.Signature)
	if !ok || sig.TypeParams().Len() > 0 {
		return false
	}
	callee := rw.text(fun)
	if callee == "" {
		return false
	}
	var params, names []string
	recvArg := ""
	if recv != nil {
		// The receiver, as Go evaluates it for the method value x.M: x,
		// &x for a pointer method of an addressable x, *x for a value
		// method of a pointer x.
		rt := rw.typeOf(recv)
		m, ok := rw.info.Uses[id].(*types.Func)
		if rt == nil || !ok {
			return false
		}
		recvArg = rw.text(recv)
		p, isPtr := rt.Underlying().(*types.Pointer)
		if ms, ok := m.Type().(*types.Signature); ok && ms.Recv() != nil && !types.IsInterface(rt) {
			_, ptrMethod := ms.Recv().Type().(*types.Pointer)
			switch {
			case ptrMethod && !isPtr:
				rt = types.NewPointer(rt)
				recvArg = "&(" + recvArg + ")"
			case !ptrMethod && isPtr:
				rt = p.Elem()
				recvArg = "*(" + recvArg + ")"
			}
		}
		ts, ok := rw.typeString(rt)
		if !ok || recvArg == "" {
			return false
		}
		params = append(params, "_qlabDr "+ts)
		callee = "_qlabDr." + id.Name
	}
	for i := 0; i < sig.Params().Len(); i++ {
		t := sig.Params().At(i).Type()
		dots := ""
		if sig.Variadic() && i == sig.Params().Len()-1 {
			t = t.(*types.Slice).Elem()
			dots = "..."
		}
		ts, ok := rw.typeString(t)
		if !ok {
			return false
		}
		name := fmt.Sprintf("_qlabDa%d", i)
		params = append(params, name+" "+dots+ts)
		names = append(names, name+dots)
	}
	// The call's argument list stays where it is, so that other rewrites
	// inside the arguments apply; the receiver moves into it.
	head := "_qlabDs = append(_qlabDs, func(" + strings.Join(params, ", ") + ") func() { return func() { " +
		callee + "(" + strings.Join(names, ", ") + ") } }"
	if recv != nil {
		head += "(" + recvArg
		if len(c.Args) > 0 {
			head += ", "
		}
		rw.add(d.Pos(), c.Lparen+1, head)
	} else {
		rw.add(d.Pos(), c.Lparen, head)
	}
	if e := rw.pc.off(c.End()); e >= 0 {
		if manual {
			rw.edits = append(rw.edits, edit{e, e, ")"})
		} else {
			rw.edits = append(rw.edits, edit{e, e, ")" + deferPop})
		}
	}
	return true
}

// valueMethod reports whether the method id called on recv has a value
// receiver (and recv is not an interface).
func (rw *rewriter) valueMethod(id *ast.Ident, recv ast.Expr) bool {
	m, ok := rw.info.Uses[id].(*types.Func)
	rt := rw.typeOf(recv)
	if !ok || rt == nil || types.IsInterface(rt) {
		return false
	}
	ms, ok := m.Type().(*types.Signature)
	if !ok || ms.Recv() == nil {
		return false
	}
	_, ptr := ms.Recv().Type().(*types.Pointer)
	return !ptr
}

// callsRecover reports whether a cell function or method called name
// (declared by this cell or an earlier one) calls recover: deferred through
// a closure, its recover would no longer stop the panic.
func (rw *rewriter) callsRecover(name string) bool {
	for _, f := range rw.pc.files {
		for _, d := range f.file.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == name && strings.Contains(rw.text(fd), "recover(") {
				return true
			}
		}
	}
	for key, src := range rw.sess.decls {
		if (key == name || strings.HasSuffix(key, "."+name)) && strings.Contains(src, "recover(") {
			return true
		}
	}
	return false
}

// funcLitArgs makes the function literals that c passes to a compiled
// function or method closures made the interpreted way (see above).
func (rw *rewriter) funcLitArgs(c *ast.CallExpr) {
	lits := false
	for _, a := range c.Args {
		if _, ok := a.(*ast.FuncLit); ok {
			lits = true
		}
	}
	if !lits || !rw.compiledCallee(c) {
		return
	}
	for _, a := range c.Args {
		lit, ok := a.(*ast.FuncLit)
		if !ok {
			continue
		}
		ft := rw.text(lit.Type)
		s, e := rw.pc.off(lit.Pos()), rw.pc.off(lit.End())
		if ft == "" || s < 0 || e < 0 {
			continue
		}
		rw.edits = append(rw.edits, edit{s, s, "func() " + ft + " { return "}, edit{e, e, " }()"})
	}
}

// compiledCallee reports whether c calls a function or method of a compiled
// package (not a cell's, nor one of the interpreted generic sources).
func (rw *rewriter) compiledCallee(c *ast.CallExpr) bool {
	sel, ok := unparen(c.Fun).(*ast.SelectorExpr)
	if !ok {
		return false
	}
	fn, ok := rw.info.Uses[sel.Sel].(*types.Func)
	if !ok || fn.Pkg() == nil {
		return false
	}
	switch fn.Pkg().Path() {
	case "main", "iter", "slices", "maps", "cmp":
		return false
	}
	return true
}

// A pointer expression converted to an interface in a loop body
// (append(shapes, &Rect{id}) to a []Shape) gives, in yaegi v0.16.1, an
// interface value referring to a frame slot that the next iteration
// overwrites: every element ends up the last one. Converted inside a
// function literal called there, func() Shape { return &Rect{id} }(), the
// slot is the call's own. Only conversions in interpreted code are
// concerned (a compiled function's interface parameter gets a copy).

// ifaceConversion wraps e when it is a pointer expression other than a
// name converted to the interface type to.
func (rw *rewriter) ifaceConversion(e ast.Expr, to types.Type) {
	if to == nil || !types.IsInterface(to) {
		return
	}
	if _, isName := unparen(e).(*ast.Ident); isName {
		return
	}
	t := rw.typeOf(e)
	if t == nil {
		return
	}
	if _, ptr := t.Underlying().(*types.Pointer); !ptr {
		return
	}
	ts, ok := rw.typeString(to)
	if !ok {
		return
	}
	s, end := rw.pc.off(e.Pos()), rw.pc.off(e.End())
	if s < 0 || end < 0 {
		return
	}
	rw.edits = append(rw.edits, edit{s, s, "func() " + ts + " { return "}, edit{end, end, " }()"})
}

// ifaceCallArgs wraps the arguments of a call of append or of a cell's
// function that go to interface parameters.
func (rw *rewriter) ifaceCallArgs(c *ast.CallExpr) {
	if c.Ellipsis.IsValid() {
		return
	}
	if tv, ok := rw.info.Types[c.Fun]; ok && tv.IsType() {
		if len(c.Args) == 1 {
			rw.ifaceConversion(c.Args[0], tv.Type) // Shape(&Rect{})
		}
		return
	}
	switch fn := unparen(c.Fun).(type) {
	case *ast.Ident:
		switch obj := rw.info.Uses[fn].(type) {
		case *types.Builtin:
			if obj.Name() != "append" {
				return
			}
		case *types.Func:
			if obj.Pkg() == nil || obj.Pkg().Path() != "main" {
				return
			}
		default:
			return
		}
	case *ast.SelectorExpr:
		obj, ok := rw.info.Uses[fn.Sel].(*types.Func)
		if !ok || obj.Pkg() == nil || obj.Pkg().Path() != "main" {
			return
		}
	default:
		return
	}
	sig, ok := rw.typeOf(c.Fun).(*types.Signature)
	if !ok {
		return
	}
	n := sig.Params().Len()
	for i, a := range c.Args {
		var pt types.Type
		switch {
		case sig.Variadic() && i >= n-1:
			sl, ok := sig.Params().At(n - 1).Type().(*types.Slice)
			if !ok {
				return
			}
			pt = sl.Elem()
		case i < n:
			pt = sig.Params().At(i).Type()
		default:
			return
		}
		rw.ifaceConversion(a, pt)
	}
}

// ifaceElems wraps the elements of a composite literal of a slice, array
// or map of interfaces.
func (rw *rewriter) ifaceElems(cl *ast.CompositeLit) {
	t := rw.typeOf(cl)
	if t == nil {
		return
	}
	var elem types.Type
	switch u := t.Underlying().(type) {
	case *types.Slice:
		elem = u.Elem()
	case *types.Array:
		elem = u.Elem()
	case *types.Map:
		elem = u.Elem()
	default:
		return
	}
	for _, e := range cl.Elts {
		if kv, ok := e.(*ast.KeyValueExpr); ok {
			e = kv.Value
		}
		rw.ifaceConversion(e, elem)
	}
}

package interp

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/token"
	"go/types"
	"strconv"
	"strings"
)

// fmtFuncs are the print functions whose operands the rewrite describes
// (see fmtvalue.go), with the index of their format argument (-1: none) and
// of their first operand.
var fmtFuncs = map[string][2]int{
	"fmt.Print": {-1, 0}, "fmt.Println": {-1, 0}, "fmt.Printf": {0, 1},
	"fmt.Sprint": {-1, 0}, "fmt.Sprintln": {-1, 0}, "fmt.Sprintf": {0, 1},
	"fmt.Fprint": {-1, 1}, "fmt.Fprintln": {-1, 1}, "fmt.Fprintf": {1, 2},
	"fmt.Append": {-1, 1}, "fmt.Appendln": {-1, 1}, "fmt.Appendf": {1, 2},
	"fmt.Errorf": {0, 1},
	"log.Print":  {-1, 0}, "log.Println": {-1, 0}, "log.Printf": {0, 1},
	"log.Fatal": {-1, 0}, "log.Fatalln": {-1, 0}, "log.Fatalf": {0, 1},
	"log.Panic": {-1, 0}, "log.Panicln": {-1, 0}, "log.Panicf": {0, 1},
}

// fmtNeedsTypes reports whether the cell calls a print function with an
// operand that is not a literal (its type might be a cell's), or
// errors.As or errors.AsType.
// Print calls matter only when the session or the cell declares a type
// (cellTypes): a session without types skips the checker for them.
func (pc *parsedCell) fmtNeedsTypes(sessionTypes bool) bool {
	printTypes := sessionTypes || pc.declaresType()
	need := false
	for _, f := range pc.files {
		ast.Inspect(f.file, func(n ast.Node) bool {
			if need {
				return false
			}
			c, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			fun := c.Fun
			if ix, ok := fun.(*ast.IndexExpr); ok {
				fun = ix.X
			}
			sel, ok := fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			x, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			if x.Name == "errors" && (sel.Sel.Name == "As" || sel.Sel.Name == "AsType") {
				need = true
				return false
			}
			p := pc.imports[x.Name]
			if p == "" {
				p = x.Name // an earlier cell's import of the usual name
			}
			fi, ok := fmtFuncs[p+"."+sel.Sel.Name]
			if !ok || !printTypes {
				return true
			}
			for i := fi[1]; i < len(c.Args); i++ {
				if _, lit := c.Args[i].(*ast.BasicLit); !lit {
					need = true
				}
			}
			return !need
		})
	}
	return need
}

// libraryCalls rewrites the calls of one item that compiled fmt and
// errors would get wrong with a cell's types: the operands of print
// functions (fmtCall) and errors.As and errors.AsType (errorsCall).
func (rw *rewriter) libraryCalls(f *cellFile) {
	if rw.info == nil {
		return
	}
	ast.Inspect(f.file, func(n ast.Node) bool {
		if c, ok := n.(*ast.CallExpr); ok {
			rw.fmtCall(c)
			rw.errorsCall(c)
		}
		return true
	})
}

// declaresType reports whether the cell declares a type at its top level.
func (pc *parsedCell) declaresType() bool {
	for _, f := range pc.files {
		if f.item.kind != chunkDecl {
			continue
		}
		for _, d := range f.file.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.TYPE {
				return true
			}
		}
	}
	return false
}

// hasTypes reports whether an earlier cell declared a type.
func (s *typeSession) hasTypes() bool {
	for _, src := range s.decls {
		if strings.HasPrefix(src, "type ") {
			return true
		}
	}
	return false
}

// fmtCall describes the operands of a call of a print function whose types
// involve cell types.
func (rw *rewriter) fmtCall(c *ast.CallExpr) {
	if rw.info == nil || c.Ellipsis.IsValid() {
		return
	}
	sel, ok := c.Fun.(*ast.SelectorExpr)
	if !ok {
		return
	}
	fn, ok := rw.info.Uses[sel.Sel].(*types.Func)
	if !ok || fn.Pkg() == nil || fn.Type().(*types.Signature).Recv() != nil {
		return
	}
	fi, ok := fmtFuncs[fn.Pkg().Path()+"."+fn.Name()]
	if !ok || len(c.Args) <= fi[1] {
		return
	}
	cellTypes := rw.cellTypes()
	if len(cellTypes) == 0 {
		return
	}
	// The verbs of a constant format: %T gets the name, %w keeps the
	// error as it is.
	var verbs map[int][]rune
	var lit *ast.BasicLit
	if fi[0] >= 0 {
		tv := rw.info.Types[c.Args[fi[0]]]
		if tv.Value == nil || tv.Value.Kind() != constant.String {
			if fn.Name() == "Errorf" {
				return // which operand %w takes is unknown
			}
		} else {
			verbs = formatVerbs(constant.StringVal(tv.Value))
			lit, _ = unparen(c.Args[fi[0]]).(*ast.BasicLit)
		}
	}
	var typeVerbs []int // operands printed with %T
	for i := fi[1]; i < len(c.Args); i++ {
		a := c.Args[i]
		t := rw.typeOf(a)
		if t == nil || !rw.fmtInvolves(t) {
			continue
		}
		op := i - fi[1]
		skip, asType := false, false
		for _, v := range verbs[op] {
			skip = skip || v == 'w'
			asType = asType || v == 'T'
		}
		if skip {
			continue
		}
		if fi[0] < 0 && fn.Name() != "Println" && fn.Name() != "Sprintln" && fn.Name() != "Fprintln" && fn.Name() != "Appendln" {
			// Print adds spaces between operands that are not strings:
			// a string-kinded operand stays as it is.
			if b, ok := t.Underlying().(*types.Basic); ok && b.Info()&types.IsString != 0 {
				continue
			}
		}
		// The operand goes into open ... close.
		var open, close string
		if iface, isIface := t.Underlying().(*types.Interface); isIface {
			dyn, ok := rw.fmtDynamic(iface, cellTypes)
			if !ok || dyn == "" {
				continue
			}
			open, close = "_qlabrt.FmtAny(", dyn+")"
		} else {
			desc, ok := rw.fmtDesc(t, cellTypes, map[types.Type]bool{})
			if !ok || desc == "nil" {
				continue
			}
			open, close = "_qlabrt.Fmt(", ", "+desc+")"
		}
		s, e := rw.pc.off(a.Pos()), rw.pc.off(a.End())
		if s < 0 || e < 0 {
			continue
		}
		if asType {
			if lit == nil || len(verbs[op]) != 1 {
				continue
			}
			typeVerbs = append(typeVerbs, op)
			open, close = "_qlabrt.TypeName("+open, close+")"
		}
		rw.edits = append(rw.edits, edit{s, s, open}, edit{e, e, close})
	}
	if len(typeVerbs) > 0 {
		rw.retypeFormat(lit, typeVerbs)
	}
}

// retypeFormat rewrites the %T verbs of the format literal lit that take
// the operands ops into %v (their operands become type names).
func (rw *rewriter) retypeFormat(lit *ast.BasicLit, ops []int) {
	format, err := strconv.Unquote(lit.Value)
	if err != nil {
		return
	}
	want := map[int]bool{}
	for _, o := range ops {
		want[o] = true
	}
	var b strings.Builder
	last := 0
	for _, v := range scanVerbs(format) {
		if v.verb == 'T' && want[v.arg] {
			b.WriteString(format[last:v.at])
			b.WriteByte('v')
			last = v.at + 1
		}
	}
	b.WriteString(format[last:])
	text := strconv.Quote(b.String())
	if lit.Value[0] == '`' && !strings.Contains(b.String(), "`") {
		text = "`" + b.String() + "`"
	} else if strings.Contains(lit.Value, "\n") {
		return // a raw literal over several lines would lose its lines
	}
	rw.add(lit.Pos(), lit.End(), text)
}

// fmtVerb is one verb of a format: its byte offset, and the operand it
// prints.
type fmtVerb struct {
	at   int
	verb rune
	arg  int
}

// scanVerbs finds the verbs of a format as fmt's doPrintf reads them
// (flags, [n] argument indexes, * widths and precisions).
func scanVerbs(format string) []fmtVerb {
	var out []fmtVerb
	arg := 0
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		// flags
		for i < len(format) && strings.IndexByte("+-# 0", format[i]) >= 0 {
			i++
		}
		index := func() {
			if i < len(format) && format[i] == '[' {
				j := strings.IndexByte(format[i:], ']')
				if j > 0 {
					if n, err := strconv.Atoi(format[i+1 : i+j]); err == nil && n > 0 {
						arg = n - 1
					}
					i += j + 1
				}
			}
		}
		// width or precision: * takes an operand, digits do not.
		number := func() {
			index()
			if i < len(format) && format[i] == '*' {
				arg++
				i++
				return
			}
			for i < len(format) && format[i] >= '0' && format[i] <= '9' {
				i++
			}
		}
		number()
		if i < len(format) && format[i] == '.' {
			i++
			number()
		}
		index()
		if i >= len(format) {
			break
		}
		if format[i] == '%' {
			continue
		}
		r := rune(format[i])
		out = append(out, fmtVerb{at: i, verb: r, arg: arg})
		arg++
	}
	return out
}

// formatVerbs maps each operand to the verbs that print it.
func formatVerbs(format string) map[int][]rune {
	m := map[int][]rune{}
	for _, v := range scanVerbs(format) {
		m[v.arg] = append(m[v.arg], v.verb)
	}
	return m
}

// cellTypes returns the named types declared at the cell's top level (and
// by earlier cells) that printing describes: not generic, not aliases.
func (rw *rewriter) cellTypes() []*types.Named {
	if rw.fmtTypes != nil {
		return *rw.fmtTypes
	}
	var out []*types.Named
	for id, obj := range rw.info.Defs {
		tn, ok := obj.(*types.TypeName)
		if !ok || tn.IsAlias() || tn.Pkg() == nil || tn.Parent() != tn.Pkg().Scope() || id.Name == "_" {
			continue
		}
		n, ok := tn.Type().(*types.Named)
		if !ok || n.TypeParams().Len() > 0 {
			continue
		}
		out = append(out, n)
	}
	// Declaration order, for a stable switch.
	sortNamed(out)
	rw.fmtTypes = &out
	return out
}

func sortNamed(ns []*types.Named) {
	for i := 1; i < len(ns); i++ {
		for j := i; j > 0 && ns[j].Obj().Pos() < ns[j-1].Obj().Pos(); j-- {
			ns[j], ns[j-1] = ns[j-1], ns[j]
		}
	}
}

// fmtInvolves reports whether printing a value of static type t needs a
// description: t involves a cell type, or is an empty or cell-declared
// interface (whose dynamic type may be a cell type).
func (rw *rewriter) fmtInvolves(t types.Type) bool {
	seen := map[types.Type]bool{}
	var walk func(t types.Type) bool
	walk = func(t types.Type) bool {
		if seen[t] {
			return false
		}
		seen[t] = true
		switch t := t.(type) {
		case *types.Named:
			if t.Obj().Pkg() != nil && t.Obj().Pkg().Path() == "main" {
				return true
			}
			return false
		case *types.Alias:
			return walk(types.Unalias(t))
		case *types.Pointer:
			return walk(t.Elem())
		case *types.Slice:
			return walk(t.Elem())
		case *types.Array:
			return walk(t.Elem())
		case *types.Map:
			return walk(t.Key()) || walk(t.Elem())
		case *types.Struct:
			for i := 0; i < t.NumFields(); i++ {
				if walk(t.Field(i).Type()) {
					return true
				}
			}
		case *types.Interface:
			return t.Empty()
		}
		return false
	}
	return walk(t)
}

// fmtDesc writes the FmtType of t as an expression of the cell ("nil" when
// compiled fmt needs none). ok is false when a type cannot be named.
func (rw *rewriter) fmtDesc(t types.Type, cells []*types.Named, seen map[types.Type]bool) (string, bool) {
	t = types.Unalias(t)
	if !rw.fmtInvolves(t) || seen[t] {
		return "nil", true
	}
	seen[t] = true
	defer delete(seen, t)
	var fields []string
	name := types.TypeString(t, func(p *types.Package) string { return p.Name() })
	name = plainGenerations(name) // an earlier definition of a redefined type (redefine.go) prints as go run names it
	if _, isIface := t.Underlying().(*types.Interface); !isIface {
		fields = append(fields, "Name: "+strconv.Quote(name))
	}
	// Methods of t's method set that fmt uses, through the adapters
	// declared with them (fmtAdapters); promoted methods have none.
	var recv *types.Named
	ptr := false
	switch x := t.(type) {
	case *types.Named:
		recv = x
	case *types.Pointer:
		recv, _ = x.Elem().(*types.Named)
		ptr = true
	}
	if recv != nil && recv.Obj().Pkg() != nil && recv.Obj().Pkg().Path() == "main" && recv.TypeParams().Len() == 0 {
		ms := types.NewMethodSet(t)
		for _, m := range fmtMethods {
			sel := ms.Lookup(recv.Obj().Pkg(), m.name)
			if sel == nil || len(sel.Index()) != 1 {
				continue
			}
			if types.TypeString(sel.Type(), func(p *types.Package) string { return p.Name() }) != m.sig {
				continue
			}
			fields = append(fields, m.name+": "+adapterName(recv.Obj().Name(), m.name, ptr))
		}
	}
	sub := func(label string, t types.Type) bool {
		d, ok := rw.fmtDesc(t, cells, seen)
		if !ok {
			return false
		}
		if d != "nil" {
			fields = append(fields, label+": "+d)
		}
		return true
	}
	switch u := t.Underlying().(type) {
	case *types.Pointer:
		if !sub("Elem", u.Elem()) {
			return "", false
		}
	case *types.Slice:
		if !sub("Elem", u.Elem()) {
			return "", false
		}
	case *types.Array:
		if !sub("Elem", u.Elem()) {
			return "", false
		}
	case *types.Map:
		if !sub("Key", u.Key()) || !sub("Elem", u.Elem()) {
			return "", false
		}
	case *types.Struct:
		var fs []string
		for i := 0; i < u.NumFields(); i++ {
			f := u.Field(i)
			d, ok := rw.fmtDesc(f.Type(), cells, seen)
			if !ok {
				return "", false
			}
			fs = append(fs, "{"+strconv.Quote(f.Name())+", "+d+"}")
		}
		fields = append(fields, "Fields: []_qlabrt.FmtField{"+strings.Join(fs, ", ")+"}")
	case *types.Interface:
		// Inside another type: printed as compiled fmt prints the dynamic
		// value (an operand of interface type goes through fmtDynamic).
		return "nil", true
	}
	return "&_qlabrt.FmtType{" + strings.Join(fields, ", ") + "}", true
}

// fmtDynamic writes the arguments after the operand of qlabrt.FmtAny for
// an operand of interface type iface: the FmtType of each cell type (and
// pointer to one) that implements iface, with its zero value. Named basic
// types are left out: their reflect type is their underlying type's.
// "" when no cell type is left.
func (rw *rewriter) fmtDynamic(iface *types.Interface, cells []*types.Named) (string, bool) {
	var b strings.Builder
	for _, named := range cells {
		switch named.Underlying().(type) {
		case *types.Interface, *types.Basic:
			continue
		}
		for _, t := range []types.Type{named, types.NewPointer(named)} {
			if !types.Implements(t, iface) {
				continue
			}
			ts, ok := rw.typeString(t)
			if !ok {
				continue
			}
			d, ok := rw.fmtDesc(t, cells, map[types.Type]bool{})
			if !ok || !strings.HasSuffix(d, "}") {
				continue
			}
			b.WriteString(", " + strings.TrimSuffix(d, "}") + ", Zero: *new(" + ts + ")}")
		}
	}
	return b.String(), true
}

// fmtMethods are the methods fmt calls, with their signatures.
var fmtMethods = []struct{ name, sig string }{
	{"Error", "func() string"},
	{"String", "func() string"},
	{"GoString", "func() string"},
	{"Format", "func(f fmt.State, verb rune)"},
}

// adapterName is the adapter of method m of the cell type named typ (of
// *typ when ptr).
func adapterName(typ, m string, ptr bool) string {
	if ptr {
		return "_qlabMP_" + typ + "_" + m
	}
	return "_qlabM_" + typ + "_" + m
}

// fmtAdapters declares, after each method a print function uses (String,
// Error, GoString, Format with their usual signatures), a function that
// calls it on an interface{} holding the receiver: what qlabrt.Fmt's
// FmtTypes call. They are declared functions rather than closures made at
// each print (a closure made at a cell's top level keeps the cell's frame
// slots, memory.go) or method expressions (yaegi v0.16.1's drop their
// results). A value method gets an adapter for T and for *T.
func (rw *rewriter) fmtAdapters(f *cellFile) {
	if f.item.kind != chunkDecl {
		return
	}
	for _, d := range f.file.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Recv == nil || len(fd.Recv.List) != 1 || !fmtSignature(fd) {
			continue
		}
		rt := fd.Recv.List[0].Type
		ptr := false
		if st, ok := rt.(*ast.StarExpr); ok {
			rt, ptr = st.X, true
		}
		id, ok := rt.(*ast.Ident)
		if !ok {
			continue // a generic receiver
		}
		m := fd.Name.Name
		var b strings.Builder
		for _, p := range []bool{false, true} {
			if ptr && !p {
				continue
			}
			ts := id.Name
			if p {
				ts = "*" + ts
			}
			name := adapterName(id.Name, m, p)
			if m == "Format" {
				fmt.Fprintf(&b, "; func %s(q interface{}, s _qlabrt.State, c rune) { q.(%s).Format(s, c) }", name, ts)
			} else {
				fmt.Fprintf(&b, "; func %s(q interface{}) string { return q.(%s).%s() }", name, ts, m)
			}
		}
		if e := rw.pc.off(fd.End()); e >= 0 {
			rw.edits = append(rw.edits, edit{e, e, b.String()})
		}
	}
}

// fmtSignature reports whether fd has the signature of one of fmtMethods.
func fmtSignature(fd *ast.FuncDecl) bool {
	ft := fd.Type
	nres := 0
	if ft.Results != nil {
		nres = ft.Results.NumFields()
	}
	switch fd.Name.Name {
	case "String", "Error", "GoString":
		if ft.Params.NumFields() != 0 || nres != 1 {
			return false
		}
		id, ok := ft.Results.List[0].Type.(*ast.Ident)
		return ok && id.Name == "string"
	case "Format":
		if ft.Params.NumFields() != 2 || nres != 0 {
			return false
		}
		var ptypes []ast.Expr
		for _, f := range ft.Params.List {
			for n := max(1, len(f.Names)); n > 0; n-- {
				ptypes = append(ptypes, f.Type)
			}
		}
		sel, ok := ptypes[0].(*ast.SelectorExpr)
		r, ok2 := ptypes[1].(*ast.Ident)
		return ok && ok2 && sel.Sel.Name == "State" && r.Name == "rune"
	}
	return false
}

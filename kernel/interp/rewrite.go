package interp

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// The rewriting pass: before a cell is split and evaluated, its text is
// rewritten into Go that yaegi v0.16.1 runs the way the Go toolchain runs
// the original. Rewrites are text edits at the cell's byte offsets that
// keep every line where it was, so positions in errors stay the cell's.
// Those that depend on types (what a range ranges over, a generic call's
// type arguments, the type of min's result) use go/types on the cell
// together with the declarations of earlier cells (typeSession), with
// packages imported from the interpreter's own symbol tables
// (typesimport.go). A cell the type checker cannot fully type (an error,
// an unknown package) is rewritten where types are known and left alone
// elsewhere; yaegi then reports what it cannot run.
//
// What is rewritten:
//   - for i := range n (n an integer): a three-clause loop over n's type;
//   - for k, v := range f (f a func(yield func(K, V) bool)): a call of f
//     with the body as the yield function; break, continue and return in
//     the body become returns of the yield function, with return values
//     carried out through variables;
//   - min, max and clear: calls of compiled helpers (package qlabrt), or
//     the constant for constant arguments;
//   - a call of a generic function declared in a cell or of the
//     interpreted iter, slices and maps: explicit type arguments, from the
//     type checker's inference (yaegi's own inference fails on
//     Map([]int{1}, func(int) string {...}) and Sum(1.5, 2.5));
//   - Go 1.22 loop variables: a loop whose body has a closure, a go
//     statement or takes an address gets a per-iteration copy of its
//     variables (when the body does not assign them);
//   - func main: declared as _qlabmain and run once at the end of the cell
//     that declares it (go run's behaviour); main() in later cells calls
//     it.

// edit replaces cell[start:end] with text.
type edit struct {
	start, end int
	text       string
}

// applyEdits applies non-overlapping edits to src. Edits at the same
// offset keep their order, insertions before a replacement.
func applyEdits(src string, edits []edit) string {
	sort.SliceStable(edits, func(i, j int) bool {
		if edits[i].start != edits[j].start {
			return edits[i].start < edits[j].start
		}
		return edits[i].start == edits[i].end && edits[j].start != edits[j].end
	})
	var b strings.Builder
	at := 0
	for _, e := range edits {
		if e.start < at {
			continue // overlapping: the first wins
		}
		b.WriteString(src[at:e.start])
		b.WriteString(e.text)
		at = e.end
	}
	b.WriteString(src[at:])
	return b.String()
}

// typeSession is what earlier cells declared, as source the type checker
// reads before a cell: declarations by key (a name, or Type.Method), and
// variables defined by := as var declarations.
type typeSession struct {
	order []string
	decls map[string]string
	mains bool // a cell declared main (now _qlabmain)
}

func newTypeSession() *typeSession { return &typeSession{decls: map[string]string{}} }

func (s *typeSession) set(key, src string) {
	if _, ok := s.decls[key]; !ok {
		s.order = append(s.order, key)
	}
	s.decls[key] = src
}

// cellFile is one top-level item of a cell as a file of package main:
// header, then the item's text (possibly with := made =), then trailer.
type cellFile struct {
	item   item
	header int // bytes before the item's text
	file   *ast.File
	base   int // the file's base in the FileSet
}

// parsedCell is a cell parsed item by item for the type checker.
type parsedCell struct {
	code    string
	fset    *token.FileSet
	files   []*cellFile
	imports map[string]string // local name → path, this cell's imports
	declars map[string]bool   // names the cell declares at the top level
}

// off returns the cell offset of pos, -1 when pos is not in the cell.
func (pc *parsedCell) off(pos token.Pos) int {
	if !pos.IsValid() {
		return -1
	}
	for _, f := range pc.files {
		tf := pc.fset.File(f.file.Pos())
		if tf != nil && int(pos) >= tf.Base() && int(pos) <= tf.Base()+tf.Size() {
			o := int(pos) - tf.Base() - f.header
			if o < 0 || o > f.item.end-f.item.start {
				return -1
			}
			return f.item.start + o
		}
	}
	return -1
}

// parseCell parses each top-level item of code into a file of package main
// that imports every package in imports (earlier cells' and the cell's own
// imports). It returns nil when an item does not parse (yaegi reports the
// syntax error).
func parseCell(code string, imports map[string]string) *parsedCell {
	items := splitItems(code)
	pc := &parsedCell{code: code, fset: token.NewFileSet(), imports: map[string]string{}, declars: map[string]bool{}}
	// The cell's own imports first: every file imports them all.
	for _, it := range items {
		if it.kind != chunkImport {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), "", "package main;"+code[it.start:it.end], parser.ImportsOnly)
		if err != nil {
			return nil
		}
		for _, sp := range f.Imports {
			p, _ := strconv.Unquote(sp.Path.Value)
			name := pkgNameOf(p)
			if name == "" {
				name = p[strings.LastIndex(p, "/")+1:]
			}
			if sp.Name != nil {
				name = sp.Name.Name
			}
			pc.imports[name] = p
		}
	}
	all := map[string]string{}
	for k, v := range imports {
		all[k] = v
	}
	for k, v := range pc.imports {
		all[k] = v
	}
	var hdr strings.Builder
	hdr.WriteString("package main;")
	names := make([]string, 0, len(all))
	for k := range all {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if k == "_" || k == "." {
			continue
		}
		fmt.Fprintf(&hdr, "import %s %q;", k, all[k])
	}
	header := hdr.String()
	for i, it := range items {
		text := code[it.start:it.end]
		var pre, post string
		switch it.kind {
		case chunkImport:
			continue
		case chunkDecl:
			pre = header
		case chunkStmt:
			if lhs, ok := defineNames(text); ok {
				// x, y := e at the top level declares package variables.
				pre = header + "var "
				j := strings.Index(text, ":=")
				text = text[:j] + " =" + text[j+2:]
				for _, n := range lhs {
					pc.declars[n] = true
				}
			} else {
				pre = header + fmt.Sprintf("func _qlabS%d(){", i)
				post = "\n}"
			}
		}
		src := pre + text + post
		f, err := parser.ParseFile(pc.fset, fmt.Sprintf("cell%d.go", i), src, parser.SkipObjectResolution)
		if err != nil {
			return nil
		}
		if it.kind == chunkDecl {
			for _, d := range f.Decls {
				switch d := d.(type) {
				case *ast.FuncDecl:
					if d.Recv == nil {
						pc.declars[d.Name.Name] = true
					} else if len(d.Recv.List) > 0 {
						pc.declars[recvName(d.Recv.List[0].Type)+"."+d.Name.Name] = true
					}
				case *ast.GenDecl:
					for _, sp := range d.Specs {
						switch sp := sp.(type) {
						case *ast.TypeSpec:
							pc.declars[sp.Name.Name] = true
						case *ast.ValueSpec:
							for _, n := range sp.Names {
								pc.declars[n.Name] = true
							}
						}
					}
				}
			}
		}
		pc.files = append(pc.files, &cellFile{item: it, header: len(pre), file: f})
	}
	return pc
}

// defineNames returns the names of a top-level "a, b := rhs" statement.
func defineNames(text string) ([]string, bool) {
	if !strings.Contains(text, ":=") {
		return nil, false
	}
	e, err := parser.ParseFile(token.NewFileSet(), "", "package p;func _(){"+text+"\n}", 0)
	if err != nil || len(e.Decls) != 1 {
		return nil, false
	}
	body := e.Decls[0].(*ast.FuncDecl).Body.List
	if len(body) != 1 {
		return nil, false
	}
	as, ok := body[0].(*ast.AssignStmt)
	if !ok || as.Tok != token.DEFINE {
		return nil, false
	}
	var names []string
	for _, l := range as.Lhs {
		id, ok := l.(*ast.Ident)
		if !ok {
			return nil, false
		}
		names = append(names, id.Name)
	}
	return names, true
}

// needsTypes reports whether the cell has syntax whose rewrite depends on
// types: a range over something other than a literal, min/max/clear, or a
// call of a generic function.
func (pc *parsedCell) needsTypes(generic func(string) bool) bool {
	need := false
	for _, f := range pc.files {
		ast.Inspect(f.file, func(n ast.Node) bool {
			if need {
				return false
			}
			switch n := n.(type) {
			case *ast.RangeStmt:
				switch n.X.(type) {
				case *ast.CompositeLit:
				case *ast.BasicLit:
					need = n.X.(*ast.BasicLit).Kind != token.STRING
				default:
					need = true
				}
			case *ast.GoStmt:
				// go f(args): the arguments' types make the recovering
				// wrapper (see goStmt).
				_, lit := n.Call.Fun.(*ast.FuncLit)
				need = !lit && len(n.Call.Args) > 0
			case *ast.CallExpr:
				switch fn := n.Fun.(type) {
				case *ast.Ident:
					need = fn.Name == "min" || fn.Name == "max" || fn.Name == "clear" || generic(fn.Name)
				case *ast.SelectorExpr:
					if x, ok := fn.X.(*ast.Ident); ok {
						switch x.Name {
						case "slices", "maps", "iter", "cmp":
							need = true
						}
					}
				}
			}
			return !need
		})
	}
	return need
}

// check type-checks the cell after the session's declarations (those the
// cell does not declare again). Errors are ignored: whatever typed is used.
func (pc *parsedCell) check(s *typeSession, imports map[string]string, im *reflectImporter) *types.Info {
	return pc.checkErrors(s, imports, im, func(error) {})
}

// checkErrors is check, passing each error to report.
func (pc *parsedCell) checkErrors(s *typeSession, imports map[string]string, im *reflectImporter, report func(error)) *types.Info {
	var b strings.Builder
	b.WriteString("package main\n")
	for name, p := range imports {
		if name != "_" && name != "." {
			fmt.Fprintf(&b, "import %s %q\n", name, p)
		}
	}
	for _, k := range s.order {
		redeclared := false
		for _, name := range strings.Split(k, ",") {
			redeclared = redeclared || pc.declars[name]
		}
		if redeclared {
			continue
		}
		b.WriteString(s.decls[k])
		b.WriteString("\n")
	}
	files := make([]*ast.File, 0, len(pc.files)+1)
	if sf, err := parser.ParseFile(pc.fset, "session.go", b.String(), parser.SkipObjectResolution); err == nil {
		files = append(files, sf)
	}
	for _, f := range pc.files {
		files = append(files, f.file)
	}
	info := &types.Info{
		Types:     map[ast.Expr]types.TypeAndValue{},
		Defs:      map[*ast.Ident]types.Object{},
		Uses:      map[*ast.Ident]types.Object{},
		Instances: map[*ast.Ident]types.Instance{},

		Selections: map[*ast.SelectorExpr]*types.Selection{},
	}
	conf := types.Config{Importer: im, Error: report, FakeImportC: true}
	pkg := types.NewPackage("main", "main")
	chk := types.NewChecker(&conf, pc.fset, pkg, info)
	func() {
		defer func() { recover() }() // the checker must not take the kernel down
		chk.Files(files)
	}()
	return info
}

// rewriter collects the edits of one cell.
type rewriter struct {
	pc      *parsedCell
	info    *types.Info // nil: syntactic rewrites only
	imports map[string]string
	edits   []edit
	n       int          // fresh name counter
	sess    *typeSession // earlier cells' declarations

	fmtTypes *[]*types.Named // the cell types printing describes (cellTypes)
	// ranges over integers rewritten: their variables are already per
	// iteration (loopVars leaves them alone)
	intRanges map[*ast.RangeStmt]bool
}

func (rw *rewriter) fresh(prefix string) string {
	rw.n++
	return fmt.Sprintf("_qlab%s%d", prefix, rw.n)
}

func (rw *rewriter) text(n ast.Node) string {
	s, e := rw.pc.off(n.Pos()), rw.pc.off(n.End())
	if s < 0 || e < s {
		return ""
	}
	return rw.pc.code[s:e]
}

func (rw *rewriter) add(start, end token.Pos, text string) {
	s, e := rw.pc.off(start), rw.pc.off(end)
	if s < 0 || e < s {
		return
	}
	rw.edits = append(rw.edits, edit{s, e, text})
}

func (rw *rewriter) typeOf(e ast.Expr) types.Type {
	if rw.info == nil {
		return nil
	}
	if tv, ok := rw.info.Types[e]; ok && tv.Type != nil && tv.Type != types.Typ[types.Invalid] {
		return tv.Type
	}
	return nil
}

// typeString writes t as the cell can name it: packages by their import
// names, cell types by name. ok is false when a package is not imported.
func (rw *rewriter) typeString(t types.Type) (string, bool) {
	ok := true
	s := types.TypeString(t, func(p *types.Package) string {
		if p.Path() == "main" {
			return ""
		}
		for name, path := range rw.imports {
			if path == p.Path() || strings.TrimPrefix(path, "qlab/") == strings.TrimPrefix(p.Path(), "github.com/qlab-dev/qlab/qlab/") && strings.HasPrefix(path, "qlab/") {
				return name
			}
		}
		ok = false
		return p.Name()
	})
	return s, ok && !strings.Contains(s, "invalid type")
}

// rewriteCell returns code rewritten (see the comment at the top of this
// file). It never fails: what it cannot rewrite stays as written.
func (in *Interpreter) rewriteCell(code string) (string, bool) {
	_, imports := in.idx.snapshot()
	pc := parseCell(code, imports)
	if pc == nil {
		return code, false
	}
	all := map[string]string{}
	for k, v := range imports {
		all[k] = v
	}
	for k, v := range pc.imports {
		all[k] = v
	}
	rw := &rewriter{pc: pc, imports: all, sess: in.tsess}
	// The type checker costs more than evaluating a trivial cell: it runs
	// only when a rewrite needs types. x := literal of an existing global
	// does not (the literal's type is its default type).
	var globals map[string]reflect.Value
	if pc.hasDefine() {
		globals = in.globals()
	}
	if pc.needsTypes(in.isGeneric) || pc.evalOrderNeedsTypes() || pc.fmtNeedsTypes(in.tsess.hasTypes()) || pc.typeSwitchNeedsTypes() || pc.redefinesGlobal(globals) && !pc.literalRedefinitions(globals) {
		rw.info = pc.check(in.tsess, all, in.types)
	}
	for _, f := range pc.files {
		rw.file(f, in.tsess.mains)
		rw.define(f, globals)
		rw.evalOrder(f)
		rw.structTags(f)
		rw.libraryCalls(f)
		rw.fmtAdapters(f)
		rw.typeSwitches(f)
	}
	if len(rw.edits) == 0 {
		return code, false
	}
	return applyEdits(code, rw.edits), true
}

// isGeneric reports whether an earlier cell declared a generic function.
func (in *Interpreter) isGeneric(name string) bool {
	src, ok := in.tsess.decls[name]
	return ok && strings.HasPrefix(src, "func "+name+"[")
}

// file rewrites one item.
func (rw *rewriter) file(f *cellFile, mainDeclared bool) {
	// stack of enclosing functions' types (for returns in range-over-func
	// bodies).
	var visit func(n ast.Node, fn *ast.FuncType, rf *rangeFunc) bool
	visit = func(n ast.Node, fn *ast.FuncType, rf *rangeFunc) bool {
		ast.Inspect(n, func(m ast.Node) bool {
			switch m := m.(type) {
			case *ast.FuncDecl:
				if m.Recv == nil && m.Name.Name == "main" && m.Type.TypeParams == nil && len(m.Type.Params.List) == 0 {
					rw.add(m.Name.Pos(), m.Name.End(), "_qlabmain")
					if e := rw.pc.off(m.End()); e >= 0 {
						rw.edits = append(rw.edits, edit{e, e, "; _qlabmain()"})
					}
				}
				if m.Body != nil {
					visit(m.Body, m.Type, nil)
				}
				return false
			case *ast.FuncLit:
				if m == n {
					return true
				}
				visit(m.Body, m.Type, nil)
				return false
			case *ast.Ident:
				if m != nil && m.Name == "main" && mainDeclared && rw.isUnresolvedMain(m) {
					rw.add(m.Pos(), m.End(), "_qlabmain")
				}
			case *ast.RangeStmt:
				if m == n {
					return true
				}
				if rw.rangeStmt(m, fn, rf, visit) {
					return false
				}
				rw.loopVars(m)
			case *ast.ForStmt:
				rw.loopVars(m)
			case *ast.GoStmt:
				rw.goStmt(m)
			case *ast.CallExpr:
				rw.call(m)
				rw.makeSize(m)
			}
			return true
		})
		return true
	}
	for _, d := range f.file.Decls {
		if _, ok := d.(*ast.GenDecl); ok {
			visit(d, nil, nil)
			continue
		}
		fd := d.(*ast.FuncDecl)
		if strings.HasPrefix(fd.Name.Name, "_qlabS") {
			visit(fd.Body, fd.Type, nil)
			continue
		}
		visit(fd, nil, nil)
	}
}

// isUnresolvedMain reports whether an identifier main refers to the
// function main of an earlier cell (not a local of that name).
func (rw *rewriter) isUnresolvedMain(id *ast.Ident) bool {
	if rw.info == nil {
		return true
	}
	if obj, ok := rw.info.Uses[id]; ok && obj != nil {
		_, isFunc := obj.(*types.Func)
		return isFunc || obj.Parent() == nil
	}
	_, def := rw.info.Defs[id]
	return !def
}

// rangeFunc is a range-over-func loop being rewritten: the names carrying a
// return out of its yield function, shared with the loops nested in it.
type rangeFunc struct {
	ret     string   // flag set when the body returned
	results []string // the enclosing function's results, set before returning
}

// intervals are the source ranges of nodes of some kinds.
type intervals [][2]token.Pos

func (iv intervals) contain(p token.Pos) bool {
	for _, r := range iv {
		if r[0] <= p && p < r[1] {
			return true
		}
	}
	return false
}

// rangeStmt rewrites a range over an integer or a function. It reports
// whether it handled the statement's body (so the caller does not visit it
// again).
func (rw *rewriter) rangeStmt(r *ast.RangeStmt, fn *ast.FuncType, outer *rangeFunc, visit func(ast.Node, *ast.FuncType, *rangeFunc) bool) bool {
	t := rw.typeOf(r.X)
	if t == nil {
		return false
	}
	if b, ok := t.Underlying().(*types.Basic); ok && b.Info()&types.IsInteger != 0 {
		return rw.rangeInt(r, t, b)
	}
	sig, ok := t.Underlying().(*types.Signature)
	if !ok || sig.Params().Len() != 1 || sig.Results().Len() != 0 {
		return false
	}
	yield, ok := sig.Params().At(0).Type().Underlying().(*types.Signature)
	if !ok || yield.Params().Len() > 2 || yield.Results().Len() != 1 {
		return false
	}
	// What in the body targets this loop, and what does not.
	var funcs, loops, breakables, funcRanges intervals
	hasReturn, labeled := false, false
	var branches []*ast.BranchStmt // labeled break and continue
	inner := map[string]bool{}     // labels declared in the body
	ast.Inspect(r.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			funcs = append(funcs, [2]token.Pos{n.Pos(), n.End()})
			return false
		case *ast.ForStmt, *ast.RangeStmt:
			loops = append(loops, [2]token.Pos{n.Pos(), n.End()})
			breakables = append(breakables, [2]token.Pos{n.Pos(), n.End()})
			if rs, ok := n.(*ast.RangeStmt); ok && rw.isFuncRange(rs) {
				funcRanges = append(funcRanges, [2]token.Pos{n.Pos(), n.End()})
			}
		case *ast.SwitchStmt, *ast.TypeSwitchStmt, *ast.SelectStmt:
			breakables = append(breakables, [2]token.Pos{n.Pos(), n.End()})
		case *ast.ReturnStmt:
			hasReturn = true
		case *ast.BranchStmt:
			if n.Tok == token.GOTO {
				labeled = true
			} else if n.Label != nil {
				branches = append(branches, n)
			}
		case *ast.LabeledStmt:
			inner[n.Label.Name] = true
		}
		return true
	})
	own := rw.labelOf(r)
	// Labeled branches out of the body: to this loop's label they are the
	// yield function's returns; to an enclosing statement's label they set
	// a code the statement after the call turns into the branch (not from
	// a range over a func nested in another, whose yield function holds
	// that statement).
	var leaving []*ast.BranchStmt
	for _, b := range branches {
		switch {
		case inner[b.Label.Name]:
		case funcRanges.contain(b.Pos()):
			if own != nil && b.Label.Name == own.Label.Name || outer != nil {
				labeled = true
			}
		case own != nil && b.Label.Name == own.Label.Name:
			leaving = append(leaving, b)
		case outer != nil:
			labeled = true
		default:
			leaving = append(leaving, b)
		}
	}
	if labeled {
		return false
	}
	// Parameter types of the yield function.
	var ptypes []string
	for i := 0; i < yield.Params().Len(); i++ {
		s, ok := rw.typeString(yield.Params().At(i).Type())
		if !ok {
			return false
		}
		ptypes = append(ptypes, s)
	}
	vars := []ast.Expr{r.Key, r.Value}
	var params, assigns, copies []string
	for i, pt := range ptypes {
		name := "_"
		if vars[i] != nil {
			name = rw.text(vars[i])
		}
		if r.Tok == token.ASSIGN && name != "_" {
			tmp := rw.fresh("Y")
			assigns = append(assigns, name+" = "+tmp)
			name = tmp
		}
		_ = copies
		params = append(params, name+" "+pt)
	}
	rf := outer
	var open, after, closeBlock string
	var decls []string
	if hasReturn && outer == nil {
		rf = &rangeFunc{ret: rw.fresh("Ret")}
		decls = append(decls, "var "+rf.ret+" bool")
		if fn != nil && fn.Results != nil {
			for _, fld := range fn.Results.List {
				n := max(1, len(fld.Names))
				for j := 0; j < n; j++ {
					name := rw.fresh("R")
					rf.results = append(rf.results, name)
					decls = append(decls, "var "+name+" "+rw.text(fld.Type))
				}
			}
		}
		after = "; if " + rf.ret + " { return " + strings.Join(rf.results, ", ") + " }"
	} else if hasReturn {
		after = "; if " + rf.ret + " { return false }"
	}
	codes := map[string]int{} // "break L" → its code
	code := ""
	for _, b := range leaving {
		if own != nil && b.Label.Name == own.Label.Name {
			if b.Tok == token.BREAK {
				rw.add(b.Pos(), b.End(), "return false")
			} else {
				rw.add(b.Pos(), b.End(), "return true")
			}
			continue
		}
		if code == "" {
			code = rw.fresh("Br")
			decls = append(decls, "var "+code+" int")
		}
		key := b.Tok.String() + " " + b.Label.Name
		c, ok := codes[key]
		if !ok {
			c = len(codes) + 1
			codes[key] = c
			after += fmt.Sprintf("; if %s == %d { %s }", code, c, key)
		}
		rw.add(b.Pos(), b.End(), fmt.Sprintf("{ %s = %d; return false }", code, c))
	}
	if own != nil {
		// The label would name a statement that is no longer a loop.
		rw.add(own.Pos(), own.Colon+1, "")
	}
	if len(decls) > 0 {
		open = "{ " + strings.Join(decls, "; ") + "; "
		closeBlock = " }"
	}
	if rf == nil {
		rf = &rangeFunc{}
	}
	// Branches and returns that leave the yield function.
	ast.Inspect(r.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.RangeStmt:
			if n != nil && rw.isFuncRange(n) {
				return false // rewritten on its own
			}
		case *ast.ReturnStmt:
			var b strings.Builder
			b.WriteString("{ ")
			if len(n.Results) > 0 {
				vals := make([]string, len(n.Results))
				for i, e := range n.Results {
					vals[i] = rw.text(e)
				}
				b.WriteString(strings.Join(rf.results, ", ") + " = " + strings.Join(vals, ", ") + "; ")
			}
			b.WriteString(rf.ret + " = true; return false }")
			rw.add(n.Pos(), n.End(), b.String())
			return false
		case *ast.BranchStmt:
			switch {
			case n.Label != nil:
			case n.Tok == token.BREAK && !breakables.contain(n.Pos()) && !funcs.contain(n.Pos()):
				rw.add(n.Pos(), n.End(), "return false")
			case n.Tok == token.CONTINUE && !loops.contain(n.Pos()) && !funcs.contain(n.Pos()):
				rw.add(n.Pos(), n.End(), "return true")
			}
		}
		return true
	})
	head := open + rw.text(r.X) + "(func(" + strings.Join(params, ", ") + ") bool {"
	if len(assigns) > 0 {
		head += " " + strings.Join(assigns, "; ") + ";"
	}
	rw.add(r.Pos(), r.Body.Lbrace+1, head)
	rw.add(r.Body.Rbrace, r.Body.Rbrace+1, "; return true })"+after+closeBlock)
	visit(r.Body, fn, rf)
	return true
}

// labelOf returns the labeled statement whose statement is r, nil when r
// has no label.
func (rw *rewriter) labelOf(r *ast.RangeStmt) *ast.LabeledStmt {
	var found *ast.LabeledStmt
	for _, f := range rw.pc.files {
		ast.Inspect(f.file, func(n ast.Node) bool {
			if l, ok := n.(*ast.LabeledStmt); ok && l.Stmt == r {
				found = l
			}
			return found == nil
		})
	}
	return found
}

// isFuncRange reports whether r ranges over a function.
func (rw *rewriter) isFuncRange(r *ast.RangeStmt) bool {
	t := rw.typeOf(r.X)
	if t == nil {
		return false
	}
	_, ok := t.Underlying().(*types.Signature)
	return ok
}

// rangeInt rewrites "for k := range n" (n of integer type t) into a
// three-clause loop whose counter is copied into k at each iteration
// (Go 1.22: k is per iteration and assigning it does not change the loop).
func (rw *rewriter) rangeInt(r *ast.RangeStmt, t types.Type, b *types.Basic) bool {
	ts := "int"
	if b.Info()&types.IsUntyped == 0 {
		s, ok := rw.typeString(t)
		if !ok {
			return false
		}
		ts = s
	}
	i, n := rw.fresh("I"), rw.fresh("N")
	head := fmt.Sprintf("for %s, %s := %s(0), %s(%s); %s < %s; %s++ {", i, n, ts, ts, rw.text(r.X), i, n, i)
	if r.Key != nil {
		k := rw.text(r.Key)
		if k != "_" {
			op := ":="
			if r.Tok == token.ASSIGN {
				op = "="
			}
			head += " " + k + " " + op + " " + i + ";"
			if op == ":=" {
				head += " _ = " + k + ";"
			}
		}
	}
	rw.add(r.Pos(), r.Body.Lbrace+1, head)
	if rw.intRanges == nil {
		rw.intRanges = map[*ast.RangeStmt]bool{}
	}
	rw.intRanges[r] = true
	return false // the body is visited by the caller
}

// loopVars gives a loop's := variables a copy per iteration when the body
// could tell (a closure, a go statement, an address taken) and does not
// assign them.
func (rw *rewriter) loopVars(n ast.Node) {
	var names []string
	var body *ast.BlockStmt
	switch n := n.(type) {
	case *ast.ForStmt:
		as, ok := n.Init.(*ast.AssignStmt)
		if !ok || as.Tok != token.DEFINE {
			return
		}
		for _, l := range as.Lhs {
			if id, ok := l.(*ast.Ident); ok && id.Name != "_" {
				names = append(names, id.Name)
			}
		}
		body = n.Body
	case *ast.RangeStmt:
		if n.Tok != token.DEFINE || rw.intRanges[n] {
			return
		}
		for _, l := range []ast.Expr{n.Key, n.Value} {
			if id, ok := l.(*ast.Ident); ok && id.Name != "_" {
				names = append(names, id.Name)
			}
		}
		body = n.Body
	}
	if len(names) == 0 || body == nil {
		return
	}
	set := map[string]bool{}
	for _, s := range names {
		set[s] = true
	}
	captures, assigned := false, false
	ast.Inspect(body, func(m ast.Node) bool {
		switch m := m.(type) {
		case *ast.FuncLit, *ast.GoStmt:
			captures = true
		case *ast.UnaryExpr:
			if id, ok := m.X.(*ast.Ident); ok && m.Op == token.AND && set[id.Name] {
				captures = true
			}
		case *ast.AssignStmt:
			for _, l := range m.Lhs {
				if id, ok := l.(*ast.Ident); ok && set[id.Name] && m.Tok != token.DEFINE {
					assigned = true
				}
			}
		case *ast.IncDecStmt:
			if id, ok := m.X.(*ast.Ident); ok && set[id.Name] {
				assigned = true
			}
		}
		return true
	})
	if !captures || assigned {
		return
	}
	s := rw.pc.off(body.Lbrace + 1)
	if s < 0 {
		return
	}
	rw.edits = append(rw.edits, edit{s, s, " " + strings.Join(names, ", ") + " := " + strings.Join(names, ", ") + ";"})
}

// goRecover is what a goroutine started by a cell defers: a panic in it is
// reported (qlabrt.GoPanic) instead of ending the kernel process.
const goRecover = "defer func() { _qlabrt.GoPanic(recover()) }(); "

// goStmt makes the goroutine of a go statement recover and report its
// panic. go func(...) {...}(args) gets the deferred recovery at the top of
// the literal's body; go f(args) becomes go func(p1 T1, ...) { defer ...;
// f(p1, ...) }(args), so the arguments are still evaluated by the go
// statement (without the types of the arguments, the call moves into the
// wrapper whole).
func (rw *rewriter) goStmt(g *ast.GoStmt) {
	c := g.Call
	if lit, ok := c.Fun.(*ast.FuncLit); ok {
		if s := rw.pc.off(lit.Body.Lbrace + 1); s >= 0 {
			rw.edits = append(rw.edits, edit{s, s, " " + goRecover})
		}
		return
	}
	fn := rw.text(c.Fun)
	if fn == "" {
		return
	}
	var params, names []string
	for i, a := range c.Args {
		t := rw.typeOf(a)
		if t == nil {
			params = nil
			break
		}
		ts, ok := rw.typeString(t)
		if !ok {
			params = nil
			break
		}
		if tv := rw.info.Types[a]; tv.Value != nil || tv.IsNil() {
			// An untyped constant or nil: its type is the parameter's.
			params = nil
			break
		}
		name := fmt.Sprintf("_qlabP%d", i)
		params = append(params, name+" "+ts)
		names = append(names, name)
	}
	dots := ""
	if c.Ellipsis.IsValid() {
		dots = "..."
	}
	if len(params) == len(c.Args) && len(c.Args) > 0 {
		// Keep "(args)" of the call; replace the callee by the wrapper.
		head := "func(" + strings.Join(params, ", ") + ") { " + goRecover + fn + "(" + strings.Join(names, ", ") + dots + ") }"
		rw.add(c.Fun.Pos(), c.Fun.End(), head)
		return
	}
	call := rw.text(c)
	if call == "" {
		return
	}
	rw.add(c.Pos(), c.End(), "func() { "+goRecover+call+" }()")
}

// makeSize routes the sizes of make([]T, n[, m]) through qlabrt.Len, which
// refuses a slice larger than the memory available with an error naming
// it, where Go would end the process ("fatal error: out of memory" cannot
// be recovered). Small literal sizes are left alone.
func (rw *rewriter) makeSize(c *ast.CallExpr) {
	id, ok := c.Fun.(*ast.Ident)
	if !ok || id.Name != "make" || len(c.Args) < 2 || c.Ellipsis.IsValid() {
		return
	}
	if rw.info != nil {
		if b, ok := rw.info.Uses[id].(*types.Builtin); !ok || b.Name() != "make" {
			return
		}
	}
	at, ok := c.Args[0].(*ast.ArrayType)
	if !ok || at.Len != nil {
		return
	}
	typ := rw.text(at)
	if typ == "" {
		return
	}
	for _, a := range c.Args[1:] {
		if lit, ok := a.(*ast.BasicLit); ok && lit.Kind == token.INT {
			if v, err := strconv.ParseInt(lit.Value, 0, 64); err == nil && v <= 1<<20 {
				continue
			}
		}
		s, e := rw.pc.off(a.Pos()), rw.pc.off(a.End())
		if s < 0 || e < s {
			return
		}
		rw.edits = append(rw.edits, edit{s, s, "_qlabrt.Len("}, edit{e, e, ", " + typ + "(nil))"})
	}
}

// minMaxKinds names the compiled helpers of min and max by basic kind.
var minMaxKinds = map[types.BasicKind]string{
	types.Int: "Int", types.Int8: "Int8", types.Int16: "Int16", types.Int32: "Int32", types.Int64: "Int64",
	types.Uint: "Uint", types.Uint8: "Uint8", types.Uint16: "Uint16", types.Uint32: "Uint32", types.Uint64: "Uint64",
	types.Uintptr: "Uintptr", types.Float32: "Float32", types.Float64: "Float64", types.String: "String",
}

// call rewrites calls of min, max and clear, and adds type arguments to
// calls of generic functions.
func (rw *rewriter) call(c *ast.CallExpr) {
	if rw.info == nil {
		return
	}
	var id *ast.Ident
	switch fn := c.Fun.(type) {
	case *ast.Ident:
		id = fn
	case *ast.SelectorExpr:
		id = fn.Sel
	default:
		return
	}
	obj := rw.info.Uses[id]
	if b, ok := obj.(*types.Builtin); ok {
		rw.builtin(c, id, b.Name())
		return
	}
	inst, ok := rw.info.Instances[id]
	f, isFunc := obj.(*types.Func)
	if !ok || !isFunc || f.Pkg() == nil || c.Ellipsis.IsValid() && false {
		return
	}
	switch f.Pkg().Path() {
	case "main", "iter", "slices", "maps", "cmp":
	default:
		return
	}
	var args []string
	for i := 0; i < inst.TypeArgs.Len(); i++ {
		s, ok := rw.typeString(inst.TypeArgs.At(i))
		if !ok {
			return
		}
		args = append(args, s)
	}
	e := rw.pc.off(c.Fun.End())
	if e < 0 || len(args) == 0 {
		return
	}
	rw.edits = append(rw.edits, edit{e, e, "[" + strings.Join(args, ", ") + "]"})
}

// builtin rewrites min, max and clear.
func (rw *rewriter) builtin(c *ast.CallExpr, id *ast.Ident, name string) {
	switch name {
	case "clear":
		rw.add(id.Pos(), id.End(), "_qlabrt.Clear")
		return
	case "min", "max":
	default:
		return
	}
	tv, ok := rw.info.Types[c]
	if !ok || tv.Type == nil {
		return
	}
	if tv.Value != nil {
		lit := constLiteral(tv.Value)
		if lit == "" {
			return
		}
		if b, ok := tv.Type.(*types.Basic); !ok || b.Info()&types.IsUntyped == 0 {
			s, ok := rw.typeString(tv.Type)
			if !ok {
				return
			}
			lit = s + "(" + lit + ")"
		}
		rw.add(c.Pos(), c.End(), lit)
		return
	}
	b, ok := tv.Type.Underlying().(*types.Basic)
	if !ok {
		return
	}
	kind, ok := minMaxKinds[b.Kind()]
	if !ok {
		return
	}
	helper := "_qlabrt." + strings.ToUpper(name[:1]) + name[1:] + kind
	if _, named := tv.Type.(*types.Named); !named {
		rw.add(id.Pos(), id.End(), helper)
		return
	}
	ts, ok := rw.typeString(tv.Type)
	if !ok {
		return
	}
	under := b.Name()
	rw.add(id.Pos(), id.End(), ts+"("+helper)
	for _, a := range c.Args {
		s, e := rw.pc.off(a.Pos()), rw.pc.off(a.End())
		if s < 0 || e < 0 {
			return
		}
		rw.edits = append(rw.edits, edit{s, s, under + "("}, edit{e, e, ")"})
	}
	if e := rw.pc.off(c.End()); e >= 0 {
		rw.edits = append(rw.edits, edit{e, e, ")"})
	}
}

// constLiteral writes a constant as Go source.
func constLiteral(v constant.Value) string {
	switch v.Kind() {
	case constant.Int, constant.String, constant.Bool:
		return v.ExactString()
	case constant.Float:
		f, _ := constant.Float64Val(v)
		s := strconv.FormatFloat(f, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eEn") {
			s += ".0"
		}
		return s
	}
	return ""
}

// record adds what a cell that ran declared to the session: declarations by
// name (methods as Type.Method), and "a, b := rhs" as "var a, b = rhs".
func (s *typeSession) record(code string) {
	for _, it := range splitItems(code) {
		text := code[it.start:it.end]
		switch it.kind {
		case chunkDecl:
			f, err := parser.ParseFile(token.NewFileSet(), "", "package main;"+text, parser.SkipObjectResolution)
			if err != nil {
				continue
			}
			src := "package main;" + text
			for _, d := range f.Decls {
				dt := src[d.Pos()-1 : d.End()-1]
				switch d := d.(type) {
				case *ast.FuncDecl:
					key := d.Name.Name
					if d.Recv != nil && len(d.Recv.List) > 0 {
						key = recvName(d.Recv.List[0].Type) + "." + key
					}
					if key == "_qlabmain" {
						s.mains = true
					}
					s.set(key, dt)
				case *ast.GenDecl:
					if d.Tok == token.CONST && d.Lparen.IsValid() {
						// A constant group as a whole: its specs repeat
						// the previous one's type and iota expression.
						s.set(constGroupKey(d), dt)
						continue
					}
					for _, sp := range d.Specs {
						st := d.Tok.String() + " " + src[sp.Pos()-1:sp.End()-1]
						switch sp := sp.(type) {
						case *ast.TypeSpec:
							s.set(sp.Name.Name, st)
						case *ast.ValueSpec:
							var names []string
							for _, n := range sp.Names {
								names = append(names, n.Name)
							}
							s.set(strings.Join(names, ","), st)
						}
					}
				}
			}
		case chunkStmt:
			if names, ok := defineNames(text); ok {
				j := strings.Index(text, ":=")
				s.set(strings.Join(names, ","), "var "+text[:j]+" = "+text[j+2:])
			}
		}
	}
}

// hasDefine reports whether the cell has a top-level "a, b := rhs".
func (pc *parsedCell) hasDefine() bool {
	for _, f := range pc.files {
		if f.item.kind == chunkStmt && defineSpec(f) != nil {
			return true
		}
	}
	return false
}

// defineSpec returns the var spec that a top-level "a, b := rhs" item was
// parsed as (see parseCell), nil for other items.
func defineSpec(f *cellFile) *ast.ValueSpec {
	if f.item.kind != chunkStmt || len(f.file.Decls) == 0 {
		return nil
	}
	g, ok := f.file.Decls[len(f.file.Decls)-1].(*ast.GenDecl)
	if !ok || g.Tok != token.VAR || len(g.Specs) != 1 {
		return nil
	}
	return g.Specs[0].(*ast.ValueSpec)
}

// literalType returns the reflect name of the default type of a basic
// literal (possibly signed), "" for any other expression.
func literalType(e ast.Expr) string {
	if u, ok := e.(*ast.UnaryExpr); ok && (u.Op == token.SUB || u.Op == token.ADD) {
		e = u.X
	}
	if p, ok := e.(*ast.ParenExpr); ok {
		return literalType(p.X)
	}
	b, ok := e.(*ast.BasicLit)
	if !ok {
		return ""
	}
	switch b.Kind {
	case token.INT:
		return "int"
	case token.FLOAT:
		return "float64"
	case token.IMAG:
		return "complex128"
	case token.CHAR:
		return "int32"
	case token.STRING:
		return "string"
	}
	return ""
}

// literalRedefinitions reports whether every top-level := of the cell that
// defines an existing global gives each name a literal of the global's
// type: define rewrites them without the type checker.
func (pc *parsedCell) literalRedefinitions(globals map[string]reflect.Value) bool {
	for _, f := range pc.files {
		vs := defineSpec(f)
		if vs == nil {
			continue
		}
		redefines := false
		for _, n := range vs.Names {
			_, ok := globals[n.Name]
			redefines = redefines || ok
		}
		if redefines && !literalSameTypes(vs, globals) {
			return false
		}
	}
	return true
}

// literalSameTypes reports whether vs gives each of its names a literal
// whose type is that of the existing global of the name.
func literalSameTypes(vs *ast.ValueSpec, globals map[string]reflect.Value) bool {
	if len(vs.Values) != len(vs.Names) {
		return false
	}
	for i, n := range vs.Names {
		lt := literalType(vs.Values[i])
		if lt == "" {
			return false
		}
		if n.Name == "_" {
			continue
		}
		gv, ok := globals[n.Name]
		if !ok || !gv.IsValid() || gv.Type().String() != lt {
			return false
		}
	}
	return true
}

// redefinesGlobal reports whether a top-level := of the cell defines a
// global that exists.
func (pc *parsedCell) redefinesGlobal(globals map[string]reflect.Value) bool {
	for _, f := range pc.files {
		if f.item.kind != chunkStmt {
			continue
		}
		if names, ok := defineNames(pc.code[f.item.start:f.item.end]); ok {
			for _, n := range names {
				if _, ok := globals[n]; ok {
					return true
				}
			}
		}
	}
	return false
}

// define rewrites a top-level "a, b := rhs" (Go semantics: new package
// variables) in two cases:
//   - every name is a global of the same type already: "a, b = rhs", so
//     that functions declared earlier, which read the global's slot, see
//     the new value (yaegi would give the names new slots);
//   - one new name whose value comes from a generic call: "var a T; a =
//     rhs", T from the type checker (yaegi crashes sizing a new global
//     from a generic result).
func (rw *rewriter) define(f *cellFile, globals map[string]reflect.Value) {
	vs := defineSpec(f)
	if vs == nil {
		return
	}
	text := rw.pc.code[f.item.start:f.item.end]
	j := strings.Index(text, ":=")
	if j < 0 || len(vs.Values) == 0 {
		return
	}
	if rw.info == nil {
		if literalSameTypes(vs, globals) {
			rw.edits = append(rw.edits, edit{f.item.start + j, f.item.start + j + 2, " ="})
		}
		return
	}
	same := true
	var types_ []string
	for _, n := range vs.Names {
		obj := rw.info.Defs[n]
		if obj == nil {
			same = false
			break
		}
		ts, ok := rw.typeString(obj.Type())
		if !ok {
			same = false
			break
		}
		types_ = append(types_, ts)
		if n.Name == "_" {
			continue
		}
		gv, ok := globals[n.Name]
		if !ok || !gv.IsValid() || gv.Type().String() != ts {
			same = false
		}
	}
	if same {
		if len(vs.Names) > 1 && len(vs.Values) == 1 {
			// yaegi assigns a multi-value call's results to globals
			// wrongly at the top level: through temporaries.
			tmps := make([]string, len(vs.Names))
			for i := range tmps {
				tmps[i] = rw.fresh("A")
			}
			lhs := strings.TrimSpace(text[:j])
			rw.edits = append(rw.edits, edit{f.item.start, f.item.start + j + 2, strings.Join(tmps, ", ") + " :="},
				edit{f.item.end, f.item.end, "; " + lhs + " = " + strings.Join(tmps, ", ")})
			return
		}
		rw.edits = append(rw.edits, edit{f.item.start + j, f.item.start + j + 2, " ="})
		return
	}
	if len(vs.Names) != 1 || len(types_) != 1 || vs.Names[0].Name == "_" {
		return
	}
	generic := false
	ast.Inspect(vs.Values[0], func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			if _, ok := rw.info.Instances[id]; ok {
				generic = true
			}
		}
		return !generic
	})
	if !generic {
		return
	}
	name := vs.Names[0].Name
	rw.edits = append(rw.edits, edit{f.item.start, f.item.start + j + 2, "var " + name + " " + types_[0] + "; " + name + " ="})
}

// globals is yaegi's Globals, which panics when a failed cell left a symbol
// without its frame slot; then it returns nil.
func (in *Interpreter) globals() (g map[string]reflect.Value) {
	defer func() {
		if recover() != nil {
			g = nil
		}
	}()
	return in.yi.Globals()
}

// typeError returns the type checker's first error inside the cell, with
// its cell line and column, or "" when it finds none.
func (in *Interpreter) typeError(code string) string {
	_, imports := in.idx.snapshot()
	pc := parseCell(code, imports)
	if pc == nil {
		return ""
	}
	all := map[string]string{}
	for k, v := range imports {
		all[k] = v
	}
	for k, v := range pc.imports {
		all[k] = v
	}
	var first string
	pc.checkErrors(in.tsess, all, in.types, func(err error) {
		te, ok := err.(types.Error)
		if !ok || first != "" || te.Soft && strings.Contains(te.Msg, "not used") {
			return
		}
		o := pc.off(te.Pos)
		if o < 0 {
			return
		}
		line := strings.Count(code[:o], "\n") + 1
		col := o - strings.LastIndex(code[:o], "\n")
		first = fmt.Sprintf("line %d:%d: %s", line, col, te.Msg)
	})
	return first
}

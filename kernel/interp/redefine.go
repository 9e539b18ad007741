package interp

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"go/types"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Redefinition of types and methods (see doc.go, "Redefinition").
//
// yaegi v0.16.1 keeps the first definition of a type and of its methods,
// but it does let a type alias be declared again, and a defined type be
// declared again as an alias, and later code then resolves the name to the
// alias's new target. So a cell that changes type T (its type, or the body
// or signature of one of its methods) declares the new definition under an
// internal name Tꞏn (n = 2, 3, ... the generation) and then T as an alias
// of it: code compiled afterwards, in this cell and later ones, means the
// new T without any rewriting, embedded fields keep the name T, and a
// value made earlier keeps its old type and methods. yaegi also binds a
// function's calls and types when the function is compiled, so every
// declaration of earlier cells that depends on T (a function or constant
// mentioning it, a type holding or embedding it, a method of such a type,
// a function calling such a function, transitively) is declared again from
// its source, which the type session keeps; types among them get a
// generation of their own. Variables are not declared again: they hold
// values made with the old definition.

// genMark separates a type's name from its generation in internal names.
// It is U+A78F LATIN LETTER SINOLOGICAL DOT, a letter, so that Pointꞏ2 is an
// identifier (exported when Point is); a cell may not use it in its own
// names (see parseCellDecls), so internal names cannot collide with users'.
const genMark = "ꞏ"

func genName(name string, gen int) string { return name + genMark + strconv.Itoa(gen) }

// redefs is what redefinitions left in effect: the generation of each type
// redefined at least once.
type redefs struct {
	mu   sync.RWMutex
	gen  map[string]int  // user type name → generation in effect (≥ 2)
	used map[string]int  // highest generation declared, in effect or not
	base map[string]bool // Tꞏ1 declared as an alias of the first T
	ids  map[string]identCache
}

// identCache is the identifiers of a session declaration's source.
type identCache struct {
	src string
	ids map[string]bool
}

// identSet returns the identifiers of the session's declaration key,
// whose source is src, scanning it only when it changed.
func (r *redefs) identSet(key, src string) map[string]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.ids[key]; ok && c.src == src {
		return c.ids
	}
	if r.ids == nil {
		r.ids = map[string]identCache{}
	}
	ids := identSet(src)
	r.ids[key] = identCache{src, ids}
	return ids
}

func (r *redefs) current(name string) int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if g := r.gen[name]; g > 1 {
		return g
	}
	return 1
}

// genSuffix matches the generation suffix of an internal name.
var genSuffix = regexp.MustCompile(genMark + `[0-9]+`)

// plainGenerations removes generations from the type names in s: what %T
// prints for a value of an earlier definition of T is main.T, as go run
// would print it.
func plainGenerations(s string) string {
	if !strings.Contains(s, genMark) {
		return s
	}
	return genSuffix.ReplaceAllString(s, "")
}

// internalIdent matches an identifier, optionally qualified by main.
var internalIdent = regexp.MustCompile(`(main\.)?[\p{L}_][\p{L}\p{N}_]*`)

// userNames rewrites internal type names in msg (an error of yaegi or of
// the type checker) into the names users wrote: the generation in effect
// as T, an earlier one as "T (earlier definition)". yaegi names the first
// generation main.T, which, once T is redefined, is an earlier one. It
// returns the types whose earlier definition msg mentions.
func (r *redefs) userNames(msg string) (string, []string) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if len(r.gen) == 0 || msg == "" {
		return msg, nil
	}
	var earlier []string
	out := internalIdent.ReplaceAllStringFunc(msg, func(m string) string {
		qual := ""
		id := m
		if strings.HasPrefix(m, "main.") {
			qual, id = "main.", m[len("main."):]
		}
		base, genText, marked := strings.Cut(id, genMark)
		cur, redefined := r.gen[base]
		if !redefined {
			return m
		}
		if !marked {
			if qual == "" {
				return m // a name as written in a cell: the current T
			}
			earlier = append(earlier, base)
			return qual + base + " (earlier definition)"
		}
		if g, err := strconv.Atoi(genText); err == nil && g == cur {
			return qual + base
		}
		earlier = append(earlier, base)
		return qual + base + " (earlier definition)"
	})
	sort.Strings(earlier)
	earlier = compactStrings(earlier)
	return out, earlier
}

func compactStrings(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// explain maps internal names in a cell's error to users' names and, when
// it involves a value made with an earlier definition of a type, says so.
func (r *redefs) explain(ce *CellError) *CellError {
	if ce == nil {
		return ce
	}
	v, earlier := r.userNames(ce.Value)
	ce.Value = v
	for i, t := range ce.Trace {
		ce.Trace[i], _ = r.userNames(t)
	}
	if len(earlier) > 0 {
		ce.Value += fmt.Sprintf(" (%s was redefined by a later cell: a value made with an earlier definition keeps that definition and cannot be used as a value of the new one; make the value again, for example by running the cell that made it)", strings.Join(earlier, ", "))
	}
	return ce
}

// cellDecl is a top-level declaration of the cell being run.
type cellDecl struct {
	kind  string // "type", "method", "func", "const", "var"
	key   string // session key: the name, Type.Method, or names joined by ","
	name  string // declared name; for a method, its receiver's type
	src   string // the text the index records (to spot a change)
	text  string // the declaration as Go source ("type T ..." for a type)
	chunk int    // index of its chunk
	// For a type: the cell offsets blanked out of its chunk (the spec, or
	// the whole declaration when not grouped), and the spec's position.
	start, end int
	line, col  int
	alias      bool
	generic    bool
	// For a method: the cell offsets of the receiver's type name.
	recvStart, recvEnd int
}

// parseCellDecls returns the declarations of a declaration chunk.
func parseCellDecls(code string, c chunk, ci int) ([]cellDecl, error) {
	const pre = "package main\n"
	src := pre + c.src
	f, err := parser.ParseFile(token.NewFileSet(), "", src, parser.SkipObjectResolution)
	if err != nil {
		return nil, nil // yaegi reports the syntax error
	}
	off := func(p token.Pos) int { return c.off + int(p) - 1 - len(pre) }
	text := func(n ast.Node) string { return src[n.Pos()-1 : n.End()-1] }
	at := func(p token.Pos) (int, int) {
		o := off(p)
		line := strings.Count(code[:o], "\n") + 1
		return line, o - strings.LastIndexByte(code[:o], '\n')
	}
	var out []cellDecl
	check := func(id *ast.Ident) error {
		if strings.Contains(id.Name, genMark) {
			l, _ := at(id.Pos())
			return &CellError{Name: ErrCompile, Value: fmt.Sprintf("line %d: %s: names containing %q (U+A78F) are reserved for the kernel's redefined types", l, id.Name, genMark)}
		}
		return nil
	}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if err := check(d.Name); err != nil {
				return nil, err
			}
			cd := cellDecl{kind: "func", key: d.Name.Name, name: d.Name.Name, src: src[d.Type.Pos()-1 : d.End()-1], chunk: ci}
			cd.line, _ = at(d.Pos())
			cd.text = cd.src
			if d.Recv != nil && len(d.Recv.List) > 0 {
				id := recvIdent(d.Recv.List[0].Type)
				if id == nil {
					continue
				}
				cd.kind, cd.name, cd.key = "method", id.Name, id.Name+"."+d.Name.Name
				cd.recvStart, cd.recvEnd = off(id.Pos()), off(id.End())
			}
			out = append(out, cd)
		case *ast.GenDecl:
			if d.Tok == token.CONST && d.Lparen.IsValid() {
				for _, sp := range d.Specs {
					for _, n := range sp.(*ast.ValueSpec).Names {
						if err := check(n); err != nil {
							return nil, err
						}
					}
				}
				key := constGroupKey(d)
				out = append(out, cellDecl{kind: "const", key: key, name: key, src: text(d), text: text(d), chunk: ci})
				continue
			}
			for _, sp := range d.Specs {
				switch sp := sp.(type) {
				case *ast.TypeSpec:
					if err := check(sp.Name); err != nil {
						return nil, err
					}
					cd := cellDecl{kind: "type", key: sp.Name.Name, name: sp.Name.Name, src: text(sp), text: "type " + text(sp), chunk: ci,
						alias: sp.Assign.IsValid(), generic: sp.TypeParams != nil}
					cd.start, cd.end = off(sp.Pos()), off(sp.End())
					if !d.Lparen.IsValid() {
						cd.start, cd.end = off(d.Pos()), off(d.End())
					}
					cd.line, cd.col = at(sp.Pos())
					out = append(out, cd)
				case *ast.ValueSpec:
					var names []string
					for _, n := range sp.Names {
						if err := check(n); err != nil {
							return nil, err
						}
						names = append(names, n.Name)
					}
					kind := d.Tok.String()
					out = append(out, cellDecl{kind: kind, key: strings.Join(names, ","), name: names[0], src: text(sp), text: kind + " " + text(sp), chunk: ci})
				}
			}
		}
	}
	return out, nil
}

// recvIdent returns the type name of a receiver type expression.
func recvIdent(e ast.Expr) *ast.Ident {
	for {
		switch t := e.(type) {
		case *ast.StarExpr:
			e = t.X
		case *ast.ParenExpr:
			e = t.X
		case *ast.IndexExpr:
			e = t.X
		case *ast.IndexListExpr:
			e = t.X
		case *ast.Ident:
			return t
		default:
			return nil
		}
	}
}

// dependent is a declaration of an earlier cell declared again.
type dependent struct {
	key, kind, name string
	src             string // as the session holds it
	stub            string // the reason it is replaced by a function that panics, "" when it is not
}

// redefPlan is what a cell that redefines types does, worked out before it
// runs (planRedefinition) and carried out when its first declaration chunk
// is evaluated (evalDecl).
type redefPlan struct {
	in     *Interpreter
	code   string
	decls  []cellDecl
	batch  map[string]bool   // types that get a new generation
	gens   map[string]int    // their new generations, set when evaluated
	old    map[string]int    // their generations before the cell
	specs  map[string]string // batch types declared by earlier cells: "type T ..."
	deps   []dependent
	cellKs map[string]bool // session keys the cell declares again
	funcs  map[string]bool // functions the cell changes

	// Carrying it out (evalDecl).
	depChunk int          // the chunk after which the dependents are declared
	started  bool         // the first declaration chunk was reached
	depsDone bool         // the dependents were declared
	before   *sessionInfo // the session checked before the cell
	snap     *typeSession // the session before the cell, for restore
}

// planRedefinition returns the plan of a cell that changes a type or a
// method declared by an earlier cell, nil for any other cell (the common
// case, which costs a parse of the declaration chunks, as the index's
// check of redefinitions did before).
func (in *Interpreter) planRedefinition(code string, chunks []chunk) (*redefPlan, error) {
	var decls []cellDecl
	for i, c := range chunks {
		if c.kind != chunkDecl || !strings.Contains(c.src, "type") && !strings.Contains(c.src, "func") {
			continue
		}
		ds, err := parseCellDecls(code, c, i)
		if err != nil {
			return nil, err
		}
		decls = append(decls, ds...)
	}
	if len(decls) == 0 {
		return nil, nil
	}
	seeds := map[string]bool{}
	var seedAt cellDecl
	depChunk := 0 // the last chunk with a changed declaration
	in.idx.mu.RLock()
	for _, d := range decls {
		switch d.kind {
		case "type":
			old, ok := in.idx.decls[d.name]
			if ok && old.kind == "type" && old.src != d.src && !d.alias && !isAliasSpec(old.src) {
				seeds[d.name] = true
				seedAt = d
				depChunk = max(depChunk, d.chunk)
			}
		case "method":
			method := d.key[len(d.name)+1:]
			old, ok := in.idx.methods[d.name][method]
			if ok && old.src != d.src {
				seeds[d.name] = true
				seedAt = d
				depChunk = max(depChunk, d.chunk)
			}
		}
	}
	in.idx.mu.RUnlock()
	// A function declared again with another body or signature: yaegi
	// binds calls when it compiles the caller, so the functions of earlier
	// cells calling it are declared again too.
	funcs := map[string]bool{}
	for _, d := range decls {
		if d.kind == "func" {
			if old, ok := in.tsess.decls[d.key]; ok && strings.HasPrefix(old, "func ") && old != d.src {
				funcs[d.key] = true
				depChunk = max(depChunk, d.chunk)
			}
		}
	}
	if len(seeds) == 0 && len(funcs) == 0 {
		return nil, nil
	}
	p := &redefPlan{in: in, code: code, decls: decls, batch: map[string]bool{}, gens: map[string]int{}, old: map[string]int{},
		specs: map[string]string{}, cellKs: map[string]bool{}, funcs: funcs, depChunk: depChunk}
	if err := p.close(seeds); err != nil {
		return nil, &CellError{Name: ErrUnsupported, Value: fmt.Sprintf("line %d: %v", seedAt.line, err)}
	}
	if len(p.batch) == 0 && len(p.deps) == 0 {
		return nil, nil // a changed function nothing earlier calls
	}
	return p, nil
}

// isAliasSpec reports whether the text of a type spec declares an alias.
func isAliasSpec(spec string) bool {
	f, err := parser.ParseFile(token.NewFileSet(), "", "package p;type "+spec, parser.SkipObjectResolution)
	if err != nil || len(f.Decls) != 1 {
		return false
	}
	g, ok := f.Decls[0].(*ast.GenDecl)
	return ok && len(g.Specs) == 1 && g.Specs[0].(*ast.TypeSpec).Assign.IsValid()
}

// item is a declaration the closure looks at: of the cell or of the
// session.
type closureItem struct {
	kind, key, name string
	ids             map[string]bool
	cell            bool
}

// close works out the declarations that depend on the seed types: the
// batch of types that get a new generation and the session's declarations
// declared again.
func (p *redefPlan) close(seeds map[string]bool) error {
	s := p.in.tsess
	var items []closureItem
	for _, d := range p.decls {
		p.cellKs[d.key] = true
		if d.kind == "const" || d.kind == "var" {
			for _, n := range strings.Split(d.key, ",") {
				p.cellKs[n] = true
			}
		}
		if d.kind != "var" {
			items = append(items, closureItem{kind: d.kind, key: d.key, name: d.name, ids: identSet(d.text), cell: true})
		}
	}
	exists := func(name string) bool {
		src, ok := s.decls[name]
		return ok && strings.HasPrefix(src, "type ")
	}
	for _, k := range s.order {
		redeclared := false
		for _, n := range strings.Split(k, ",") {
			redeclared = redeclared || p.cellKs[n]
		}
		if redeclared || strings.Contains(k, genMark) {
			continue
		}
		src := s.decls[k]
		var kind, name string
		switch {
		case strings.HasPrefix(src, "type "):
			kind, name = "type", k
		case strings.HasPrefix(src, "func ("):
			kind = "method"
			name, _, _ = strings.Cut(k, ".")
		case strings.HasPrefix(src, "func "):
			kind, name = "func", k
		case strings.HasPrefix(src, "const "):
			kind, name = "const", k
		default:
			continue
		}
		items = append(items, closureItem{kind: kind, key: k, name: name, ids: p.in.redef.identSet(k, src)})
	}
	// typed: the seed types and what depends on them, which types holding
	// or calling them follow (a method cannot be declared again: its type
	// gets a new generation). names: also the changed functions and what
	// calls them, which only functions follow: a method calling a changed
	// function keeps the earlier one rather than making its type's values
	// earlier definitions.
	typed, names := map[string]bool{}, map[string]bool{}
	for t := range seeds {
		p.batch[t], typed[t], names[t] = true, true, true
	}
	for f := range p.funcs {
		names[f] = true
	}
	meets := func(set, ids map[string]bool, self string) bool {
		for id := range ids {
			if set[id] && id != self {
				return true
			}
		}
		return false
	}
	add := func(set map[string]bool, key string) {
		for _, n := range strings.Split(key, ",") {
			set[n] = true
		}
		set[key] = true
	}
	for changed := true; changed; {
		changed = false
		for _, it := range items {
			switch it.kind {
			case "type", "method":
				// A type declared before (by the session) whose
				// definition or methods mention an affected name.
				if !p.batch[it.name] && exists(it.name) && meets(typed, it.ids, it.name) {
					p.batch[it.name], changed = true, true
					add(typed, it.name)
					add(names, it.name)
				}
			case "func", "const":
				if !typed[it.key] && meets(typed, it.ids, it.key) {
					add(typed, it.key)
					add(names, it.key)
					changed = true
				} else if !names[it.key] && meets(names, it.ids, it.key) {
					add(names, it.key)
					changed = true
				}
			}
		}
	}
	for t := range p.batch {
		src := s.decls[t]
		if isGenericSpec(src) {
			return fmt.Errorf("cannot redefine the generic type %s (yaegi v0.16.1 keeps a type's first definition and has no generic aliases, which qlab's redefinition uses); give the new definition a new name, or restart the kernel", t)
		}
		for _, d := range p.decls {
			if d.kind == "type" && d.name == t && d.generic {
				return fmt.Errorf("cannot redefine the generic type %s (yaegi v0.16.1 keeps a type's first definition and has no generic aliases, which qlab's redefinition uses); give the new definition a new name, or restart the kernel", t)
			}
		}
		p.old[t] = p.in.redef.current(t)
		if !p.cellKs[t] {
			p.specs[t] = src
		}
	}
	// The session's declarations declared again, in session order.
	for _, it := range items {
		if it.cell {
			continue
		}
		switch {
		case it.kind == "type" && p.batch[it.name],
			it.kind == "method" && p.batch[it.name],
			(it.kind == "func" || it.kind == "const") && names[it.key]:
			p.deps = append(p.deps, dependent{key: it.key, kind: it.kind, name: it.name, src: s.decls[it.key]})
		}
	}
	return nil
}

// isGenericSpec reports whether "type T[...] ..." declares a generic type.
func isGenericSpec(src string) bool {
	f, err := parser.ParseFile(token.NewFileSet(), "", "package p;"+src, parser.SkipObjectResolution)
	if err != nil || len(f.Decls) != 1 {
		return false
	}
	g, ok := f.Decls[0].(*ast.GenDecl)
	if !ok || len(g.Specs) != 1 {
		return false
	}
	ts, ok := g.Specs[0].(*ast.TypeSpec)
	return ok && ts.TypeParams != nil
}

// identSet returns the identifiers of src.
func identSet(src string) map[string]bool {
	var sc scanner.Scanner
	fset := token.NewFileSet()
	b := []byte(src)
	sc.Init(fset.AddFile("", -1, len(b)), b, nil, 0)
	ids := map[string]bool{}
	for {
		_, tok, lit := sc.Scan()
		if tok == token.EOF {
			return ids
		}
		if tok == token.IDENT {
			ids[lit] = true
		}
	}
}

// renameTokens renames the identifiers of src found in ren, except those
// after a dot (fields, methods, package members): a token-level renaming
// for the type checker's copy of earlier definitions.
func renameTokens(src string, ren map[string]string) string {
	var sc scanner.Scanner
	fset := token.NewFileSet()
	b := []byte(src)
	file := fset.AddFile("", -1, len(b))
	sc.Init(file, b, nil, 0)
	var edits []edit
	prev := token.ILLEGAL
	for {
		pos, tok, lit := sc.Scan()
		if tok == token.EOF {
			break
		}
		if tok == token.IDENT && prev != token.PERIOD {
			if to, ok := ren[lit]; ok {
				o := file.Offset(pos)
				edits = append(edits, edit{o, o + len(lit), to})
			}
		}
		prev = tok
	}
	return applyEdits(src, edits)
}

// renameSpec returns "type " + spec with the spec's name made newName and
// the types of the batch it refers to made their internal names, except an
// embedded field's type, whose name is the field's (it resolves through the
// alias declared before it, see typesSource).
func renameSpec(text, newName string, ren map[string]string) string {
	const pre = "package main;"
	src := pre + text
	f, err := parser.ParseFile(token.NewFileSet(), "", src, parser.SkipObjectResolution)
	if err != nil || len(f.Decls) != 1 {
		return text
	}
	g := f.Decls[0].(*ast.GenDecl)
	ts := g.Specs[0].(*ast.TypeSpec)
	edits := []edit{{int(ts.Name.Pos()) - 1, int(ts.Name.End()) - 1, newName}}
	var walk func(e ast.Expr, embedded bool)
	fields := func(fl *ast.FieldList, embeds bool) {
		if fl == nil {
			return
		}
		for _, fd := range fl.List {
			walk(fd.Type, embeds && len(fd.Names) == 0)
		}
	}
	walk = func(e ast.Expr, embedded bool) {
		switch t := e.(type) {
		case *ast.Ident:
			if to, ok := ren[t.Name]; ok && !embedded {
				edits = append(edits, edit{int(t.Pos()) - 1, int(t.End()) - 1, to})
			}
		case *ast.StarExpr:
			walk(t.X, embedded)
		case *ast.ParenExpr:
			walk(t.X, embedded)
		case *ast.ArrayType:
			walk(t.Elt, false)
		case *ast.MapType:
			walk(t.Key, false)
			walk(t.Value, false)
		case *ast.ChanType:
			walk(t.Value, false)
		case *ast.Ellipsis:
			walk(t.Elt, false)
		case *ast.FuncType:
			fields(t.Params, false)
			fields(t.Results, false)
		case *ast.StructType:
			fields(t.Fields, true)
		case *ast.InterfaceType:
			fields(t.Methods, false)
		case *ast.IndexExpr:
			walk(t.X, embedded)
			walk(t.Index, false)
		case *ast.IndexListExpr:
			walk(t.X, embedded)
			for _, x := range t.Indices {
				walk(x, false)
			}
		}
	}
	walk(ts.Type, false)
	return applyEdits(src, edits)[len(pre):]
}

// typesSource is the source declaring the batch's new generations, each
// followed by the alias that makes its name mean it, and the cell's other
// types, ordered so that a type embedding another comes after it. Types of
// the cell are placed at their cell lines where the order allows, so that
// errors name them.
func (p *redefPlan) typesSource() string {
	type ty struct {
		name, text string
		line, col  int
		embeds     []string
	}
	ren := map[string]string{}
	for t := range p.batch {
		ren[t] = genName(t, p.gens[t])
	}
	var all []*ty
	byName := map[string]*ty{}
	for _, d := range p.decls {
		if d.kind == "type" {
			t := &ty{name: d.name, text: d.text, line: d.line, col: d.col} // a type's spec position
			all, byName[d.name] = append(all, t), t
		}
	}
	for name, text := range p.specs {
		t := &ty{name: name, text: text}
		all, byName[name] = append(all, t), t
	}
	sort.SliceStable(all, func(i, j int) bool {
		return all[i].line < all[j].line || all[i].line == all[j].line && all[i].name < all[j].name
	})
	for _, t := range all {
		t.embeds = embeddedTypes(t.text)
	}
	var order []*ty
	seen := map[string]int{} // 1 visiting, 2 done
	var visit func(t *ty)
	visit = func(t *ty) {
		if seen[t.name] != 0 {
			return
		}
		seen[t.name] = 1
		for _, e := range t.embeds {
			if u := byName[e]; u != nil {
				visit(u)
			}
		}
		seen[t.name] = 2
		order = append(order, t)
	}
	for _, t := range all {
		visit(t)
	}
	var b strings.Builder
	line := 1 // yaegi's line of what is written next
	for _, t := range order {
		text := t.text
		if p.batch[t.name] {
			text = renameSpec(text, genName(t.name, p.gens[t.name]), ren) + "; type " + t.name + " = " + genName(t.name, p.gens[t.name])
		}
		// The cell's line L is yaegi's L+1 (see evalSrc); "type" ends the
		// line before the spec.
		if t.line > 0 && (t.line > line || b.Len() == 0 && t.line == line) {
			b.WriteString(strings.Repeat("\n", t.line-1-(line-1)) + "type\n" + strings.Repeat(" ", t.col-1) + strings.TrimPrefix(text, "type "))
			line = t.line + 1
		} else {
			b.WriteString("\n" + text)
			line++
		}
		line += strings.Count(text, "\n")
	}
	return b.String()
}

// embeddedTypes returns the names of the types a "type T struct {...}"
// embeds.
func embeddedTypes(text string) []string {
	f, err := parser.ParseFile(token.NewFileSet(), "", "package p;"+text, parser.SkipObjectResolution)
	if err != nil || len(f.Decls) != 1 {
		return nil
	}
	var out []string
	ast.Inspect(f.Decls[0], func(n ast.Node) bool {
		if st, ok := n.(*ast.StructType); ok {
			for _, fd := range st.Fields.List {
				if len(fd.Names) == 0 {
					if id := recvIdent(fd.Type); id != nil {
						out = append(out, id.Name)
					}
				}
			}
		}
		return true
	})
	return out
}

// chunkSource returns c's text with its type specs blanked (the types
// phase declared them) and the receivers of the batch's methods made the
// new generations' names.
func (p *redefPlan) chunkSource(c chunk, ci int) string {
	if len(p.batch) == 0 {
		return c.src // no types phase
	}
	var edits []edit
	for _, d := range p.decls {
		if d.chunk != ci {
			continue
		}
		switch {
		case d.kind == "type":
			blank := []byte(c.src[d.start-c.off : d.end-c.off])
			for i, ch := range blank {
				if ch != '\n' {
					blank[i] = ' '
				}
			}
			edits = append(edits, edit{d.start - c.off, d.end - c.off, string(blank)})
		case d.kind == "method" && p.batch[d.name]:
			edits = append(edits, edit{d.recvStart - c.off, d.recvEnd - c.off, genName(d.name, p.gens[d.name])})
		}
	}
	return applyEdits(c.src, edits)
}

// depSource is a dependent's source as declared again: a stub when it no
// longer compiles (see withStub), with a method's receiver made its type's
// new generation.
func (p *redefPlan) depSource(d dependent) string {
	src := withStub(d.src, d.stub)
	if d.kind != "method" {
		return src
	}
	const pre = "package main;"
	f, err := parser.ParseFile(token.NewFileSet(), "", pre+src, parser.SkipObjectResolution)
	if err != nil || len(f.Decls) != 1 {
		return src
	}
	fd, ok := f.Decls[0].(*ast.FuncDecl)
	if !ok || fd.Recv == nil || len(fd.Recv.List) == 0 {
		return src
	}
	id := recvIdent(fd.Recv.List[0].Type)
	if id == nil || !p.batch[id.Name] {
		return src
	}
	return applyEdits(src, []edit{{int(id.Pos()) - 1 - len(pre), int(id.End()) - 1 - len(pre), genName(id.Name, p.gens[id.Name])}})
}

// withStub returns a function declaration whose body panics with reason
// (src itself when reason is empty).
func withStub(src, reason string) string {
	if reason == "" {
		return src
	}
	const pre = "package main;"
	f, err := parser.ParseFile(token.NewFileSet(), "", pre+src, parser.SkipObjectResolution)
	if err != nil || len(f.Decls) != 1 {
		return src
	}
	fd, ok := f.Decls[0].(*ast.FuncDecl)
	if !ok || fd.Body == nil {
		return src
	}
	return src[:int(fd.Body.Pos())-1-len(pre)] + "{ panic(" + strconv.Quote(reason) + ") }"
}

// evalDecl evaluates a declaration chunk (index ci) of a cell with a plan.
// The first one declares the new generations (declareTypes); the one
// holding the cell's last changed declaration also declares the session's
// dependent declarations again, after the cell's own (so that they call
// the cell's new functions). A failure before the dependents are declared
// undoes the redefinition (restore).
func (p *redefPlan) evalDecl(ctx context.Context, c chunk, ci int, cs *cellState) error {
	if p.depsDone {
		_, err := p.evalChunkText(ctx, c, p.chunkSource(c, ci), cs)
		return err
	}
	first := !p.started
	if first {
		p.started = true
		p.before = p.checkSession(nil)
		p.snap = p.in.tsess.clone()
		if err := p.declareTypes(ctx, cs, true); err != nil {
			return err
		}
	}
	if ci < p.depChunk {
		if _, err := p.evalChunkText(ctx, c, p.chunkSource(c, ci), cs); err != nil {
			p.restore(ctx)
			return err
		}
		return nil
	}
	p.depsDone = true
	for attempt := 0; ; attempt++ {
		src := p.chunkSource(c, ci)
		line := c.line + strings.Count(src, "\n") + 1 // cell line of the next dependent
		var starts []int
		for _, d := range p.deps {
			if d.kind == "type" {
				starts = append(starts, -1) // declared by typesSource
				continue
			}
			starts = append(starts, line)
			ds := p.depSource(d)
			src += "\n" + ds
			line += strings.Count(ds, "\n") + 1
		}
		at, err := p.evalChunkText(ctx, c, src, cs)
		if err == nil {
			return nil
		}
		if at < 0 {
			p.restore(ctx)
			return err
		}
		// A dependent that the type checker accepted and yaegi does not
		// becomes a stub, and all is declared again with fresh
		// generations (the failed evaluation may have given the new types
		// methods it did not compile) — when no chunk of the cell was
		// evaluated against the generations of this attempt.
		i := -1
		for j, l := range starts {
			if l >= 0 && l <= at {
				i = j
			}
		}
		msg, _ := p.in.redef.userNames(posRE.ReplaceAllString(err.Error(), ""))
		msg = strings.TrimLeft(msg, ": ")
		if i < 0 || !first || attempt > len(p.deps) || p.deps[i].kind == "type" || p.deps[i].kind == "const" || p.deps[i].stub != "" {
			name := "a declaration"
			if i >= 0 {
				name = p.deps[i].key
			}
			p.restore(ctx)
			return &CellError{Name: ErrCompile, Value: fmt.Sprintf("redefining %s: %s, declared by an earlier cell, cannot be declared again against the new definition: %s", strings.Join(p.changed(), ", "), name, msg)}
		}
		p.stub(i, msg, cs)
		if err := p.declareTypes(ctx, cs, false); err != nil {
			return err
		}
	}
}

// abort undoes the redefinition of a cell that failed before its
// dependents were declared again (nothing when p is nil).
func (p *redefPlan) abort(ctx context.Context) {
	if p != nil && p.started && !p.depsDone {
		p.depsDone = true
		p.restore(ctx)
	}
}

// changed names the types and functions the cell changes.
func (p *redefPlan) changed() []string {
	var fs []string
	for f := range p.funcs {
		fs = append(fs, f)
	}
	sort.Strings(fs)
	return append(p.batchNames(), fs...)
}

// declareTypes declares the batch's new generations, each followed by its
// alias (typesSource); the first time, it also gives the first
// generations their second name, updates the type session and makes stubs
// of the dependents that no longer compile.
func (p *redefPlan) declareTypes(ctx context.Context, cs *cellState, first bool) error {
	in := p.in
	if len(p.batch) == 0 {
		if first {
			p.stubFailing(p.before, cs)
		}
		return nil
	}
	// The first definition gets a second name, Tꞏ1, so that a failed
	// redefinition can make T mean it again (restore).
	for _, t := range p.batchNames() {
		if p.old[t] == 1 && !in.redef.base[t] {
			if _, err := in.yi.EvalWithContext(ctx, "type "+genName(t, 1)+" = "+t); err != nil {
				return in.cellError(ctx, err, cs)
			}
			in.redef.mu.Lock()
			if in.redef.base == nil {
				in.redef.base = map[string]bool{}
			}
			in.redef.base[t] = true
			in.redef.mu.Unlock()
		}
	}
	in.redef.mu.Lock()
	if in.redef.used == nil {
		in.redef.used, in.redef.gen = map[string]int{}, map[string]int{}
	}
	for t := range p.batch {
		g := max(in.redef.used[t], in.redef.gen[t], 1) + 1
		in.redef.used[t], p.gens[t] = g, g
	}
	in.redef.mu.Unlock()
	if _, err := in.yi.EvalWithContext(ctx, p.typesSource()); err != nil {
		ce := in.cellError(ctx, err, cs)
		p.restore(ctx)
		return ce
	}
	in.redef.mu.Lock()
	for t, g := range p.gens {
		in.redef.gen[t] = g
	}
	in.redef.mu.Unlock()
	if first {
		if err := p.earlierAdapters(ctx); err != nil {
			ce := in.cellError(ctx, err, cs)
			p.restore(ctx)
			return ce
		}
		p.updateSession(p.before)
		p.stubFailing(p.before, cs)
	}
	return nil
}

// earlierAdapters declares, for each print adapter of a batch type
// (fmtAdapters: _qlabM_T_String calling T's String), a copy for the
// earlier definition, _qlabM_Tꞏk_String: the adapter itself is declared
// again with the new T, and printing a value made earlier (which the type
// checker now sees as a Tꞏk) calls the copy.
func (p *redefPlan) earlierAdapters(ctx context.Context) error {
	s := p.in.tsess
	var b strings.Builder
	for _, k := range append([]string(nil), s.order...) {
		t := adapterType(k)
		if t == "" || !p.batch[t] {
			continue
		}
		old := genName(t, p.old[t])
		key := strings.Replace(k, "_"+t+"_", "_"+old+"_", 1)
		src := renameTokens(s.decls[k], map[string]string{t: old, k: key})
		s.set(key, src)
		b.WriteString(src + "\n")
	}
	if b.Len() == 0 {
		return nil
	}
	_, err := p.in.yi.EvalWithContext(ctx, b.String())
	return err
}

// adapterType returns the type of a print adapter's session key
// (_qlabM_T_m, _qlabMP_T_m; see adapterName), "" for other keys.
func adapterType(key string) string {
	rest, ok := strings.CutPrefix(key, "_qlabMP_")
	if !ok {
		if rest, ok = strings.CutPrefix(key, "_qlabM_"); !ok {
			return ""
		}
	}
	i := strings.LastIndexByte(rest, '_')
	if i <= 0 {
		return ""
	}
	return rest[:i]
}

// restore undoes a redefinition that failed: each type of the batch means
// its earlier definition again, the session is what it was, and the
// functions and constants declared again are declared from it again.
func (p *redefPlan) restore(ctx context.Context) {
	snap := p.snap
	in := p.in
	var b strings.Builder
	in.redef.mu.Lock()
	for _, t := range p.batchNames() {
		fmt.Fprintf(&b, "type %s = %s\n", t, genName(t, p.old[t]))
		if p.old[t] > 1 {
			in.redef.gen[t] = p.old[t]
		} else {
			delete(in.redef.gen, t)
		}
	}
	in.redef.mu.Unlock()
	in.tsess.restore(snap)
	for _, d := range p.deps {
		if d.kind == "func" || d.kind == "const" {
			b.WriteString(in.tsess.decls[d.key] + "\n")
		}
	}
	// Best effort: what does not compile now did not before either.
	_, _ = in.yi.EvalWithContext(ctx, b.String())
}

func (p *redefPlan) batchNames() []string {
	var out []string
	for t := range p.batch {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// evalChunkText evaluates src in place of c's text. An error past the
// cell's last line is a dependent's: its cell line is returned with yaegi's
// error; -1 and a *CellError otherwise.
func (p *redefPlan) evalChunkText(ctx context.Context, c chunk, src string, cs *cellState) (int, error) {
	cs.cur = c
	src, temps := multiVarDecls(src)
	if _, err := p.in.yi.EvalWithContext(ctx, evalSrc(c, src)); err != nil {
		if m := posRE.FindStringSubmatch(err.Error()); m != nil {
			if l, _ := strconv.Atoi(m[1]); l-1 > cs.lines {
				return l - 1, err
			}
		}
		return -1, p.in.cellError(ctx, err, cs)
	}
	p.in.releaseTemps("_qlabM", temps)
	return -1, nil
}

// stub makes dependent i a function that panics with the reason it does
// not compile, and says so on the cell's stderr.
func (p *redefPlan) stub(i int, reason string, cs *cellState) {
	d := &p.deps[i]
	var names []string
	ids := identSet(d.src)
	for t := range p.batch {
		if ids[t] {
			names = append(names, t)
		}
	}
	for f := range p.funcs {
		if ids[f] {
			names = append(names, f)
		}
	}
	sort.Strings(names)
	what := strings.Join(names, ", ")
	if what == "" {
		what = "what this cell redefined"
	}
	d.stub = fmt.Sprintf("%s was declared by an earlier cell against the earlier definition of %s and does not compile against the new one (%s): run its cell again", d.key, what, reason)
	cs.out.Stream("stderr", "qlab: "+d.stub+"; until then, calling it panics\n")
	p.in.tsess.set(d.key, withStub(d.src, d.stub))
}

// checkSession type-checks the session (and the cell, when pc is not nil)
// and returns, per session key, its first error and the types of its
// variables.
type sessionInfo struct {
	errs  map[string]string       // session key → first error in it
	vars  map[string][]types.Type // variable key → types of its names
	names map[string][]string     // variable key → its names
}

func (p *redefPlan) checkSession(pc *parsedCell) *sessionInfo {
	in := p.in
	s := in.tsess
	_, imports := in.idx.snapshot()
	fset := token.NewFileSet()
	skip := map[string]bool{}
	if pc != nil {
		fset = pc.fset
		for k, v := range pc.imports {
			imports[k] = v
		}
		for k := range pc.declars {
			skip[k] = true
		}
	}
	var b strings.Builder
	b.WriteString(importHeader(imports, "\n"))
	type span struct {
		key        string
		start, end int
	}
	var spans []span
	for _, k := range s.order {
		redeclared := false
		for _, name := range strings.Split(k, ",") {
			redeclared = redeclared || skip[name]
		}
		if redeclared {
			continue
		}
		start := b.Len()
		b.WriteString(s.decls[k])
		spans = append(spans, span{k, start, b.Len()})
		b.WriteString("\n")
	}
	info := &sessionInfo{errs: map[string]string{}, vars: map[string][]types.Type{}, names: map[string][]string{}}
	sf, err := parser.ParseFile(fset, "session.go", b.String(), parser.SkipObjectResolution)
	if err != nil {
		return info
	}
	files := []*ast.File{sf}
	if pc != nil {
		for _, f := range pc.files {
			files = append(files, f.file)
		}
	}
	tf := fset.File(sf.Pos())
	keyAt := func(pos token.Pos) string {
		if tf == nil || int(pos) < tf.Base() || int(pos) > tf.Base()+tf.Size() {
			return ""
		}
		o := int(pos) - tf.Base()
		i := sort.Search(len(spans), func(i int) bool { return spans[i].end >= o })
		if i < len(spans) && spans[i].start <= o {
			return spans[i].key
		}
		return ""
	}
	defs := map[*ast.Ident]types.Object{}
	conf := types.Config{Importer: in.types, FakeImportC: true, Error: func(err error) {
		te, ok := err.(types.Error)
		if !ok || te.Soft {
			return
		}
		if k := keyAt(te.Pos); k != "" && info.errs[k] == "" {
			info.errs[k] = te.Msg
		}
	}}
	chk := types.NewChecker(&conf, fset, types.NewPackage("main", "main"), &types.Info{Defs: defs})
	func() {
		defer func() { recover() }() // the checker must not take the kernel down
		chk.Files(files)
	}()
	for id, obj := range defs {
		v, ok := obj.(*types.Var)
		if !ok || v.Parent() == nil || v.Parent().Parent() != types.Universe {
			continue
		}
		k := keyAt(id.Pos())
		if k == "" || !strings.HasPrefix(s.decls[k], "var ") {
			continue
		}
		info.vars[k] = append(info.vars[k], v.Type())
		info.names[k] = append(info.names[k], id.Name)
	}
	return info
}

// updateSession keeps the type checker's view right after the batch got
// new generations: each earlier definition stays as Tꞏk with its methods,
// and a variable whose type involves one is declared with it.
func (p *redefPlan) updateSession(old *sessionInfo) {
	s := p.in.tsess
	ren := map[string]string{}
	for t := range p.batch {
		ren[t] = genName(t, p.old[t])
	}
	for _, k := range append([]string(nil), s.order...) {
		src := s.decls[k]
		switch {
		case strings.HasPrefix(src, "type ") && p.batch[k]:
			s.set(ren[k], renameTokens(src, ren))
		case strings.HasPrefix(src, "func ("):
			t, m, _ := strings.Cut(k, ".")
			if p.batch[t] {
				s.set(ren[t]+"."+m, renameTokens(src, ren))
			}
		}
	}
	for k, ts := range old.vars {
		names := old.names[k]
		var specs []string
		changed := false
		for i, t := range ts {
			str := types.TypeString(t, func(pk *types.Package) string {
				if pk.Path() == "main" {
					return ""
				}
				return pk.Name()
			})
			if strings.Contains(str, "invalid type") {
				specs = nil
				break
			}
			r := renameTokens(str, ren)
			changed = changed || r != str
			specs = append(specs, "var "+names[i]+" "+r)
		}
		if changed && len(specs) == len(ts) {
			s.set(k, strings.Join(specs, "; "))
		}
	}
	s.pruneGenerations()
}

// pruneGenerations drops from the session the earlier generations no
// variable's type needs any more (directly, or through another earlier
// generation's declaration), so that the type checker's work does not
// grow with the number of redefinitions.
func (s *typeSession) pruneGenerations() {
	need := map[string]bool{}
	var todo []string
	mark := func(src string) {
		for id := range identSet(src) {
			if strings.Contains(id, genMark) && !need[id] {
				need[id] = true
				todo = append(todo, id)
			}
		}
	}
	for k, src := range s.decls {
		if !strings.Contains(k, genMark) && strings.HasPrefix(src, "var ") {
			mark(src)
		}
	}
	for len(todo) > 0 {
		t := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		for _, k := range s.order {
			if k == t || strings.HasPrefix(k, t+".") {
				mark(s.decls[k])
			}
		}
	}
	order := s.order[:0]
	for _, k := range s.order {
		name, _, _ := strings.Cut(k, ".")
		if t := adapterType(k); t != "" {
			name = t
		}
		if strings.Contains(name, genMark) && !need[name] {
			delete(s.decls, k)
			continue
		}
		order = append(order, k)
	}
	s.order = order
}

// stubFailing type-checks the cell with the session and makes a stub of
// each dependent that has an error it did not have before the cell.
func (p *redefPlan) stubFailing(old *sessionInfo, cs *cellState) {
	if len(p.deps) == 0 {
		return
	}
	_, imports := p.in.idx.snapshot()
	pc := parseCell(p.code, imports)
	if pc == nil {
		return
	}
	now := p.checkSession(pc)
	for i, d := range p.deps {
		if msg := now.errs[d.key]; msg != "" && old.errs[d.key] == "" && d.kind != "type" && d.kind != "const" {
			msg, _ = p.in.redef.userNames(msg)
			p.stub(i, msg, cs)
		}
	}
}

// constGroupKey is the session key of a grouped constant declaration: its
// names joined by commas.
func constGroupKey(d *ast.GenDecl) string {
	var names []string
	for _, sp := range d.Specs {
		for _, n := range sp.(*ast.ValueSpec).Names {
			names = append(names, n.Name)
		}
	}
	return strings.Join(names, ",")
}

// clone returns a copy of the session.
func (s *typeSession) clone() *typeSession {
	c := &typeSession{order: append([]string(nil), s.order...), decls: make(map[string]string, len(s.decls)), mains: s.mains}
	for k, v := range s.decls {
		c.decls[k] = v
	}
	return c
}

// restore makes the session what c, its clone, was.
func (s *typeSession) restore(c *typeSession) {
	s.order, s.decls, s.mains = c.order, c.decls, c.mains
}

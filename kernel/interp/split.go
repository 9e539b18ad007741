package interp

import (
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"strings"
)

// chunkKind says how a chunk of a cell is evaluated.
type chunkKind int

const (
	chunkImport chunkKind = iota // import declarations
	chunkDecl                    // func, method, type, const and var declarations
	chunkStmt                    // statements, run in order
)

func (k chunkKind) String() string {
	return [...]string{"import", "decl", "stmt"}[k]
}

// chunk is a run of consecutive top-level items of one kind.
type chunk struct {
	kind chunkKind
	src  string // the items' text, exactly as in the cell
	line int    // 1-based cell line of src's first byte
	col  int    // 1-based column (bytes) of src's first byte
	off  int    // byte offset of src in the cell

	// redefine is set on a statement chunk "a, b := rhs" that yaegi's top
	// level gets wrong when evaluated as written (see redefinition).
	redefine *redefinition

	// wrap is set on a compound statement (for, if, switch, select, block)
	// evaluated as the body of a function: at yaegi v0.16.1's top level, a
	// nested "v, err := f()" leaves v and err undefined. Such statements
	// declare nothing outside themselves, so the wrapper changes no
	// meaning (labels and goto across top-level statements excepted).
	wrap bool
}

// redefinition is the parts of "names := rhs", a statement evaluated on
// its own because yaegi v0.16.1 mishandles two forms at the top level:
//   - self is set when rhs uses a name being defined: yaegi zeroes a
//     redeclared variable before evaluating rhs (x := x + 1 gives 1), so
//     rhs is first stored in temporaries;
//   - a multi-value call on the right (a, b := f()) defines globals that
//     a function called from another function reads from the wrong slot
//     (yaegi v0.16.1's bug, see doc.go), so its values are also first
//     stored in temporaries, then defined from them one value each;
//   - a single call on the right may return a type computed from type
//     parameters (k := maps.Keys(m)), for which yaegi crashes sizing the new
//     global; the value then goes through an interface (see
//     (*Interpreter).defineViaInterface).
type redefinition struct {
	names []string
	rhs   string
	off   int  // byte offset of rhs in the cell
	self  bool // rhs goes through temporaries _qlabT0, _qlabT1, ...

	// commaOK is set on "v, ok := rhs" with rhs a type assertion, map index
	// or receive, which yaegi v0.16.1 cannot define at the top level (it
	// crashes with "nil type"); valueType is then the text of v's type for
	// an assertion, pure whether rhs may be evaluated twice (a map index of
	// names and literals), used to give v its type.
	commaOK   bool
	valueType string
	pure      bool
}

// item is one top-level item of a cell: everything up to a semicolon
// (explicit or inserted at a newline) outside brackets.
type item struct {
	kind       chunkKind
	start, end int // byte offsets in the cell
	first      token.Token
}

// split cuts a cell into chunks of imports, declarations and statements, in
// source order. yaegi evaluates one Eval either as a file (imports and
// declarations) or as statements, and rejects a mix ("expected
// declaration"), while Go users write both in one cell. Splitting on the
// token stream rather than an AST keeps the cell's own text and positions, and
// works for cells that do not parse (the error then comes from the chunk that
// holds it, with its line). A var declaration is a declaration (a
// package-level variable: no "declared and not used" error, kept across
// cells).
//
// The last statement item, when it is an expression, is returned separately
// as trailing; its value is the cell's result.
func split(src string) (chunks []chunk, trailing *chunk) {
	items := splitItems(src)
	if len(items) == 0 {
		return nil, nil
	}
	lines := lineStarts(src)
	pos := func(off int) (line, col int) {
		l := 0
		for l+1 < len(lines) && lines[l+1] <= off {
			l++
		}
		return l + 1, off - lines[l] + 1
	}
	last := items[len(items)-1]
	if last.kind == chunkStmt {
		text := src[last.start:last.end]
		if e, err := parser.ParseExpr(text); err == nil && e != nil {
			items = items[:len(items)-1]
			l, c := pos(last.start)
			trailing = &chunk{kind: chunkStmt, src: text, line: l, col: c, off: last.start}
		}
	}
	for _, it := range items {
		if it.kind == chunkStmt {
			if rd := selfRedefinition(src, it); rd != nil {
				l, c := pos(it.start)
				chunks = append(chunks, chunk{kind: chunkStmt, src: src[it.start:it.end], line: l, col: c, off: it.start, redefine: rd})
				continue
			}
		}
		if it.kind == chunkStmt && compound(it.first) {
			l, c := pos(it.start)
			chunks = append(chunks, chunk{kind: chunkStmt, src: src[it.start:it.end], line: l, col: c, off: it.start, wrap: true})
			continue
		}
		if n := len(chunks); n > 0 && chunks[n-1].kind == it.kind && chunks[n-1].redefine == nil && !chunks[n-1].wrap {
			c := &chunks[n-1]
			c.src = src[c.off:it.end]
			continue
		}
		l, c := pos(it.start)
		chunks = append(chunks, chunk{kind: it.kind, src: src[it.start:it.end], line: l, col: c, off: it.start})
	}
	return chunks, trailing
}

func lineStarts(src string) []int {
	starts := []int{0}
	for i := 0; i < len(src); i++ {
		if src[i] == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// scanTok is one token of a cell.
type scanTok struct {
	tok token.Token
	off int
	end int // byte offset just past the token
}

// splitItems scans src and returns its top-level items.
func splitItems(src string) []item {
	fset := token.NewFileSet()
	file := fset.AddFile("cell", -1, len(src))
	var s scanner.Scanner
	// Errors are ignored here: the chunk holding a bad token fails to
	// compile, with a position, when it is evaluated.
	s.Init(file, []byte(src), func(token.Position, string) {}, 0)

	var items []item
	var cur []scanTok
	depth := 0
	// header is set between an if/for/switch keyword and the brace that
	// opens its block: semicolons there separate the header's clauses.
	header := false
	flush := func() {
		if len(cur) == 0 {
			return
		}
		items = append(items, item{kind: classify(cur), start: cur[0].off, end: cur[len(cur)-1].end, first: cur[0].tok})
		cur = cur[:0]
		header = false
	}
	for {
		p, t, lit := s.Scan()
		off := file.Offset(p)
		if t == token.EOF {
			flush()
			break
		}
		switch t {
		case token.IF, token.FOR, token.SWITCH, token.SELECT:
			if depth == 0 {
				header = true
			}
		case token.LBRACE:
			if depth == 0 {
				header = false
			}
			depth++
		case token.LPAREN, token.LBRACK:
			depth++
		case token.RPAREN, token.RBRACK, token.RBRACE:
			if depth > 0 {
				depth--
			}
		case token.SEMICOLON:
			if depth == 0 && !(header && lit == ";") {
				flush()
				continue
			}
			if lit == "\n" {
				continue // inserted inside brackets: not part of the text
			}
		case token.COMMENT:
			continue
		}
		end := off + len(lit)
		if lit == "" {
			end = off + len(t.String())
		}
		cur = append(cur, scanTok{t, off, end})
	}
	return items
}

// classify tells a declaration from a statement by its first tokens.
func classify(toks []scanTok) chunkKind {
	switch toks[0].tok {
	case token.IMPORT:
		return chunkImport
	case token.TYPE, token.CONST, token.VAR:
		return chunkDecl
	case token.FUNC:
		if len(toks) < 2 {
			return chunkStmt
		}
		switch toks[1].tok {
		case token.IDENT:
			return chunkDecl // func Name(...)
		case token.LPAREN:
		default:
			return chunkStmt
		}
		// func (recv T) Name(...) is a method; func (args) {...}(...) is a
		// literal. After the first parenthesized group, a method has a name.
		d := 0
		for i := 1; i < len(toks); i++ {
			switch toks[i].tok {
			case token.LPAREN:
				d++
			case token.RPAREN:
				d--
				if d == 0 {
					if i+1 < len(toks) && toks[i+1].tok == token.IDENT {
						return chunkDecl
					}
					return chunkStmt
				}
			}
		}
	}
	return chunkStmt
}

// selfRedefinition returns the parts of it when it is "a, b := rhs" with a
// or b used in rhs, "a, b := f(...)", or "a := f(...)", nil otherwise.
func selfRedefinition(src string, it item) *redefinition {
	text := src[it.start:it.end]
	if !strings.Contains(text, ":=") {
		return nil
	}
	const pre = "package p;func _(){"
	base := token.Pos(len(pre) + 1)
	f, err := parser.ParseFile(token.NewFileSet(), "", pre+text+"\n}", 0)
	if err != nil || len(f.Decls) != 1 {
		return nil
	}
	body := f.Decls[0].(*ast.FuncDecl).Body.List
	if len(body) != 1 {
		return nil
	}
	as, ok := body[0].(*ast.AssignStmt)
	if !ok || as.Tok != token.DEFINE {
		return nil
	}
	names := map[string]bool{}
	var list []string
	for _, l := range as.Lhs {
		id, ok := l.(*ast.Ident)
		if !ok {
			return nil
		}
		names[id.Name] = true
		list = append(list, id.Name)
	}
	used := false
	for _, r := range as.Rhs {
		ast.Inspect(r, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok && names[id.Name] {
				used = true
			}
			return !used
		})
	}
	if len(as.Lhs) == 2 && len(as.Rhs) == 1 {
		rd := &redefinition{names: list, commaOK: true}
		switch r := unparen(as.Rhs[0]).(type) {
		case *ast.TypeAssertExpr:
			if r.Type != nil {
				rd.valueType = text[r.Type.Pos()-base : r.Type.End()-base]
			}
		case *ast.IndexExpr:
			rd.pure = pureExpr(r.X) && pureExpr(r.Index)
		case *ast.UnaryExpr:
			if r.Op != token.ARROW {
				rd = nil
			}
		default:
			rd = nil
		}
		if rd != nil {
			start := int(as.Rhs[0].Pos() - base)
			rd.rhs, rd.off = text[start:int(as.Rhs[0].End()-base)], it.start+start
			return rd
		}
	}
	_, call := as.Rhs[0].(*ast.CallExpr)
	single := len(as.Lhs) == 1 && len(as.Rhs) == 1 && call && list[0] != "_"
	// a, b := f() gives a and b slots that a function reads wrongly when
	// called from another function; a, b := t0, t1 does not.
	multi := len(as.Lhs) > 1 && len(as.Rhs) == 1
	if !used && !single && !multi {
		return nil
	}
	start := int(as.Rhs[0].Pos() - base)
	end := int(as.Rhs[len(as.Rhs)-1].End() - base)
	return &redefinition{names: list, rhs: text[start:end], off: it.start + start, self: used || multi}
}

// compound reports whether a statement starting with t has a block.
func compound(t token.Token) bool {
	switch t {
	case token.FOR, token.IF, token.SWITCH, token.SELECT, token.LBRACE:
		return true
	}
	return false
}

// pureExpr reports whether evaluating e twice is the same as once: a name,
// a literal or a selector of names.
func pureExpr(e ast.Expr) bool {
	switch e := unparen(e).(type) {
	case *ast.Ident, *ast.BasicLit:
		return true
	case *ast.SelectorExpr:
		return pureExpr(e.X)
	}
	return false
}

package interp

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"reflect"
	"regexp"
	"strconv"
	"strings"
)

// Go's bounds errors, after the fact.
//
// yaegi indexes and slices through reflect, whose panics carry no numbers
// ("reflect: slice index out of range"), where compiled Go says "index out
// of range [5] with length 3". The numbers are gone when the panic reaches
// the kernel, and checking every index before it runs would slow every
// interpreted loop. So the kernel finds them afterwards, where it can: in
// code that runs at a cell's top level, the operands of an index or slice
// expression are globals and constants, which still hold the values they
// had when the panic happened. boundsDetail re-reads them for the
// expressions of the failing chunk that have no calls, no receives and no
// names local to the chunk (a compound statement's loop variable, say), and
// reports the first one that is out of range, in Go's own words and at its
// own position. Inside a function the operands are the function's locals,
// which no longer exist: the error then names the expression instead.

// boundsKind is which of reflect's bounds panics was caught.
type boundsKind int

const (
	boundsIndex boundsKind = iota + 1
	boundsSlice
)

// String is Go's message for the kind without its numbers.
func (k boundsKind) String() string {
	if k == boundsSlice {
		return "slice bounds out of range"
	}
	return "index out of range"
}

// reflectBounds maps reflect's bounds panics to their kind; goError gives
// the kind's message where the numbers are not looked for.
var reflectBounds = map[string]boundsKind{
	"reflect: slice index out of range":                     boundsIndex,
	"reflect: array index out of range":                     boundsIndex,
	"reflect: string index out of range":                    boundsIndex,
	"reflect.Value.Slice: slice index out of bounds":        boundsSlice,
	"reflect.Value.Slice: string slice index out of bounds": boundsSlice,
	"reflect.Value.Slice3: slice index out of bounds":       boundsSlice,
}

// frameRE matches a traceback entry written by frames.
var frameRE = regexp.MustCompile(`^  at line (\d+):(\d+) in (.*)$`)

// boundsDetail returns Go's message for a bounds panic of the given kind
// raised while chunk c of the cell ran, and the traceback with its
// innermost entry moved to the failing expression. ok is false when the
// numbers cannot be known; msg then still names the failing expression
// when it is the only candidate.
func (in *Interpreter) boundsDetail(kind boundsKind, c chunk, code string, trace []string) (msg string, out []string, ok bool) {
	generic := kind.String()
	if len(trace) == 0 || c.src == "" || c.kind == chunkImport || c.kind == chunkDecl {
		return generic, trace, false
	}
	m := frameRE.FindStringSubmatch(trace[0])
	if m == nil {
		return generic, trace, false
	}
	if m[3] != "cell" && m[3] != "main._qlabW" {
		line, _ := strconv.Atoi(m[1])
		col, _ := strconv.Atoi(m[2])
		if e, ok := boundsAt(kind, code, strings.TrimPrefix(m[3], "main."), line, col); ok {
			return generic + " in " + e + localsGone, trace, false
		}
		return generic, trace, false
	}
	all, cands := boundsCandidates(kind, c)
	for _, e := range cands {
		if text, ok := in.boundsMessage(e.fset, e.expr); ok {
			out = append([]string{fmt.Sprintf("  at line %d:%d in cell", e.line, e.col)}, trace[1:]...)
			return text, out, true
		}
	}
	if len(all) == 1 {
		e := all[0]
		out = append([]string{fmt.Sprintf("  at line %d:%d in cell", e.line, e.col)}, trace[1:]...)
		return generic + " in " + exprText(e.fset, e.expr) + localsGone, out, false
	}
	return generic, trace, false
}

// localsGone ends a bounds message whose numbers are not known.
const localsGone = " (its operands were local, so their values are gone after the panic)"

// boundsAt returns the text of the index (or slice) expression at line:col
// of the cell when it lies in the function fn the cell declares: the
// position of a panic in a function is exact, but is a position in the
// cell that declared the function, which may be an earlier one.
func boundsAt(kind boundsKind, code, fn string, line, col int) (string, bool) {
	chunks, _ := split(code)
	var text string
	for _, c := range chunks {
		if c.kind != chunkDecl || line < c.line {
			continue
		}
		// Padded so that positions are the cell's.
		fset := token.NewFileSet()
		src := "package p;" + strings.Repeat("\n", c.line-1) + strings.Repeat(" ", c.col-1) + c.src
		f, err := parser.ParseFile(fset, "", src, parser.SkipObjectResolution)
		if err == nil {
			text = boundsIn(f, fset, kind, fn, line, col)
		}
		if text != "" {
			break
		}
	}
	return text, text != ""
}

// boundsIn returns the text of the index (or slice) expression of
// function fn in f that failed at line:col: the one at that position, or
// else the only one in fn (yaegi's position of a panic is where the run of
// the failing statement's block started, which is the expression itself
// only sometimes).
func boundsIn(f *ast.File, fset *token.FileSet, kind boundsKind, fn string, line, col int) string {
	var exact string
	var all []string
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Name.Name != fn || fd.Recv != nil {
			continue
		}
		ast.Inspect(fd, func(n ast.Node) bool {
			e, ok := n.(ast.Expr)
			if !ok {
				return true
			}
			_, isIndex := e.(*ast.IndexExpr)
			_, isSlice := e.(*ast.SliceExpr)
			if (kind == boundsIndex && isIndex) || (kind == boundsSlice && isSlice) {
				all = append(all, exprText(fset, e))
				if p := fset.Position(e.Pos()); p.Line == line && p.Column == col {
					exact = all[len(all)-1]
				}
			}
			return true
		})
	}
	if exact == "" && len(all) == 1 {
		exact = all[0]
	}
	return exact
}

// exprText prints e.
func exprText(fset *token.FileSet, e ast.Expr) string {
	var b strings.Builder
	if err := printer.Fprint(&b, fset, e); err != nil {
		return ""
	}
	return b.String()
}

// boundsExpr is an index or slice expression of a chunk, with its cell
// position.
type boundsExpr struct {
	expr      ast.Expr
	fset      *token.FileSet
	line, col int
}

// boundsCandidates returns the index (or slice) expressions of chunk c
// whose operands can be read again after the panic: no calls, receives or
// function literals, and no name declared inside the chunk when the chunk
// runs as a function body (c.wrap). They are in source order, which is the
// order they run in, near enough for the first out-of-range one to be the
// one that failed.
func boundsCandidates(kind boundsKind, c chunk) (all, cands []boundsExpr) {
	const head = "package p;func _(){\n"
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", head+c.src+"\n}", parser.SkipObjectResolution)
	if err != nil {
		return nil, nil
	}
	local := map[string]bool{}
	if c.wrap {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.AssignStmt:
				if n.Tok == token.DEFINE {
					for _, l := range n.Lhs {
						if id, ok := l.(*ast.Ident); ok {
							local[id.Name] = true
						}
					}
				}
			case *ast.RangeStmt:
				for _, e := range []ast.Expr{n.Key, n.Value} {
					if id, ok := e.(*ast.Ident); ok {
						local[id.Name] = true
					}
				}
			case *ast.ValueSpec:
				for _, id := range n.Names {
					local[id.Name] = true
				}
			case *ast.TypeSwitchStmt:
				if a, ok := n.Assign.(*ast.AssignStmt); ok {
					for _, l := range a.Lhs {
						if id, ok := l.(*ast.Ident); ok {
							local[id.Name] = true
						}
					}
				}
			}
			return true
		})
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.IndexExpr:
			if kind == boundsIndex {
				all = append(all, position(fset, n, c))
				if rereadable(n.X, local) && rereadable(n.Index, local) {
					cands = append(cands, all[len(all)-1])
				}
			}
		case *ast.SliceExpr:
			if kind == boundsSlice {
				all = append(all, position(fset, n, c))
				if rereadable(n.X, local) && rereadable(n.Low, local) &&
					rereadable(n.High, local) && rereadable(n.Max, local) {
					cands = append(cands, all[len(all)-1])
				}
			}
		}
		return true
	})
	return all, cands
}

// position is e's position in the cell: the chunk's body starts on line 2
// of the parsed file, at column 1 (or at c.col on the chunk's first line).
func position(fset *token.FileSet, e ast.Expr, c chunk) boundsExpr {
	p := fset.Position(e.Pos())
	line, col := c.line+p.Line-2, p.Column
	if p.Line == 2 {
		col += c.col - 1
	}
	return boundsExpr{expr: e, fset: fset, line: line, col: col}
}

// rereadable reports whether e (nil included) can be evaluated again
// without effects and without names local to the chunk.
func rereadable(e ast.Expr, local map[string]bool) bool {
	ok := true
	if e == nil {
		return true
	}
	ast.Inspect(e, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr, *ast.FuncLit, *ast.CompositeLit, *ast.TypeAssertExpr, *ast.StarExpr:
			ok = false
		case *ast.UnaryExpr:
			ok = ok && n.Op != token.ARROW && n.Op != token.AND
		case *ast.SelectorExpr:
			// Only the leftmost name can be local.
			ok = ok && rereadable(n.X, local)
			return false
		case *ast.Ident:
			ok = ok && !local[n.Name]
		}
		return ok
	})
	return ok
}

// boundsMessage evaluates e's operands and returns Go's message when e is
// out of range now.
func (in *Interpreter) boundsMessage(fset *token.FileSet, e ast.Expr) (string, bool) {
	// eval reads x again in the interpreter.
	eval := func(x ast.Expr) (reflect.Value, bool) {
		s := exprText(fset, x)
		if s == "" {
			return reflect.Value{}, false
		}
		v, err := in.evalQuiet("(" + s + ")")
		return v, err == nil && v.IsValid()
	}
	num := func(x ast.Expr) (int64, bool) {
		v, ok := eval(x)
		if !ok {
			return 0, false
		}
		switch v.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			return v.Int(), true
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			return int64(v.Uint()), true
		}
		return 0, false
	}
	// sequence evaluates x and returns its length, its capacity and
	// whether Go reports capacity (a slice) or length (a string, an array).
	sequence := func(x ast.Expr) (n, c int64, isSlice, ok bool) {
		v, ok := eval(x)
		if !ok {
			return 0, 0, false, false
		}
		if v.Kind() == reflect.Pointer && !v.IsNil() && v.Elem().Kind() == reflect.Array {
			v = v.Elem()
		}
		switch v.Kind() {
		case reflect.Slice:
			return int64(v.Len()), int64(v.Cap()), true, true
		case reflect.String, reflect.Array:
			return int64(v.Len()), int64(v.Len()), false, true
		}
		return 0, 0, false, false
	}
	switch e := e.(type) {
	case *ast.IndexExpr:
		n, _, _, ok := sequence(e.X)
		if !ok {
			return "", false
		}
		i, ok := num(e.Index)
		if !ok || (i >= 0 && i < n) {
			return "", false
		}
		if i < 0 {
			return fmt.Sprintf("index out of range [%d]", i), true
		}
		return fmt.Sprintf("index out of range [%d] with length %d", i, n), true
	case *ast.SliceExpr:
		n, c, isSlice, ok := sequence(e.X)
		if !ok {
			return "", false
		}
		bound := func(x ast.Expr, def int64) (int64, bool) {
			if x == nil {
				return def, true
			}
			return num(x)
		}
		lo, ok1 := bound(e.Low, 0)
		hi, ok2 := bound(e.High, n)
		if !ok1 || !ok2 {
			return "", false
		}
		limit, what := n, "length"
		if isSlice {
			limit, what = c, "capacity"
		}
		if e.Slice3 {
			mx, ok := num(e.Max)
			if !ok {
				return "", false
			}
			switch {
			case mx < 0:
				return fmt.Sprintf("slice bounds out of range [::%d]", mx), true
			case mx > limit:
				return fmt.Sprintf("slice bounds out of range [::%d] with %s %d", mx, what, limit), true
			case hi < 0:
				return fmt.Sprintf("slice bounds out of range [:%d:]", hi), true
			case hi > mx:
				return fmt.Sprintf("slice bounds out of range [:%d:%d]", hi, mx), true
			case lo < 0:
				return fmt.Sprintf("slice bounds out of range [%d::]", lo), true
			case lo > hi:
				return fmt.Sprintf("slice bounds out of range [%d:%d:]", lo, hi), true
			}
			return "", false
		}
		switch {
		case hi < 0:
			return fmt.Sprintf("slice bounds out of range [:%d]", hi), true
		case hi > limit:
			return fmt.Sprintf("slice bounds out of range [:%d] with %s %d", hi, what, limit), true
		case lo < 0:
			return fmt.Sprintf("slice bounds out of range [%d:]", lo), true
		case lo > hi:
			return fmt.Sprintf("slice bounds out of range [%d:%d]", lo, hi), true
		}
	}
	return "", false
}

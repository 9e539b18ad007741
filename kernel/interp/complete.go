package interp

import (
	"go/scanner"
	"go/token"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

var keywords = []string{
	"break", "case", "chan", "const", "continue", "default", "defer", "else",
	"fallthrough", "for", "func", "go", "goto", "if", "import", "interface",
	"map", "package", "range", "return", "select", "struct", "switch", "type", "var",
}

var builtins = []string{
	"append", "bool", "byte", "cap", "clear", "close", "complex", "complex64",
	"complex128", "copy", "delete", "error", "false", "float32", "float64",
	"imag", "int", "int8", "int16", "int32", "int64", "iota", "len", "make",
	"max", "min", "new", "nil", "panic", "print", "println", "real", "recover",
	"rune", "string", "true", "uint", "uint8", "uint16", "uint32", "uint64", "uintptr", "any",
}

// byteOffset converts a cursor in code points to a byte offset in code,
// clamped to the code.
func byteOffset(code string, cursor int) int {
	if cursor <= 0 {
		return 0
	}
	n := 0
	for i := range code {
		if n == cursor {
			return i
		}
		n++
	}
	return len(code)
}

// runeCount returns the code point position of byte offset off.
func runeCount(code string, off int) int { return utf8.RuneCountInString(code[:off]) }

func isIdentRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// identBefore returns the start of the identifier characters that end at off.
func identBefore(code string, off int) int {
	start := off
	for start > 0 {
		r, size := utf8.DecodeLastRuneInString(code[:start])
		if !isIdentRune(r) {
			break
		}
		start -= size
	}
	return start
}

// selectorBefore returns the dotted identifier chain ending just before a
// '.' at off-1 ("p.Title" for "p.Title.|"), or "" when there is none.
func selectorBefore(code string, off int) string {
	if off == 0 || code[off-1] != '.' {
		return ""
	}
	end := off - 1
	start := end
	for {
		s := identBefore(code, start)
		if s == start {
			break
		}
		start = s
		if start > 0 && code[start-1] == '.' {
			start--
			continue
		}
		break
	}
	return strings.TrimPrefix(code[start:end], ".")
}

var importPathRE = regexp.MustCompile(`(?m)(?:^\s*import\s+(?:[\w.]+\s+)?|^\s*(?:[\w.]+\s+)?)"([^"\n]*)$`)

// Complete returns the completions of the identifier before cursor (in code
// points) and the range [start, end) of code points they replace: names in
// scope (cell declarations, variables, imported packages, keywords and
// builtins) for a bare identifier; exported members of an imported package
// after "pkg."; fields and methods of a variable's type after "x.";
// importable package paths inside an import's quotes.
func (in *Interpreter) Complete(code string, cursor int) (matches []string, start, end int) {
	off := byteOffset(code, cursor)
	end = cursor
	if m := importPathRE.FindStringSubmatchIndex(code[:off]); m != nil && inImport(code[:off]) {
		prefix := code[m[2]:m[3]]
		for _, p := range importPaths() {
			if strings.HasPrefix(p, prefix) {
				matches = append(matches, p)
			}
		}
		return matches, runeCount(code, m[2]), end
	}
	s := identBefore(code, off)
	prefix := code[s:off]
	start = runeCount(code, s)
	var cands []string
	if sel := selectorBefore(code, s); sel != "" {
		cands = in.members(sel)
	} else if s > 0 && code[s-1] == '.' {
		return nil, start, end // a selector on something we cannot evaluate
	} else {
		cands = in.scopeNames()
	}
	seen := map[string]bool{}
	for _, c := range cands {
		if strings.HasPrefix(c, prefix) && !seen[c] && !strings.HasPrefix(c, "_qlab") {
			seen[c] = true
			matches = append(matches, c)
		}
	}
	sort.Strings(matches)
	return matches, start, end
}

// inImport reports whether the text ends inside an import declaration.
func inImport(before string) bool {
	var s scanner.Scanner
	fset := token.NewFileSet()
	f := fset.AddFile("", -1, len(before))
	s.Init(f, []byte(before), func(token.Position, string) {}, 0)
	in, paren := false, false
	for {
		p, t, lit := s.Scan()
		switch t {
		case token.EOF:
			return in
		case token.IMPORT:
			in, paren = true, false
		case token.LPAREN:
			if in {
				paren = true
			}
		case token.RPAREN:
			in = false
		case token.SEMICOLON:
			if lit == "\n" && f.Offset(p) >= len(before) {
				continue // inserted at the end of the text
			}
			if !paren {
				in = false
			}
		case token.IDENT, token.STRING, token.PERIOD, token.COMMENT:
		default:
			in = false
		}
	}
}

// scopeNames lists the names a bare identifier may complete to.
func (in *Interpreter) scopeNames() []string {
	decls, imports := in.idx.snapshot()
	out := append(append([]string{}, keywords...), builtins...)
	for n := range decls {
		out = append(out, n)
	}
	for n := range imports {
		out = append(out, n)
	}
	if in.mu.TryLock() {
		for n := range in.yi.Globals() {
			out = append(out, n)
		}
		in.mu.Unlock()
	}
	return out
}

// members lists the members of sel: an imported package's exported names,
// or the fields and methods of a variable's (or field's) type.
func (in *Interpreter) members(sel string) []string {
	_, imports := in.idx.snapshot()
	parts := strings.Split(sel, ".")
	if path, ok := imports[parts[0]]; ok && len(parts) == 1 {
		var out []string
		if t := allTables()[path]; t != nil {
			for n := range t.syms {
				out = append(out, n)
			}
		}
		return append(out, in.sourcePkgNames(path)...)
	}
	v, ok := in.lookupValue(parts)
	if !ok {
		return nil
	}
	return in.typeMembers(v.Type())
}

// sourcePkgNames lists exported names of an interpreted (source) package,
// such as the generic slices and maps.
func (in *Interpreter) sourcePkgNames(path string) []string {
	if !in.mu.TryLock() {
		return nil
	}
	defer in.mu.Unlock()
	var out []string
	for _, syms := range in.yi.Symbols(path) {
		for n := range syms {
			out = append(out, n)
		}
	}
	return out
}

// lookupValue finds a global variable and follows field selectors.
func (in *Interpreter) lookupValue(parts []string) (reflect.Value, bool) {
	if !in.mu.TryLock() {
		return reflect.Value{}, false
	}
	g := in.yi.Globals()
	in.mu.Unlock()
	v, ok := g[parts[0]]
	if !ok || !v.IsValid() {
		return reflect.Value{}, false
	}
	for _, f := range parts[1:] {
		for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			return reflect.Value{}, false
		}
		v = v.FieldByName(f)
		if !v.IsValid() {
			return reflect.Value{}, false
		}
	}
	for v.Kind() == reflect.Interface && !v.IsNil() {
		v = v.Elem()
	}
	return v, true
}

// typeMembers lists the fields and methods of t: compiled methods through
// reflect, and methods declared in cells for interpreted types (which
// reflect does not see) by matching t against the cells' types.
func (in *Interpreter) typeMembers(t reflect.Type) []string {
	var out []string
	pt := t
	if t.Kind() != reflect.Pointer {
		pt = reflect.PointerTo(t)
	}
	for i := 0; i < pt.NumMethod(); i++ {
		out = append(out, pt.Method(i).Name)
	}
	st := t
	if st.Kind() == reflect.Pointer {
		st = st.Elem()
	}
	if st.Kind() == reflect.Struct {
		for i := 0; i < st.NumField(); i++ {
			if f := st.Field(i); f.IsExported() || st.PkgPath() == "" {
				out = append(out, f.Name)
			}
		}
	}
	if name := in.interpretedTypeName(st); name != "" {
		out = append(out, in.idx.methodNames(name)...)
	}
	return out
}

// interpretedTypeName returns the name of the cell-declared type whose
// runtime type is t, "" when none is.
func (in *Interpreter) interpretedTypeName(t reflect.Type) string {
	decls, _ := in.idx.snapshot()
	if !in.mu.TryLock() {
		return ""
	}
	defer in.mu.Unlock()
	for name, d := range decls {
		if d.kind != "type" {
			continue
		}
		v, err := in.evalQuiet("*new(" + name + ")")
		if err == nil && v.IsValid() && v.Type() == t {
			return name
		}
	}
	return ""
}

package interp

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"sync"
)

// index records what cells declared, for completion and inspection: yaegi
// exposes only variables and constants (Globals), not functions, types or
// import names.
type index struct {
	mu      sync.RWMutex
	decls   map[string]declInfo            // top-level name → declaration
	methods map[string]map[string]declInfo // receiver type name → method → declaration
	imports map[string]string              // local package name → import path
}

type declInfo struct {
	kind string // "func", "type", "var", "const", "package"
	decl string // the declaration's source, without function body
	doc  string // its doc comment
	src  string // the whole declaration (types and methods), to spot changes
}

func newIndex() *index {
	return &index{decls: map[string]declInfo{}, methods: map[string]map[string]declInfo{}, imports: map[string]string{}}
}

// withComments returns c with the comment lines just above it in code
// included, so that a declaration's doc comment is recorded.
func withComments(c chunk, code string) chunk {
	start := c.off
	for start > 0 {
		prevEnd := start - 1 // the newline before the current line
		for prevEnd >= 0 && code[prevEnd] != '\n' {
			prevEnd--
		}
		if prevEnd < 0 {
			break
		}
		lineStart := strings.LastIndexByte(code[:prevEnd], '\n') + 1
		if !strings.HasPrefix(strings.TrimSpace(code[lineStart:prevEnd]), "//") {
			break
		}
		start = lineStart
	}
	if start == c.off {
		return c
	}
	c.src = code[start:c.off] + c.src
	c.off = start
	return c
}

// declared reports whether a cell declared a top-level function name.
func (x *index) declared(name string) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	d, ok := x.decls[name]
	return ok && d.kind == "func"
}

// addImport records that path is imported as name.
func (x *index) addImport(name, path string) {
	if name == "_" || name == "." {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.imports[name] = path
}

// imported reports whether path is already imported as name.
func (x *index) imported(name, path string) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	p, ok := x.imports[name]
	return ok && p == path
}

// record notes the names a successfully evaluated chunk declared.
func (x *index) record(c chunk) {
	x.mu.Lock()
	defer x.mu.Unlock()
	switch c.kind {
	case chunkImport, chunkDecl:
		f, err := parser.ParseFile(token.NewFileSet(), "", "package main\n"+c.src, parser.ParseComments)
		if err != nil {
			return
		}
		src := "package main\n" + c.src
		text := func(n ast.Node) string {
			return src[n.Pos()-1 : n.End()-1]
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				end := d.Type.End()
				info := declInfo{kind: "func", decl: src[d.Pos()-1 : end-1], doc: d.Doc.Text(), src: src[d.Type.Pos()-1 : d.End()-1]}
				if d.Recv != nil && len(d.Recv.List) > 0 {
					rt := recvName(d.Recv.List[0].Type)
					if x.methods[rt] == nil {
						x.methods[rt] = map[string]declInfo{}
					}
					info.kind = "method"
					x.methods[rt][d.Name.Name] = info
					continue
				}
				x.decls[d.Name.Name] = info
			case *ast.GenDecl:
				for _, sp := range d.Specs {
					switch sp := sp.(type) {
					case *ast.ImportSpec:
						p, _ := strconv.Unquote(sp.Path.Value)
						name := p[strings.LastIndex(p, "/")+1:]
						if sp.Name != nil {
							name = sp.Name.Name
						} else if pn := pkgNameOf(p); pn != "" {
							name = pn
						}
						if name == "_" || name == "." {
							continue
						}
						x.imports[name] = p
					case *ast.TypeSpec:
						x.decls[sp.Name.Name] = declInfo{kind: "type", decl: "type " + text(sp), doc: firstDoc(sp.Doc, d.Doc), src: text(sp)}
					case *ast.ValueSpec:
						kind := d.Tok.String()
						for _, n := range sp.Names {
							x.decls[n.Name] = declInfo{kind: kind, decl: kind + " " + text(sp), doc: firstDoc(sp.Doc, d.Doc)}
						}
					}
				}
			}
		}
	case chunkStmt:
		// Variables defined with := at the cell's top level.
		f, err := parser.ParseFile(token.NewFileSet(), "", "package main\nfunc _() {\n"+c.src+"\n}", 0)
		if err != nil {
			return
		}
		body := f.Decls[0].(*ast.FuncDecl).Body
		src := "package main\nfunc _() {\n" + c.src + "\n}"
		for _, st := range body.List {
			as, ok := st.(*ast.AssignStmt)
			if !ok || as.Tok != token.DEFINE {
				continue
			}
			for _, l := range as.Lhs {
				if id, ok := l.(*ast.Ident); ok && id.Name != "_" {
					x.decls[id.Name] = declInfo{kind: "var", decl: src[as.Pos()-1 : as.End()-1]}
				}
			}
		}
	}
}

func firstDoc(gs ...*ast.CommentGroup) string {
	for _, g := range gs {
		if t := g.Text(); t != "" {
			return t
		}
	}
	return ""
}

func recvName(e ast.Expr) string {
	if id := recvIdent(e); id != nil {
		return id.Name
	}
	return ""
}

// snapshot returns copies of the recorded names.
func (x *index) snapshot() (decls map[string]declInfo, imports map[string]string) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	decls = make(map[string]declInfo, len(x.decls))
	for k, v := range x.decls {
		decls[k] = v
	}
	imports = make(map[string]string, len(x.imports))
	for k, v := range x.imports {
		imports[k] = v
	}
	return decls, imports
}

func (x *index) method(typ, name string) (declInfo, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	d, ok := x.methods[typ][name]
	return d, ok
}

func (x *index) methodNames(typ string) []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []string
	for n := range x.methods[typ] {
		out = append(out, n)
	}
	return out
}

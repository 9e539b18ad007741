package interp

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"reflect"
	"strings"
	"sync"
)

// reflectImporter is a go/types importer of the packages a cell can import,
// built from the same yaegi symbol tables the interpreter uses: no Go
// toolchain, export data or sources are needed at run time, and a package
// costs one pass over its table. Generic functions and types, which the
// tables lack, come from Go sources type-checked on top (sourcePkgs: iter,
// and the generic parts of slices, maps and cmp that cells can call).
type reflectImporter struct {
	mu     sync.Mutex
	fset   *token.FileSet
	pkgs   map[string]*types.Package // by import path
	filled map[string]bool
	named  map[reflect.Type]*types.Named
}

func newReflectImporter(fset *token.FileSet) *reflectImporter {
	return &reflectImporter{fset: fset, pkgs: map[string]*types.Package{}, filled: map[string]bool{}, named: map[reflect.Type]*types.Named{}}
}

// Import implements types.Importer.
func (im *reflectImporter) Import(path string) (*types.Package, error) {
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.load(path)
}

func (im *reflectImporter) load(path string) (*types.Package, error) {
	if path == "unsafe" {
		return types.Unsafe, nil
	}
	if strings.HasPrefix(path, "qlab/") {
		path = "github.com/qlab-dev/qlab/" + path
	}
	t := allTables()[path]
	src, hasSrc := sourcePkgs[path]
	if t == nil && !hasSrc {
		return nil, fmt.Errorf("package %q is not importable", path)
	}
	p := im.pkg(path)
	if im.filled[path] {
		return p, nil
	}
	im.filled[path] = true
	if t != nil {
		for name, v := range t.syms {
			if !token.IsExported(name) {
				continue
			}
			if obj := im.object(p, name, v); obj != nil {
				p.Scope().Insert(obj)
			}
		}
	}
	if hasSrc {
		var files []*ast.File
		for i, text := range src {
			f, err := parser.ParseFile(im.fset, fmt.Sprintf("%s_%d.go", path, i), text, 0)
			if err != nil {
				return nil, err
			}
			files = append(files, f)
		}
		conf := types.Config{Importer: importerFunc(im.load), Error: func(error) {}}
		sp := types.NewPackage(path, p.Name())
		chk := types.NewChecker(&conf, im.fset, sp, nil)
		chk.Files(files)
		for _, name := range sp.Scope().Names() {
			if token.IsExported(name) && p.Scope().Lookup(name) == nil {
				p.Scope().Insert(sp.Scope().Lookup(name))
			}
		}
	}
	p.MarkComplete()
	return p, nil
}

type importerFunc func(string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }

// pkg returns the package object of path, empty until loaded.
func (im *reflectImporter) pkg(path string) *types.Package {
	if p := im.pkgs[path]; p != nil {
		return p
	}
	name := path[strings.LastIndex(path, "/")+1:]
	if t := allTables()[path]; t != nil {
		name = t.name
	}
	p := types.NewPackage(path, name)
	im.pkgs[path] = p
	return p
}

// object converts one table entry: a type is a nil pointer to it, a
// variable is addressable, a function is a func value, an untyped constant
// is a constant.Value and a typed one a plain value.
func (im *reflectImporter) object(p *types.Package, name string, v reflect.Value) types.Object {
	if !v.IsValid() {
		return nil
	}
	if cv, ok := v.Interface().(constant.Value); ok && !v.CanAddr() {
		var k types.BasicKind
		switch cv.Kind() {
		case constant.Bool:
			k = types.UntypedBool
		case constant.String:
			k = types.UntypedString
		case constant.Int:
			k = types.UntypedInt
		case constant.Float:
			k = types.UntypedFloat
		case constant.Complex:
			k = types.UntypedComplex
		default:
			return nil
		}
		return types.NewConst(token.NoPos, p, name, types.Typ[k], cv)
	}
	switch {
	case v.CanAddr():
		return types.NewVar(token.NoPos, p, name, im.typeOf(v.Type()))
	case v.Kind() == reflect.Pointer && v.IsNil():
		t := im.typeOf(v.Type().Elem())
		if n, ok := t.(*types.Named); ok && n.Obj().Pkg() == p && n.Obj().Name() == name {
			return n.Obj()
		}
		// An alias (type A = B): a type name for another type.
		return types.NewTypeName(token.NoPos, p, name, t)
	case v.Kind() == reflect.Func:
		return types.NewFunc(token.NoPos, p, name, im.signature(v.Type(), nil))
	}
	// A typed constant.
	t := im.typeOf(v.Type())
	var cv constant.Value
	switch v.Kind() {
	case reflect.Bool:
		cv = constant.MakeBool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		cv = constant.MakeInt64(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		cv = constant.MakeUint64(v.Uint())
	case reflect.Float32, reflect.Float64:
		cv = constant.MakeFloat64(v.Float())
	case reflect.String:
		cv = constant.MakeString(v.String())
	default:
		return types.NewVar(token.NoPos, p, name, t)
	}
	return types.NewConst(token.NoPos, p, name, t, cv)
}

var basicKinds = map[reflect.Kind]types.BasicKind{
	reflect.Bool: types.Bool, reflect.Int: types.Int, reflect.Int8: types.Int8, reflect.Int16: types.Int16,
	reflect.Int32: types.Int32, reflect.Int64: types.Int64, reflect.Uint: types.Uint, reflect.Uint8: types.Uint8,
	reflect.Uint16: types.Uint16, reflect.Uint32: types.Uint32, reflect.Uint64: types.Uint64,
	reflect.Uintptr: types.Uintptr, reflect.Float32: types.Float32, reflect.Float64: types.Float64,
	reflect.Complex64: types.Complex64, reflect.Complex128: types.Complex128, reflect.String: types.String,
	reflect.UnsafePointer: types.UnsafePointer,
}

var errorType = reflect.TypeOf((*error)(nil)).Elem()

// typeOf converts a reflect type.
func (im *reflectImporter) typeOf(rt reflect.Type) types.Type {
	if rt == errorType {
		return types.Universe.Lookup("error").Type()
	}
	if rt.Name() != "" && rt.PkgPath() == "" {
		if k, ok := basicKinds[rt.Kind()]; ok {
			if rt.Kind() == reflect.Uint8 && rt.Name() == "uint8" {
				return types.Typ[types.Uint8]
			}
			return types.Typ[k]
		}
	}
	if rt.Name() != "" && rt.PkgPath() != "" {
		if n := im.named[rt]; n != nil {
			return n
		}
		p := im.pkg(rt.PkgPath())
		name := rt.Name()
		if obj, ok := p.Scope().Lookup(name).(*types.TypeName); ok {
			if n, ok := obj.Type().(*types.Named); ok {
				im.named[rt] = n
				return n
			}
		}
		tn := types.NewTypeName(token.NoPos, p, name, nil)
		n := types.NewNamed(tn, nil, nil)
		im.named[rt] = n
		if !strings.Contains(name, "[") {
			p.Scope().Insert(tn)
		}
		n.SetUnderlying(im.underlying(rt))
		if rt.Kind() != reflect.Interface {
			im.methods(n, rt)
		}
		return n
	}
	return im.underlying(rt)
}

// methods adds rt's exported methods to n: those of rt with a value
// receiver, those only *rt has with a pointer receiver.
func (im *reflectImporter) methods(n *types.Named, rt reflect.Type) {
	seen := map[string]bool{}
	add := func(t reflect.Type, ptr bool) {
		for i := 0; i < t.NumMethod(); i++ {
			m := t.Method(i)
			if seen[m.Name] || !m.IsExported() {
				continue
			}
			seen[m.Name] = true
			var recvT types.Type = n
			if ptr {
				recvT = types.NewPointer(n)
			}
			recv := types.NewVar(token.NoPos, n.Obj().Pkg(), "", recvT)
			n.AddMethod(types.NewFunc(token.NoPos, n.Obj().Pkg(), m.Name, im.signature(m.Type, recv)))
		}
	}
	add(rt, false)
	add(reflect.PointerTo(rt), true)
}

// signature converts a func type; with recv set, the first parameter is
// the receiver and is dropped.
func (im *reflectImporter) signature(ft reflect.Type, recv *types.Var) *types.Signature {
	var params, results []*types.Var
	start := 0
	if recv != nil {
		start = 1
	}
	for i := start; i < ft.NumIn(); i++ {
		params = append(params, types.NewParam(token.NoPos, nil, "", im.typeOf(ft.In(i))))
	}
	for i := 0; i < ft.NumOut(); i++ {
		results = append(results, types.NewParam(token.NoPos, nil, "", im.typeOf(ft.Out(i))))
	}
	return types.NewSignatureType(recv, nil, nil, types.NewTuple(params...), types.NewTuple(results...), ft.IsVariadic())
}

// underlying converts the structure of rt, ignoring its name.
func (im *reflectImporter) underlying(rt reflect.Type) types.Type {
	if k, ok := basicKinds[rt.Kind()]; ok {
		return types.Typ[k]
	}
	switch rt.Kind() {
	case reflect.Pointer:
		return types.NewPointer(im.typeOf(rt.Elem()))
	case reflect.Slice:
		return types.NewSlice(im.typeOf(rt.Elem()))
	case reflect.Array:
		return types.NewArray(im.typeOf(rt.Elem()), int64(rt.Len()))
	case reflect.Map:
		return types.NewMap(im.typeOf(rt.Key()), im.typeOf(rt.Elem()))
	case reflect.Chan:
		dir := types.SendRecv
		switch rt.ChanDir() {
		case reflect.SendDir:
			dir = types.SendOnly
		case reflect.RecvDir:
			dir = types.RecvOnly
		}
		return types.NewChan(dir, im.typeOf(rt.Elem()))
	case reflect.Func:
		return im.signature(rt, nil)
	case reflect.Struct:
		var fields []*types.Var
		var tags []string
		for i := 0; i < rt.NumField(); i++ {
			f := rt.Field(i)
			var fp *types.Package
			if f.PkgPath != "" {
				fp = im.pkg(f.PkgPath)
			} else if rt.PkgPath() != "" {
				fp = im.pkg(rt.PkgPath())
			}
			fields = append(fields, types.NewField(token.NoPos, fp, f.Name, im.typeOf(f.Type), f.Anonymous))
			tags = append(tags, string(f.Tag))
		}
		return types.NewStruct(fields, tags)
	case reflect.Interface:
		var ms []*types.Func
		for i := 0; i < rt.NumMethod(); i++ {
			m := rt.Method(i)
			var mp *types.Package
			if m.PkgPath != "" {
				mp = im.pkg(m.PkgPath)
			} else if rt.PkgPath() != "" {
				mp = im.pkg(rt.PkgPath())
			}
			ms = append(ms, types.NewFunc(token.NoPos, mp, m.Name, im.signature(m.Type, nil)))
		}
		return types.NewInterfaceType(ms, nil).Complete()
	}
	return types.Typ[types.Invalid]
}

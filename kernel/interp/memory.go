package interp

import (
	"reflect"
	"strings"
	"unsafe"
)

// Memory: yaegi v0.16.1 evaluates the top level of every cell in one global
// frame that only grows. Each expression node of a cell's top level gets a
// slot there (the 10 MB result of bytes.Repeat in len(bytes.Repeat(...))
// included), and a global defined again with := gets a new slot while the
// old one keeps its value. Nothing ever reads those slots after the cell has
// run: a cell's top-level code runs once, and functions have frames of their
// own. So after each cell, every slot of the global frame that no symbol
// names is reset to a zero value, making what a cell no longer names
// collectable (see (*Interpreter).releaseUnnamed).
//
// yaegi exposes neither its frame nor its scopes; they are reached through
// reflect and unsafe, by field name, and the code does nothing if the
// layout is not the expected one (a yaegi other than v0.16.1).

// yaegiVarSym is the value of yaegi v0.16.1's varSym (scope.go): the kind of
// symbol that has a frame slot.
const yaegiVarSym = 9

// frameAccess is the global frame and the symbol tables of a yaegi
// interpreter, reached through its unexported fields.
type frameAccess struct {
	data   *[]reflect.Value // Interpreter.frame.data
	types  *[]reflect.Type  // Interpreter.universe.types: the frame layout
	srcPkg reflect.Value    // Interpreter.srcPkg: map[string]map[string]*symbol
	scopes reflect.Value    // Interpreter.scopes: map[string]*scope
}

// newFrameAccess returns the frame of yi (a *yaegi.Interpreter), or nil when
// its fields are not laid out as in yaegi v0.16.1.
func newFrameAccess(yi any) *frameAccess {
	v := reflect.ValueOf(yi)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	s := v.Elem()
	frame := s.FieldByName("frame")
	universe := s.FieldByName("universe")
	srcPkg := s.FieldByName("srcPkg")
	scopes := s.FieldByName("scopes")
	if frame.Kind() != reflect.Pointer || universe.Kind() != reflect.Pointer || srcPkg.Kind() != reflect.Map || scopes.Kind() != reflect.Map {
		return nil
	}
	if frame.IsNil() || universe.IsNil() {
		return nil
	}
	data := frame.Elem().FieldByName("data")
	types := universe.Elem().FieldByName("types")
	if data.Type() != reflect.TypeOf([]reflect.Value(nil)) || types.Type() != reflect.TypeOf([]reflect.Type(nil)) {
		return nil
	}
	return &frameAccess{
		data:   (*[]reflect.Value)(unsafe.Pointer(data.UnsafeAddr())),
		types:  (*[]reflect.Type)(unsafe.Pointer(types.UnsafeAddr())),
		srcPkg: srcPkg,
		scopes: scopes,
	}
}

// named returns the frame slots that a symbol of any package or scope
// still names, leaving out the kernel's own temporaries (names starting
// with _qlab), which are dead once their cell has run.
func (fa *frameAccess) named() map[int]bool {
	out := map[int]bool{}
	addSyms := func(pkg string, syms reflect.Value) {
		if syms.Kind() != reflect.Map {
			return
		}
		it := syms.MapRange()
		for it.Next() {
			if pkg == "main" && strings.HasPrefix(it.Key().String(), "_qlab") {
				continue
			}
			sym := it.Value()
			if sym.Kind() != reflect.Pointer || sym.IsNil() {
				continue
			}
			idx, kind := sym.Elem().FieldByName("index"), sym.Elem().FieldByName("kind")
			if idx.Kind() != reflect.Int || kind.Kind() != reflect.Uint || kind.Uint() != yaegiVarSym {
				continue // packages and types have index 0 but no slot
			}
			if i := int(idx.Int()); i >= 0 {
				out[i] = true
			}
		}
	}
	it := fa.srcPkg.MapRange()
	for it.Next() {
		addSyms(it.Key().String(), it.Value())
	}
	it = fa.scopes.MapRange()
	for it.Next() {
		sc := it.Value()
		if sc.Kind() != reflect.Pointer || sc.IsNil() {
			continue
		}
		addSyms(it.Key().String(), sc.Elem().FieldByName("sym"))
	}
	return out
}

// releaseUnnamed resets to zero the global frame slots that no symbol names
// and that are not zero already. from is the frame length before the cell:
// slots below it that were unnamed then were reset then; prevNamed is what
// was named then, so that slots named before and no longer (a variable
// defined again) are reset too. It returns the frame length and the slots
// named now.
func (fa *frameAccess) releaseUnnamed(from int, prevNamed map[int]bool) (int, map[int]bool) {
	data := *fa.data
	types := *fa.types
	named := fa.named()
	reset := func(i int) {
		if i >= len(data) || i >= len(types) || named[i] || types[i] == nil {
			return
		}
		if d := data[i]; d.IsValid() && d.IsZero() {
			return
		}
		data[i] = reflect.New(types[i]).Elem()
	}
	for i := range prevNamed {
		reset(i)
	}
	for i := from; i < len(data); i++ {
		reset(i)
	}
	return len(data), named
}

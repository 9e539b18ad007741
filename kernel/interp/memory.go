package interp

import (
	"reflect"
	"strings"
	"sync"
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

// symFields returns the index and kind fields of a yaegi symbol (a struct
// value), looked up by name once per symbol type: FieldByName on every
// symbol of every cell costs as much as a trivial cell.
func symFields(sym reflect.Value) (index, kind reflect.Value) {
	t := sym.Type()
	f, ok := symFieldCache.Load(t)
	if !ok {
		fi, _ := t.FieldByName("index")
		fk, _ := t.FieldByName("kind")
		if len(fi.Index) != 1 || len(fk.Index) != 1 {
			return reflect.Value{}, reflect.Value{}
		}
		f = [2]int{fi.Index[0], fk.Index[0]}
		symFieldCache.Store(t, f)
	}
	ix := f.([2]int)
	return sym.Field(ix[0]), sym.Field(ix[1])
}

var symFieldCache sync.Map // reflect.Type → [2]int

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
			idx, kind := symFields(sym.Elem())
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

// truncate drops the global frame slots above the last named one (and
// above floor, the frame of a fresh interpreter), and the kernel's own
// temporaries of package main that name them (_qlabV, ...), so that yaegi
// reuses those slots for the next cell. Without it the frame only grows,
// and since yaegi copies the whole frame whenever a compilation adds a
// slot, every cell would cost time in proportion to how many cells ran
// before it (a trivial cell took 6 ms after 4,000 cells). The dropped slots
// are dead for the same reason releaseUnnamed may reset them. It returns
// the new frame length.
func (fa *frameAccess) truncate(floor int) int {
	// k: above every slot that a symbol other than a kernel temporary of
	// main has (constants and functions included, whatever their use of
	// the index).
	k := floor
	var main reflect.Value // main's symbol map, settable
	it := fa.scopes.MapRange()
	for it.Next() {
		sc := it.Value()
		if sc.Kind() != reflect.Pointer || sc.IsNil() {
			continue
		}
		syms := sc.Elem().FieldByName("sym")
		if syms.Kind() != reflect.Map || !syms.CanAddr() {
			return len(*fa.data)
		}
		isMain := it.Key().String() == "main"
		if isMain {
			main = reflect.NewAt(syms.Type(), unsafe.Pointer(syms.UnsafeAddr())).Elem()
		}
		for st := syms.MapRange(); st.Next(); {
			sym := st.Value()
			if sym.Kind() != reflect.Pointer || sym.IsNil() {
				continue
			}
			idx, kind := symFields(sym.Elem())
			if idx.Kind() != reflect.Int || kind.Kind() != reflect.Uint {
				return len(*fa.data)
			}
			if isMain && kind.Uint() == yaegiVarSym && strings.HasPrefix(st.Key().String(), "_qlab") {
				continue
			}
			k = max(k, int(idx.Int())+1)
		}
	}
	if k >= len(*fa.data) || k >= len(*fa.types) {
		return len(*fa.data)
	}
	// The kernel's temporaries whose slots go go with them.
	if main.IsValid() {
		var drop []reflect.Value
		for st := main.MapRange(); st.Next(); {
			sym := st.Value()
			if sym.Kind() != reflect.Pointer || sym.IsNil() {
				continue
			}
			idx, kind := symFields(sym.Elem())
			if kind.Uint() == yaegiVarSym && strings.HasPrefix(st.Key().String(), "_qlab") && int(idx.Int()) >= k {
				drop = append(drop, st.Key())
			}
		}
		for _, key := range drop {
			main.SetMapIndex(key, reflect.Value{})
		}
	}
	// Every scope of the global level shares the universe's slot
	// numbering through its own copy of the types slice (yaegi's
	// scope.push and pop): cut them all.
	for it := fa.scopes.MapRange(); it.Next(); {
		sc := it.Value()
		if sc.Kind() != reflect.Pointer || sc.IsNil() {
			continue
		}
		t := sc.Elem().FieldByName("types")
		if t.Type() != reflect.TypeOf([]reflect.Type(nil)) || t.Len() <= k {
			continue
		}
		if lv := sc.Elem().FieldByName("level"); lv.Kind() != reflect.Int || lv.Int() != 0 {
			continue
		}
		p := (*[]reflect.Type)(unsafe.Pointer(t.UnsafeAddr()))
		*p = (*p)[:k]
	}
	*fa.types = (*fa.types)[:k]
	data := *fa.data
	for i := k; i < len(data); i++ {
		data[i] = reflect.Value{}
	}
	*fa.data = data[:k]
	return k
}

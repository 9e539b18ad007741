package interp

import (
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
)

// What fmt cannot know of a cell's types, and how printing gets it back.
//
// yaegi v0.16.1 gives a cell's types to compiled code as reflect types
// without names or methods (reflect.StructOf, or the underlying basic type:
// type Color int is int). Compiled fmt therefore prints %T and %#v of a
// point as struct { X int; Y int }, and a Color inside a []Color, a struct
// or a map with %v as a number, not with its String method. yaegi wraps a
// value passed directly to fmt in a struct implementing fmt.Stringer,
// error or fmt.Formatter (maptypes.go), which covers the String and Error
// of a direct argument, but %d of such a value prints the wrapper.
//
// The rewriting pass (fmtrewrite.go) passes each argument of a fmt print
// function whose type involves a cell type through qlabrt.Fmt with a
// FmtType describing that type from go/types: names as %T prints them, the
// field names, and the cell's String, Error, GoString and Format methods as
// interpreted closures. Fmt returns a fmt.Formatter that prints the value
// the way fmt does (printArg and printValue of fmt/print.go), asking the
// FmtType where reflect has nothing to say. An operand of interface type
// goes through qlabrt.FmtAny with the FmtTypes of the session's cell types
// that implement the interface. Interface values nested in other values
// (a []Shape) print as compiled fmt prints their dynamic values.

// FmtType describes a type for printing. A nil *FmtType means "as reflect
// sees it": compiled fmt prints such values right.
type FmtType struct {
	Name   string     // as %T prints it ("main.point", "[]main.Color")
	Elem   *FmtType   // element of a slice, array, pointer, map or channel
	Key    *FmtType   // key of a map
	Fields []FmtField // fields of a struct, in order

	// Methods of the type's method set (nil when absent), called with the
	// value as compiled code holds it: the adapters the rewrite declares
	// with each method (fmtAdapters).
	String   func(v any) string
	Error    func(v any) string
	GoString func(v any) string
	Format   func(v any, s fmt.State, verb rune)

	// Zero is a zero value of the type, for FmtAny to recognize values of
	// it by their reflect type.
	Zero any
}

// FmtField is a struct field for printing.
type FmtField struct {
	Name string
	Type *FmtType
}

// fmtArg is a value with its FmtType, as qlabrt.Fmt returns it.
type fmtArg struct {
	v reflect.Value
	t *FmtType
}

// fmtOf is qlabrt.Fmt: v printed as a value of type t.
func fmtOf(v any, t *FmtType) any {
	if t == nil {
		return v
	}
	v = unwrapYaegi(v)
	return fmtArg{reflect.ValueOf(v), t}
}

// fmtAny is qlabrt.FmtAny: v, an operand of interface type, printed as a
// value of the first of ts whose reflect type is v's, or as it is. (yaegi
// answers a type assertion to a cell type by the reflect type as well, so
// interpreted code could not tell more: a Celsius and a float64 look the
// same, which is why the rewrite passes no named basic types here.)
func fmtAny(v any, ts ...*FmtType) any {
	u := unwrapYaegi(v)
	rt := reflect.TypeOf(u)
	if rt == nil {
		return v
	}
	for _, t := range ts {
		if reflect.TypeOf(t.Zero) == rt {
			return fmtArg{reflect.ValueOf(u), t}
		}
	}
	return v
}

// typeNameOf is qlabrt.TypeName: what %T prints for v (a value qlabrt.Fmt
// returned, or any other).
func typeNameOf(v any) string {
	if a, ok := v.(fmtArg); ok && a.t.Name != "" {
		return a.t.Name
	}
	if v == nil {
		return "<nil>"
	}
	return reflect.TypeOf(v).String()
}

// Format implements fmt.Formatter.
func (a fmtArg) Format(s fmt.State, verb rune) {
	p := &fmtPrinter{s: s}
	p.printValue(a.v, a.t, verb, 0)
}

// fmtPrinter prints one argument.
type fmtPrinter struct {
	s fmt.State
}

func (p *fmtPrinter) write(str string) { io.WriteString(p.s, str) }

// plain prints v with verb through compiled fmt, with the operand's flags,
// width and precision.
func (p *fmtPrinter) plain(v any, verb rune) {
	fmt.Fprintf(p.s, fmt.FormatString(p.s, verb), v)
}

// nameOf is the name %#v and %T use for a value of type t held in v.
func nameOf(v reflect.Value, t *FmtType) string {
	if t != nil && t.Name != "" {
		return t.Name
	}
	if !v.IsValid() {
		return "<nil>"
	}
	return v.Type().String()
}

// handleMethods is fmt's: Format, then GoString for %#v, then Error and
// String for the verbs that print strings. It reports whether a method
// printed v.
func (p *fmtPrinter) handleMethods(v reflect.Value, t *FmtType, verb rune) (handled bool) {
	if t == nil || !v.IsValid() || !v.CanInterface() {
		return false
	}
	if t.Format == nil && t.GoString == nil && t.Error == nil && t.String == nil {
		return false
	}
	x := v.Interface()
	defer func() {
		if r := recover(); r != nil {
			handled = true
			if v.Kind() == reflect.Pointer && v.IsNil() {
				p.write("<nil>")
				return
			}
			fmt.Fprintf(p.s, "%%!%c(PANIC=%s method: %v)", verb, methodName(t, verb), r)
		}
	}()
	if t.Format != nil {
		t.Format(x, p.s, verb)
		return true
	}
	if p.s.Flag('#') && verb == 'v' {
		if t.GoString != nil {
			p.write(t.GoString(x))
			return true
		}
		return false
	}
	switch verb {
	case 'v', 's', 'x', 'X', 'q':
		switch {
		case t.Error != nil:
			p.plain(t.Error(x), verb)
			return true
		case t.String != nil:
			p.plain(t.String(x), verb)
			return true
		}
	}
	return false
}

func methodName(t *FmtType, verb rune) string {
	switch {
	case t.Format != nil:
		return "Format"
	case verb == 'v' && t.GoString != nil:
		return "GoString"
	case t.Error != nil:
		return "Error"
	}
	return "String"
}

// printValue is fmt's printValue with names and methods from t.
func (p *fmtPrinter) printValue(v reflect.Value, t *FmtType, verb rune, depth int) {
	if v.IsValid() && v.Kind() == reflect.Interface {
		if v.IsNil() {
			p.nilValue(v, t, verb)
			return
		}
		v = v.Elem()
	}
	if v.IsValid() && v.CanInterface() && v.Kind() == reflect.Struct && v.Type().Name() == "valueInterface" {
		// An interface value inside another value: its dynamic type is
		// not known here (reflect gives it without a name), printed as
		// compiled fmt would.
		v, t = reflect.ValueOf(unwrapYaegi(v.Interface())), nil
	}
	if !v.IsValid() {
		p.nilValue(v, t, verb)
		return
	}
	if p.handleMethods(v, t, verb) {
		return
	}
	sharpV := p.s.Flag('#') && verb == 'v'
	plusV := p.s.Flag('+') && verb == 'v'
	if t == nil && v.CanInterface() && !containsInterface(v.Type()) {
		// Nothing of a cell type inside: compiled fmt prints it right.
		p.plain(v.Interface(), verb)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		if sharpV {
			p.write(nameOf(v, t))
		}
		p.write("{")
		for i := 0; i < v.NumField(); i++ {
			if i > 0 {
				if sharpV {
					p.write(", ")
				} else {
					p.write(" ")
				}
			}
			var ft *FmtType
			name := v.Type().Field(i).Name
			if t != nil && i < len(t.Fields) {
				ft, name = t.Fields[i].Type, t.Fields[i].Name
			}
			if plusV || sharpV {
				p.write(name)
				p.write(":")
			}
			p.printValue(v.Field(i), ft, verb, depth+1)
		}
		p.write("}")
	case reflect.Map:
		if sharpV {
			p.write(nameOf(v, t))
			if v.IsNil() {
				p.write("(nil)")
				return
			}
			p.write("{")
		} else {
			p.write("map[")
		}
		var kt, et *FmtType
		if t != nil {
			kt, et = t.Key, t.Elem
		}
		keys := v.MapKeys()
		sortKeys(keys)
		for i, k := range keys {
			if i > 0 {
				if sharpV {
					p.write(", ")
				} else {
					p.write(" ")
				}
			}
			p.printValue(k, kt, verb, depth+1)
			p.write(":")
			p.printValue(v.MapIndex(k), et, verb, depth+1)
		}
		if sharpV {
			p.write("}")
		} else {
			p.write("]")
		}
	case reflect.Array, reflect.Slice:
		var et *FmtType
		if t != nil {
			et = t.Elem
		}
		open, sep, end := "[", " ", "]"
		if sharpV {
			p.write(nameOf(v, t))
			if v.Kind() == reflect.Slice && v.IsNil() {
				p.write("(nil)")
				return
			}
			open, sep, end = "{", ", ", "}"
		}
		p.write(open)
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				p.write(sep)
			}
			p.printValue(v.Index(i), et, verb, depth+1)
		}
		p.write(end)
	case reflect.Pointer:
		var et *FmtType
		if t != nil {
			et = t.Elem
		}
		// fmt prints &{...} for a pointer to a struct, slice, array or map
		// at the top level only.
		if depth == 0 && !v.IsNil() {
			switch v.Elem().Kind() {
			case reflect.Array, reflect.Slice, reflect.Struct, reflect.Map:
				p.write("&")
				p.printValue(v.Elem(), et, verb, depth+1)
				return
			}
		}
		if depth > 0 && verb == 'v' && !sharpV {
			if v.IsNil() {
				p.write("<nil>")
			} else {
				p.write("0x" + strconv.FormatUint(uint64(v.Pointer()), 16))
			}
			return
		}
		if sharpV {
			p.write("(" + nameOf(v, t) + ")(")
			if v.IsNil() {
				p.write("nil")
			} else {
				p.write("0x" + strconv.FormatUint(uint64(v.Pointer()), 16))
			}
			p.write(")")
			return
		}
		p.plain(v.Interface(), verb)
	default:
		if v.CanInterface() {
			p.plain(v.Interface(), verb)
			return
		}
		p.write("?")
	}
}

// nilValue prints a nil interface or an invalid value as fmt does.
func (p *fmtPrinter) nilValue(v reflect.Value, t *FmtType, verb rune) {
	if p.s.Flag('#') && verb == 'v' {
		if v.IsValid() {
			p.write(nameOf(v, t) + "(nil)")
			return
		}
		p.write("<nil>")
		return
	}
	switch verb {
	case 'v':
		p.write("<nil>")
	default:
		p.plain(nil, verb)
	}
}

// containsInterface reports whether values of t can hold interfaces (whose
// dynamic values reflect may not describe: yaegi's valueInterface).
func containsInterface(t reflect.Type) bool {
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type) bool
	walk = func(t reflect.Type) bool {
		if seen[t] {
			return false
		}
		seen[t] = true
		switch t.Kind() {
		case reflect.Interface:
			return true
		case reflect.Struct:
			for i := 0; i < t.NumField(); i++ {
				if walk(t.Field(i).Type) {
					return true
				}
			}
		case reflect.Map:
			return walk(t.Key()) || walk(t.Elem())
		case reflect.Array, reflect.Slice, reflect.Pointer:
			return walk(t.Elem())
		}
		return false
	}
	return walk(t)
}

// sortKeys orders map keys as fmt does (internal/fmtsort) for the key
// kinds a map can have.
func sortKeys(keys []reflect.Value) {
	sort.SliceStable(keys, func(i, j int) bool { return compareKeys(keys[i], keys[j]) < 0 })
}

func compareKeys(a, b reflect.Value) int {
	if a.Kind() != b.Kind() {
		return -1
	}
	switch a.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return cmpOrdered(a.Int(), b.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return cmpOrdered(a.Uint(), b.Uint())
	case reflect.String:
		return cmpOrdered(a.String(), b.String())
	case reflect.Float32, reflect.Float64:
		return cmpFloat(a.Float(), b.Float())
	case reflect.Bool:
		switch {
		case a.Bool() == b.Bool():
			return 0
		case !a.Bool():
			return -1
		}
		return 1
	case reflect.Pointer, reflect.UnsafePointer, reflect.Chan:
		return cmpOrdered(a.Pointer(), b.Pointer())
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			if c := compareKeys(a.Field(i), b.Field(i)); c != 0 {
				return c
			}
		}
		return 0
	case reflect.Array:
		for i := 0; i < a.Len(); i++ {
			if c := compareKeys(a.Index(i), b.Index(i)); c != 0 {
				return c
			}
		}
		return 0
	case reflect.Interface:
		if a.IsNil() || b.IsNil() {
			switch {
			case a.IsNil() && b.IsNil():
				return 0
			case a.IsNil():
				return -1
			}
			return 1
		}
		if c := cmpOrdered(a.Elem().Type().String(), b.Elem().Type().String()); c != 0 {
			return c
		}
		return compareKeys(a.Elem(), b.Elem())
	}
	return 0
}

func cmpOrdered[T int64 | uint64 | string | uintptr](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	case a == b:
		return 0
	case a != a && b != b: // both NaN
		return 0
	case a != a:
		return -1
	}
	return 1
}

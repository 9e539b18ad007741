package interp

import (
	"reflect"
	"unsafe"
)

// unwrapYaegi returns the Go value inside the yaegi interpreter's
// valueInterface, the form an interpreted value stored in an interface
// takes when it reaches compiled code as any (display.Display(v) called
// from a cell with a value of a cell-declared type). Formatting the wrapper
// would print the interpreter's internals. The check is by type name and
// package path, so the check needs no access to yaegi's unexported types. Other values are
// returned as they are.
func unwrapYaegi(v any) any {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || rv.Kind() != reflect.Struct || rv.Type().Name() != "valueInterface" ||
		rv.Type().PkgPath() != "github.com/traefik/yaegi/interp" {
		return v
	}
	// Copy into addressable memory to read the unexported field.
	c := reflect.New(rv.Type()).Elem()
	c.Set(rv)
	f := c.FieldByName("value")
	if !f.IsValid() || f.Type() != reflect.TypeOf(reflect.Value{}) {
		return v
	}
	inner := *(*reflect.Value)(unsafe.Pointer(f.UnsafeAddr()))
	if !inner.IsValid() || !inner.CanInterface() {
		return v
	}
	return unwrapYaegi(inner.Interface())
}

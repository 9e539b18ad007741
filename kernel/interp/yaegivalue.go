package interp

import (
	"reflect"
	"unsafe"
)

// unwrapYaegi returns the Go value inside yaegi's interp.valueInterface,
// the representation yaegi v0.16.1 gives an interpreted value stored in an
// interface (it leaks out when such a value crosses into compiled code as
// any). Other values are returned as they are.
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
